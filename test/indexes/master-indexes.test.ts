// src/indexes/master-indexes.ts against a fake master on loopback (test/helpers/fake-mirror.ts)
// holding real index files (test/helpers/apkindex.ts), seen through a recording proxy
// (test/helpers/recording-server.ts) so that methods, validators and statuses can be checked.
// The fleet is the real one: what the master fetcher learns is read back from its coverage.

import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { configFromDocument } from '../../src/config/schema.js'
import { tableFromDocument } from '../../src/config/table-file.js'
import { fileHash, findFile, identityKey, lists, type IndexHistory, type IndexVersion } from '../../src/core/file-set.js'
import { Fleet, type CoverageChange } from '../../src/live/fleet.js'
import { dirOf, listedFolders, MasterIndexes } from '../../src/indexes/master-indexes.js'
import { buildApkIndex, buildLatestReleases, packageFile, type PackageSpec, type ReleaseSpec } from '../helpers/apkindex.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { startRecordingProxy, type Recorded, type RecordingServer } from '../helpers/recording-server.js'

/** Whole seconds: Last-Modified carries no more. */
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0)
const MINUTE = 60_000
const ARCHES = ['x86_64', 'aarch64']
const REPOS: Record<string, string[]> = { 'v3.21': ['main', 'community'], edge: ['main', 'community', 'testing'] }
const COUNTS: Record<string, number> = { main: 3, community: 5, testing: 2 }

function packagesOf (branch: string, repo: string, arch: string, extra = 0): PackageSpec[] {
  return Array.from({ length: (COUNTS[repo] as number) + extra }, (_, i) => ({
    name: `${repo}-${arch}-p${i}`,
    version: `${branch === 'edge' ? '9' : '3.21'}.${i}-r0`,
    size: 1000 + i,
    arch
  }))
}

function releasesOf (branch: string, arch: string): ReleaseSpec[] {
  const version = branch === 'edge' ? '20260110' : '3.21.3'
  return [
    { file: `alpine-minirootfs-${version}-${arch}.tar.gz`, size: 3_000_000, sha256: 'ab'.repeat(32), arch, version: '3.21.3', branch },
    { file: `alpine-standard-${version}-${arch}.iso`, size: 250_000_000, sha256: 'cd'.repeat(32), arch, version: '3.21.3', branch }
  ]
}

interface MasterFile { readonly body: Buffer | string, readonly mtime: number, readonly names: string[] }

/** The master: every index of both branches, and what must not be taken for one. */
function masterFiles (): Map<string, MasterFile> {
  const files = new Map<string, MasterFile>()
  let k = 0
  for (const [branch, repos] of Object.entries(REPOS)) {
    for (const arch of ARCHES) {
      for (const repo of repos) {
        const ps = packagesOf(branch, repo, arch)
        files.set(`${branch}/${repo}/${arch}/APKINDEX.tar.gz`, { body: buildApkIndex(ps), mtime: T0 - (++k) * MINUTE, names: ps.map(packageFile) })
      }
      const rs = releasesOf(branch, arch)
      files.set(`${branch}/releases/${arch}/latest-releases.yaml`, { body: buildLatestReleases(rs), mtime: T0 - (++k) * MINUTE, names: rs.map((r) => r.file) })
    }
  }
  // Not a branch: never listed further, never followed.
  files.set('extra/foo/x86_64/APKINDEX.tar.gz', { body: buildApkIndex(packagesOf('edge', 'main', 'x86_64')), mtime: T0, names: [] })
  // Files beside the folders: links without a trailing slash, not folders.
  files.set('v3.21/README.txt', { body: 'hello\n', mtime: T0, names: [] })
  files.set('edge/main/MANIFEST', { body: 'x\n', mtime: T0, names: [] })
  return files
}

/** What discovery must find, in the order the master fetcher follows: edge first, then paths in order. */
const EXPECTED = [
  'edge/community/aarch64/APKINDEX.tar.gz',
  'edge/community/x86_64/APKINDEX.tar.gz',
  'edge/main/aarch64/APKINDEX.tar.gz',
  'edge/main/x86_64/APKINDEX.tar.gz',
  'edge/releases/aarch64/latest-releases.yaml',
  'edge/releases/x86_64/latest-releases.yaml',
  'edge/testing/aarch64/APKINDEX.tar.gz',
  'edge/testing/x86_64/APKINDEX.tar.gz',
  'v3.21/community/aarch64/APKINDEX.tar.gz',
  'v3.21/community/x86_64/APKINDEX.tar.gz',
  'v3.21/main/aarch64/APKINDEX.tar.gz',
  'v3.21/main/x86_64/APKINDEX.tar.gz',
  'v3.21/releases/aarch64/latest-releases.yaml',
  'v3.21/releases/x86_64/latest-releases.yaml'
]

interface Rig {
  readonly fake: FakeMirror
  readonly proxy: RecordingServer
  readonly fleet: Fleet
  readonly master: MasterIndexes
  readonly files: Map<string, MasterFile>
  readonly errors: Array<[path: string, reason: string]>
  readonly versions: IndexHistory[]
  readonly changes: CoverageChange[]
  /** Puts a file on the master (as the master's rsync would: content and mtime). */
  put (path: string, body: Buffer | string, mtime: number): void
  /** The requests the master saw since the last call. */
  since (): Recorded[]
}

async function rig (t: Test, indexes: Record<string, unknown> = {}): Promise<Rig> {
  const files = masterFiles()
  const fake = await startFakeMirror({ syncTime: T0 })
  const put = (path: string, body: Buffer | string, mtime: number): void => {
    fake.files.set(path, body)
    fake.mtimes.set(path, mtime)
  }
  for (const [path, f] of files) put(path, f.body, f.mtime)
  const proxy = await startRecordingProxy(fake)
  const config = configFromDocument({ indexes }, 'test', process.cwd())
  const table = tableFromDocument({ mirrors: [{ id: 'a', name: 'a', tier: 'community', urls: [fake.base], country: 'DE', latitude: 50, longitude: 8, weight: 1, families: ['ipv4'], enabled: true }] }, 'test')
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness })
  const errors: Array<[string, string]> = []
  const versions: IndexHistory[] = []
  const changes: CoverageChange[] = []
  fleet.onCoverage((c) => changes.push(c))
  const master = new MasterIndexes(fleet, proxy.base, config.indexes, config.probes.timeoutMs, {
    onError: (path, reason) => errors.push([path, reason]),
    onVersion: (h) => versions.push(h)
  })
  t.teardown(async () => {
    await master.stop()
    fleet.close()
    await proxy.close()
    await fake.close()
  })
  let mark = 0
  const since = (): Recorded[] => {
    const out = proxy.requests.slice(mark)
    mark = proxy.requests.length
    return out
  }
  return { fake, proxy, fleet, master, files, errors, versions, changes, put, since }
}

/** Resolves once `done()` holds, polled; fails the test after `ms` instead of hanging it. */
async function until (what: string, done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!done()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`)
    await sleep(10)
  }
}

const httpDate = (ms: number): string => new Date(ms).toUTCString()
const pathOf = (r: Recorded): string => r.path.replace(/^\/alpine\//, '')

/** Asserts that `version` of `history` lists exactly `names` among `all` (the names that could be there). */
function assertLists (t: Test, history: IndexHistory, version: IndexVersion, names: readonly string[], all: readonly string[], label: string): void {
  t.equal(version.count, names.length, `${label}: ${names.length} files`)
  for (const name of all) {
    const file = findFile(history, fileHash(name))
    t.equal(lists(version, file), names.includes(name), `${label}: ${name} ${names.includes(name) ? 'listed' : 'not listed'}`)
  }
}

t.test('listedFolders: the folders an autoindex links to, not files, parents or other sites', async (t) => {
  const html = '<a href="../">../</a><a href="edge/">edge/</a><a href="v3.21/">v3.21/</a><a href="last-updated">x</a>' +
    '<a href="MIRRORS.txt">x</a><a href="v3.21/">again</a><a href="a%20b/">x</a><a href="?C=N;O=D/">sort</a><a href="http://x.org/y/">x</a><a href=".hidden/">x</a>'
  t.strictSame(listedFolders(html), ['edge', 'v3.21'])
})

t.test('discover: exactly the branches\' indexes, edge first; the extra folder is not even listed', async (t) => {
  const { master, since } = await rig(t)
  t.strictSame(await master.discover(), EXPECTED)
  t.strictSame(master.paths, EXPECTED, 'and follows them')
  const seen = since()
  t.ok(seen.every((r) => r.method === 'GET' && r.status === 200), 'listings are GETs answered 200')
  t.strictSame(seen.map(pathOf).sort(), [
    '', 'edge/', 'edge/community/', 'edge/main/', 'edge/releases/', 'edge/testing/',
    'v3.21/', 'v3.21/community/', 'v3.21/main/', 'v3.21/releases/'
  ].sort(), 'the root, each branch and each repository are listed, nothing more')
  t.ok(seen.every((r) => typeof r.headers['user-agent'] === 'string' && r.headers['user-agent'].startsWith('mirrorgate')), 'with the identifying User-Agent')
})

t.test('include and exclude globs filter what is followed', async (t) => {
  const { master } = await rig(t, { include: ['edge/**', 'v3.21/main/**'], exclude: ['**/aarch64/**', '**/testing/**'] })
  t.strictSame(await master.discover(), [
    'edge/community/x86_64/APKINDEX.tar.gz',
    'edge/main/x86_64/APKINDEX.tar.gz',
    'edge/releases/x86_64/latest-releases.yaml',
    'v3.21/main/x86_64/APKINDEX.tar.gz'
  ])
})

t.test('configured paths are followed besides those discovered, and alone without discovery', async (t) => {
  const extra = 'extra/foo/x86_64/APKINDEX.tar.gz'
  const both = await rig(t, { paths: [extra] })
  const found = await both.master.discover()
  t.equal(found.length, EXPECTED.length + 1)
  t.ok(found.includes(extra), 'the configured path, though outside any branch')
  t.strictSame(found.filter((p) => p !== extra), EXPECTED, 'and every discovered one')

  const alone = await rig(t, { discover: false, paths: ['v3.21/main/x86_64/APKINDEX.tar.gz', 'edge/main/x86_64/APKINDEX.tar.gz'] })
  t.strictSame(await alone.master.discover(), ['edge/main/x86_64/APKINDEX.tar.gz', 'v3.21/main/x86_64/APKINDEX.tar.gz'])
  t.equal(alone.since().length, 0, 'no listing is fetched without discovery')
  await alone.master.refresh()
  t.strictSame([...alone.fleet.coverage.indexes.keys()].sort(), ['edge/main/x86_64/', 'v3.21/main/x86_64/'])
})

t.test('refresh: every index into the coverage, with its files; unchanged, conditional GETs answered 304 add nothing', async (t) => {
  const { master, fleet, files, versions, changes, errors, since } = await rig(t)
  await master.discover()
  since()
  await master.refresh()
  t.strictSame(errors, [])
  const first = since()
  t.strictSame(first.map(pathOf), EXPECTED, 'each index fetched once, in order')
  t.ok(first.every((r) => r.method === 'GET' && r.status === 200 && r.headers['if-modified-since'] === undefined), 'unconditional GETs the first time')
  const indexes = fleet.coverage.indexes
  t.strictSame([...indexes.keys()].sort(), EXPECTED.map(dirOf).sort())
  t.equal(versions.length, EXPECTED.length, 'one version each')
  for (const path of EXPECTED) {
    const f = files.get(path) as MasterFile
    const h = indexes.get(dirOf(path)) as IndexHistory
    t.equal(h.path, path)
    t.equal(h.name, path.slice(path.lastIndexOf('/') + 1))
    t.equal(h.versions.length, 1)
    const v = h.versions[0] as IndexVersion
    t.equal(v.lastModified, f.mtime, `${path}: Last-Modified kept`)
    t.equal(v.size, Buffer.byteLength(f.body), `${path}: size kept`)
    t.equal(v.key, identityKey({ lastModified: f.mtime, size: Buffer.byteLength(f.body) }))
    t.equal(h.files.length, f.names.length)
    assertLists(t, h, v, f.names, [...f.names, 'not-there-1.0-r0.apk'], path)
  }
  t.equal(findFile(indexes.get('edge/main/x86_64/') as IndexHistory, fileHash(packageFile({ name: 'main-aarch64-p0', version: '9.0-r0' }))), -1,
    'another architecture\'s package is not in this folder\'s index')

  // Nothing changed: every GET is conditional, every answer a 304, the coverage untouched.
  const before = fleet.coverage
  const changesBefore = changes.length
  await master.refresh()
  const second = since()
  t.strictSame(second.map(pathOf), EXPECTED)
  for (const r of second) {
    const f = files.get(pathOf(r)) as MasterFile
    t.equal(r.headers['if-modified-since'], httpDate(f.mtime), `${pathOf(r)}: If-Modified-Since is the Last-Modified served`)
    t.equal(r.status, 304, `${pathOf(r)}: the master answered 304`)
  }
  t.equal(fleet.coverage, before, 'the coverage is the same value')
  t.equal(changes.length, changesBefore, 'no change announced')
  t.equal(versions.length, EXPECTED.length, 'no version added')
})

t.test('one index changes: exactly one version added, to that index only', async (t) => {
  const { master, fleet, versions, changes, put, since } = await rig(t)
  await master.discover()
  await master.refresh()
  const before = fleet.coverage.indexes
  const path = 'edge/main/x86_64/APKINDEX.tar.gz'
  const old = packagesOf('edge', 'main', 'x86_64')
  const next = packagesOf('edge', 'main', 'x86_64', 1).slice(1) // p0 dropped, p3 added
  put(path, buildApkIndex(next), T0 + MINUTE)
  since()
  const changesBefore = changes.length
  await master.refresh()
  const seen = since()
  t.strictSame(seen.filter((r) => r.status === 200).map(pathOf), [path], 'one 200, for the changed index')
  t.equal(seen.filter((r) => r.status === 304).length, EXPECTED.length - 1, 'and 304 for every other')
  t.equal(changes.length, changesBefore + 1, 'one change announced')
  const change = changes.at(-1) as CoverageChange
  t.equal(change.kind, 'index')
  t.equal(change.kind === 'index' ? change.history.dir : null, 'edge/main/x86_64/')
  t.equal(versions.length, EXPECTED.length + 1)
  const after = fleet.coverage.indexes
  for (const p of EXPECTED) {
    if (p !== path) t.equal(after.get(dirOf(p)), before.get(dirOf(p)), `${p}: the same history`)
  }
  const h = after.get('edge/main/x86_64/') as IndexHistory
  t.equal(h.versions.length, 2)
  t.equal(h.versions[0]?.lastModified, T0 + MINUTE, 'newest first')
  t.equal(h.versions[1]?.key, (before.get('edge/main/x86_64/') as IndexHistory).versions[0]?.key, 'then the one before')
  const all = [...old, ...next].map(packageFile)
  assertLists(t, h, h.versions[0] as IndexVersion, next.map(packageFile), all, 'newest')
  assertLists(t, h, h.versions[1] as IndexVersion, old.map(packageFile), all, 'previous')
})

t.test('an index appearing on the master is picked up by discover() and refresh(), without a restart', async (t) => {
  const { master, fleet, put, since } = await rig(t)
  await master.discover()
  await master.refresh()
  const path = 'edge/main/riscv64/APKINDEX.tar.gz'
  const ps = packagesOf('edge', 'main', 'riscv64', 4)
  put(path, buildApkIndex(ps), T0)
  t.notOk(fleet.coverage.indexes.has('edge/main/riscv64/'))
  const found = await master.discover()
  t.equal(found.length, EXPECTED.length + 1)
  t.ok(found.includes(path))
  since()
  await master.refresh()
  t.strictSame(since().filter((r) => r.status === 200).map(pathOf), [path], 'only the new index is fetched whole')
  const h = fleet.coverage.indexes.get('edge/main/riscv64/') as IndexHistory
  t.ok(h !== undefined)
  assertLists(t, h, h.versions[0] as IndexVersion, ps.map(packageFile), ps.map(packageFile), path)
})

t.test('an index removed from the master is dropped: on its 404, and when discovery no longer finds it', async (t) => {
  const { fake, master, fleet, changes, files, put } = await rig(t)
  await master.discover()
  await master.refresh()
  fleet.recordIndexCheck('a', 'v3.21/community/aarch64/', { kind: 'missing', at: T0 })

  // Gone, and refreshed before any new discovery: the 404 drops it, and the mirrors' checks of it.
  fake.files.delete('v3.21/community/aarch64/APKINDEX.tar.gz')
  await master.refresh()
  t.notOk(fleet.coverage.indexes.has('v3.21/community/aarch64/'), 'dropped on 404')
  t.notOk(fleet.coverage.checks.has('v3.21/community/aarch64/'), 'with the checks of it')
  t.match(changes.at(-1), { kind: 'drop', dir: 'v3.21/community/aarch64/' })
  t.equal(fleet.coverage.indexes.size, EXPECTED.length - 1, 'nothing else')

  // Gone from the listing: discovery stops following it and drops it.
  const gone = 'edge/testing/aarch64/APKINDEX.tar.gz'
  const f = files.get(gone) as MasterFile
  fake.files.delete(gone)
  const found = await master.discover()
  t.notOk(found.includes(gone))
  t.notOk(found.includes('v3.21/community/aarch64/APKINDEX.tar.gz'))
  t.equal(found.length, EXPECTED.length - 2)
  t.notOk(fleet.coverage.indexes.has('edge/testing/aarch64/'), 'dropped on discovery')
  t.match(changes.at(-1), { kind: 'drop', dir: 'edge/testing/aarch64/' })

  // Back as it was (a listing that missed it for a while): followed and known again, though unchanged.
  put(gone, f.body, f.mtime)
  t.ok((await master.discover()).includes(gone))
  await master.refresh()
  const h = fleet.coverage.indexes.get('edge/testing/aarch64/')
  t.ok(h !== undefined, 'back in the coverage')
  t.equal(h?.versions[0]?.lastModified, f.mtime)
  t.equal(h?.versions[0]?.count, f.names.length)
})

t.test('a corrupt index keeps the previous history and is reported; a good one after it is taken', async (t) => {
  const { master, fleet, errors, changes, put, since } = await rig(t)
  await master.discover()
  await master.refresh()
  const path = 'edge/community/x86_64/APKINDEX.tar.gz'
  const dir = dirOf(path)
  const before = fleet.coverage.indexes.get(dir) as IndexHistory
  const changesBefore = changes.length
  put(path, 'this is not gzip at all\n', T0 + MINUTE)
  await master.refresh()
  t.equal(errors.length, 1, 'onError called once')
  t.equal(errors[0]?.[0], path, 'with the path')
  t.ok((errors[0]?.[1] ?? '').length > 0, 'and a reason')
  t.equal(fleet.coverage.indexes.get(dir), before, 'the previous history stays')
  t.equal(changes.length, changesBefore, 'no change announced')

  // Still corrupt: read again (its validators were not taken), reported again.
  since()
  await master.refresh()
  t.strictSame(since().filter((r) => r.status === 200).map(pathOf), [path], 'the corrupt index is fetched whole again')
  t.equal(errors.length, 2)
  t.equal(fleet.coverage.indexes.get(dir), before)

  const ps = packagesOf('edge', 'community', 'x86_64', 2)
  put(path, buildApkIndex(ps), T0 + 2 * MINUTE)
  await master.refresh()
  const h = fleet.coverage.indexes.get(dir) as IndexHistory
  t.equal(h.versions.length, 2, 'the good one on top of the one before; the corrupt one never counted')
  t.equal(h.versions[0]?.lastModified, T0 + 2 * MINUTE)
  t.equal(h.versions[1]?.key, before.versions[0]?.key)
  t.equal(h.versions[0]?.count, ps.length)
})

t.test('listings that fail forget nothing: the whole master, or one branch', async (t) => {
  const { fake, proxy, master, fleet, errors } = await rig(t, { paths: ['extra/foo/x86_64/APKINDEX.tar.gz'] })
  const all = [...EXPECTED, 'extra/foo/x86_64/APKINDEX.tar.gz']
  t.equal((await master.discover()).length, all.length)
  await master.refresh()
  const known = fleet.coverage.indexes

  fake.mode = 'status-500'
  t.equal((await master.discover()).length, all.length, 'the master failing: every path still followed')
  t.equal(fleet.coverage.indexes, known, 'and nothing dropped')
  t.match(errors.at(-1), ['/', 'HTTP 500'], 'the failed listing is reported')
  fake.mode = 'ok'

  proxy.answer = (path) => path === '/alpine/edge/' ? 503 : null
  const found = await master.discover()
  t.strictSame([...found].sort(), [...all].sort(), 'one branch failing: its indexes still followed')
  t.equal(fleet.coverage.indexes, known, 'and none dropped')
  t.match(errors.at(-1), ['edge/', 'HTTP 503'])
  proxy.answer = null

  // Listed again, and an index really gone: now it is dropped.
  fake.files.delete('edge/main/aarch64/APKINDEX.tar.gz')
  t.equal((await master.discover()).length, all.length - 1)
  t.notOk(fleet.coverage.indexes.has('edge/main/aarch64/'))
})

t.test('start(): the master\'s canary moving triggers a refresh; stop() ends it all', async (t) => {
  const { master, proxy, fleet, versions, put, since } = await rig(t)
  await master.start()
  t.equal(fleet.coverage.indexes.size, EXPECTED.length, 'the first round is in when start() resolves')
  const probe = (syncTime: number): void => { fleet.recordMaster({ ok: true, at: Date.now(), latencyMs: 1, syncTime, failure: null, message: null }) }
  since()
  probe(T0)
  await sleep(200)
  t.strictSame(since(), [], 'the first sync time known is no change: nothing fetched')

  const path = 'v3.21/main/x86_64/APKINDEX.tar.gz'
  const ps = packagesOf('v3.21', 'main', 'x86_64', 3)
  put(path, buildApkIndex(ps), T0 + MINUTE)
  const count = versions.length
  const mark = proxy.requests.length
  probe(T0 + MINUTE)
  await until('the new version', () => versions.length > count)
  await until('the round to end', () => proxy.requests.length >= mark + EXPECTED.length && proxy.inFlight === 0)
  t.equal(versions.length, count + 1)
  t.equal(versions.at(-1)?.path, path)
  t.equal(fleet.coverage.indexes.get(dirOf(path))?.versions[0]?.count, ps.length)
  const seen = since()
  t.equal(seen.length, EXPECTED.length, 'one conditional GET of every index')
  t.strictSame(seen.filter((r) => r.status === 200).map(pathOf), [path])

  probe(T0 + MINUTE)
  await sleep(200)
  t.strictSame(since(), [], 'the same sync time again: nothing fetched')

  await master.stop()
  put(path, buildApkIndex(ps.slice(1)), T0 + 2 * MINUTE)
  probe(T0 + 2 * MINUTE)
  await sleep(200)
  t.strictSame(since(), [], 'stopped: a new sync point fetches nothing')
  t.equal(versions.length, count + 1)
})

t.test('start(): without any canary, the indexes are refreshed every masterIntervalSeconds', async (t) => {
  const { master, fleet, versions, put } = await rig(t, { masterIntervalSeconds: 1 })
  const began = Date.now()
  await master.start()
  const path = 'edge/releases/x86_64/latest-releases.yaml'
  const rs = releasesOf('edge', 'x86_64').slice(0, 1)
  put(path, buildLatestReleases(rs), T0 + MINUTE)
  const count = versions.length
  await until('the periodic refresh', () => versions.length > count, 4000)
  t.ok(Date.now() - began >= 900, 'not before the interval')
  t.equal(fleet.coverage.indexes.get(dirOf(path))?.versions[0]?.count, 1)
  t.equal(fleet.coverage.indexes.get(dirOf(path))?.versions.length, 2)
})
