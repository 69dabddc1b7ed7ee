// ReleaseIndex: a branch's latest-releases.yaml from a loopback master, kept for its TTL, renewed
// with a conditional GET, shared by concurrent callers, and kept in use while the master fails.

import t from 'tap'
import { ReleaseIndex } from '../../src/indexes/releases.js'
import { buildLatestReleases } from '../helpers/apkindex.js'
import { startFakeMirror } from '../helpers/fake-mirror.js'

const DIR = 'v3.22/releases/x86_64/'
const YAML = DIR + 'latest-releases.yaml'
const T0 = Date.UTC(2026, 5, 1)
const TTL = 60_000

t.test('fetched once, renewed conditionally after the TTL, replaced when it changes', async (t) => {
  const master = await startFakeMirror({ syncTime: T0, files: { [YAML]: buildLatestReleases([{ file: 'a.iso', size: 10, sha256: 'ab'.repeat(32) }]) } })
  t.teardown(() => master.close())
  let now = T0
  const index = new ReleaseIndex(master.base, { ttlMs: TTL, timeoutMs: 2000, now: () => now })
  const yamlRequests = (): string[] => master.requests.filter((r) => r.endsWith('latest-releases.yaml'))

  const [first, second] = await Promise.all([index.list(DIR), index.list(DIR)])
  t.same(first, second, 'two callers at once, one answer')
  t.equal(yamlRequests().length, 1, 'and one fetch')
  t.same(first.ok ? [...(first.files ?? new Map()).values()] : null, [{ name: 'a.iso', size: 10, sha256: 'ab'.repeat(32) }])

  now += TTL - 1
  await index.list(DIR)
  t.equal(yamlRequests().length, 1, 'within the TTL: not fetched')

  now += 1
  const renewed = await index.list(DIR)
  t.equal(yamlRequests().length, 2, 'expired: fetched again')
  t.same(renewed, first, 'a 304 (If-Modified-Since matched) keeps the listing')

  master.files.set(YAML, buildLatestReleases([{ file: 'b.iso', size: 20, sha256: 'cd'.repeat(32) }]))
  master.mtimes.set(YAML, T0 + 3_600_000)
  now += TTL
  const changed = await index.list(DIR)
  t.same(changed.ok ? [...(changed.files ?? new Map()).keys()] : null, ['b.iso'], 'a new version replaces it')
})

t.test('a folder the master lacks is null; a failing master keeps the last listing, and is left alone a while', async (t) => {
  const master = await startFakeMirror({ syncTime: T0, files: { [YAML]: buildLatestReleases([{ file: 'a.iso', size: 10, sha256: 'ab'.repeat(32) }]) } })
  t.teardown(() => master.close())
  let now = T0
  const index = new ReleaseIndex(master.base, { ttlMs: TTL, timeoutMs: 2000, now: () => now })
  t.same(await index.list('edge/releases/x86_64/'), { ok: true, files: null }, '404: no listing, known')

  const known = await index.list(DIR)
  master.mode = 'status-500'
  now += TTL
  const during = master.requests.length
  t.same(await index.list(DIR), known, 'the master fails: the last listing serves')
  t.equal(master.requests.length, during + 1, 'it was asked')
  t.same(await index.list(DIR), known)
  t.equal(master.requests.length, during + 1, 'and is not asked again at once')

  const failed = await index.list('v3.21/releases/x86_64/')
  t.same(failed, { ok: false, reason: 'HTTP 500' }, 'nothing known and the master fails: why')
  master.mode = 'ok'
  t.same(await index.list('v3.21/releases/x86_64/'), failed, 'still within the back-off')
  now += 5_000
  t.same(await index.list('v3.21/releases/x86_64/'), { ok: true, files: null }, 'after it, asked again')

  master.files.set(YAML, 'not: [valid')
  master.mtimes.set(YAML, T0 + 1)
  now += TTL
  t.same(await index.list(DIR), known, 'a listing that does not parse is a failure too: the last one serves')
})
