// What people and dashboards see of the coverage (which mirror holds which files): the file
// section of /api/v1/explain, agreeing with the redirect it explains; each mirror's coverage in
// /api/v1/mirrors; the index states in /metrics. A real Fleet and the real app on a real port,
// with the master's index histories and each mirror's checks set by hand.

import t, { type Test } from 'tap'
import { configFromDocument } from '../../src/config/schema.js'
import type { IndexCheck } from '../../src/core/coverage.js'
import { addVersion, type IndexHistory } from '../../src/core/file-set.js'
import type { ProbeResult } from '../../src/core/health.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import type { App } from '../../src/http/app.js'
import { Fleet } from '../../src/live/fleet.js'
import { inertControl } from '../helpers/control.js'
import { Metrics } from '../../src/metrics.js'
import { createHttp, openGeoIp } from '../../src/service.js'
import { get } from '../helpers/service.js'

const MIN = 60_000
const NOW = Date.now()
const SYNC = NOW - 5 * MIN
const T1 = NOW - 120 * MIN
const T2 = NOW - 10 * MIN
const FALLBACK = 'https://fallback.example.org/alpine/'

const M = 'v3.22/main/x86_64/'
const C = 'v3.22/community/x86_64/'
const MA = 'v3.22/main/aarch64/'
const E = 'edge/main/x86_64/'

const spec = (id: string, extra: Partial<MirrorSpec> = {}): MirrorSpec => ({
  id, name: `mirror ${id}`, tier: 'community', urls: [`https://${id}.example.org/alpine/`, `http://${id}.example.org/alpine/`],
  country: 'DE', latitude: 50.1, longitude: 8.7, weight: 10, families: ['ipv4'], enabled: true, ...extra
})

const ok = (syncTime: number): ProbeResult => ({ ok: true, at: NOW - MIN, latencyMs: 10, syncTime, failure: null, message: null })

/** An index with the versions given, oldest first: each lists the files named. */
function history (dir: string, versions: ReadonlyArray<readonly [number, readonly string[]]>): IndexHistory {
  let h: IndexHistory | null = null
  for (const [lastModified, names] of versions) {
    h = addVersion(h, dir + 'APKINDEX.tar.gz', { lastModified, size: 1000 + names.length, etag: null }, names.map((name) => ({ name, size: 100 })), lastModified)
  }
  return h as IndexHistory
}

const copy = (h: IndexHistory, version: number): IndexCheck => ({ kind: 'copy', key: (h.versions[version] as { key: string }).key, at: NOW - 2 * MIN, syncTime: SYNC })

const control = inertControl

/**
 * Five enabled mirrors at one place, and one disabled. Per folder: `a` has every current copy;
 * `b` is behind on main and edge, lacks community, holds a copy of aarch64 the master never
 * served; `c` is checked nowhere and declares it carries no edge; `d` fails everywhere but edge,
 * where it has no copy; `e` is checked nowhere and declares nothing.
 */
async function start (t: Test, opts: { fallback?: string | null } = {}): Promise<{ fleet: Fleet, app: App, port: number }> {
  const config = configFromDocument({ fallback: opts.fallback === undefined ? FALLBACK : opts.fallback }, 'test', process.cwd())
  const fleet = new Fleet(buildTable([
    spec('a', { tier: 't1' }), spec('b'), spec('c', { coverage: { exclude: ['edge/**'] } }), spec('d'), spec('e'),
    spec('off', { enabled: false })
  ]), { ...config.probes, ...config.freshness })
  t.teardown(() => fleet.close())
  const m = history(M, [[T1, ['foo-1.apk', 'bar-1.apk']], [T2, ['foo-2.apk', 'bar-1.apk']]])
  const c = history(C, [[T1, ['baz-1.apk']]])
  const ma = history(MA, [[T1, ['qux-1.apk']]])
  const e = history(E, [[T1, ['edge-1.apk']], [T2, ['edge-2.apk']]])
  for (const h of [m, c, ma, e]) fleet.setIndex(h)
  const at = NOW - 2 * MIN
  fleet.recordIndexCheck('a', M, copy(m, 0))
  fleet.recordIndexCheck('a', C, copy(c, 0))
  fleet.recordIndexCheck('a', MA, copy(ma, 0))
  fleet.recordIndexCheck('a', E, copy(e, 0))
  fleet.recordIndexCheck('b', M, copy(m, 1))
  fleet.recordIndexCheck('b', C, { kind: 'missing', at })
  fleet.recordIndexCheck('b', MA, { kind: 'copy', key: '999/1', at, syncTime: SYNC })
  fleet.recordIndexCheck('b', E, copy(e, 1))
  for (const dir of [M, C, MA]) fleet.recordIndexCheck('d', dir, { kind: 'failing', at, detail: 'timeout' })
  fleet.recordIndexCheck('d', E, { kind: 'missing', at })
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    fleet.record(id, 'http', ok(SYNC))
    fleet.record(id, 'https', ok(SYNC))
  }
  fleet.markKnown()

  const geoip = openGeoIp(config)
  const metrics = new Metrics(geoip, fleet, config.instance)
  const app = createHttp(config, geoip, fleet, new EndpointDirectory(config.dns, config.selection, fleet), metrics, control, null)
  await app.fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.fastify.close())
  return { fleet, app, port: (app.fastify.server.address() as { port: number }).port }
}

interface Explained {
  choice: { mirror: string | null, location: string | null, reason: string }
  file?: {
    folder: string, name: string, isIndex: boolean, listedByMaster: boolean, inNewest: boolean, held: boolean, note: string | null
    mirrors: Array<{ id: string, holds: string, basis: string, index: { state: string, versionsBehind: number | null, checkedAt: string | null } | null }>
  }
  ranked: Array<{ id: string }>
  excluded: Array<{ id: string, code: string, reason: string }>
}

/** explain() for this path from this client, and where the redirect really sends it. */
async function both (port: number, path: string): Promise<{ e: Explained, status: number, location: string | undefined, mirror: string | undefined }> {
  const e = JSON.parse((await get(port, `/api/v1/explain?path=${encodeURIComponent(path)}`)).body) as Explained
  const r = await get(port, path)
  return { e, status: r.status, location: r.headers.location as string | undefined, mirror: r.headers['x-mirrorgate-mirror'] as string | undefined }
}

const byId = <T extends { id: string }>(xs: readonly T[], id: string): T | undefined => xs.find((x) => x.id === id)

t.test('explain: a package only an older copy lists goes where that copy is, as the redirect does', async (t) => {
  const { port } = await start(t)
  const { e, status, location, mirror } = await both(port, `/alpine/${M}foo-1.apk`)
  t.equal(status, 302)
  t.equal(mirror, 'b', 'the redirect goes to the one mirror whose copy lists it')
  t.equal(e.choice.mirror, 'b', 'and explain says so')
  t.equal(e.choice.location, location)
  t.equal(e.choice.location, `http://b.example.org/alpine/${M}foo-1.apk`)
  t.match(e.choice.reason, /whose copy of the index lists this file/)
  const f = e.file
  if (f === undefined) return t.fail('no file section')
  t.same({ folder: f.folder, name: f.name, isIndex: f.isIndex, listedByMaster: f.listedByMaster, inNewest: f.inNewest, held: f.held, note: f.note },
    { folder: M, name: 'foo-1.apk', isIndex: false, listedByMaster: true, inNewest: false, held: true, note: null })
  t.same(f.mirrors.map((m) => m.id), ['a', 'b', 'c', 'd', 'e'], 'every enabled mirror, none disabled')
  t.same(byId(f.mirrors, 'a'), { id: 'a', holds: 'no', basis: 'measured', index: { state: 'current', versionsBehind: 0, checkedAt: new Date(NOW - 2 * MIN).toISOString() } })
  t.same(byId(f.mirrors, 'b'), { id: 'b', holds: 'yes', basis: 'measured', index: { state: 'behind', versionsBehind: 1, checkedAt: new Date(NOW - 2 * MIN).toISOString() } })
  t.same(byId(f.mirrors, 'c'), { id: 'c', holds: 'unknown', basis: 'none', index: { state: 'unchecked', versionsBehind: null, checkedAt: null } })
  t.same(byId(f.mirrors, 'd')?.index?.state, 'failing')
  t.equal(byId(e.excluded, 'a')?.code, 'missing-file')
  t.match(byId(e.excluded, 'a')?.reason, /its copy of the index \(current\) does not list this file/)
  t.same(e.ranked.map((r) => r.id), ['b'], 'only the holder is ranked')
  t.equal(byId(e.excluded, 'c')?.code, 'unverified', 'a mirror not known to hold it comes after those known to')
})

t.test('explain: the newest package and a folder a mirror lacks', async (t) => {
  const { port } = await start(t)
  const newest = await both(port, `/alpine/${M}foo-2.apk`)
  t.equal(newest.mirror, 'a')
  t.equal(newest.e.choice.mirror, 'a')
  t.equal(newest.e.choice.location, newest.location)
  t.equal(newest.e.file?.inNewest, true)
  t.equal(byId(newest.e.excluded, 'b')?.code, 'missing-file')

  const community = await both(port, `/alpine/${C}baz-1.apk`)
  t.equal(community.mirror, 'a')
  t.equal(community.e.choice.mirror, 'a')
  t.equal(byId(community.e.excluded, 'b')?.code, 'missing-index')
  t.same(byId(community.e.file?.mirrors ?? [], 'b'), { id: 'b', holds: 'no', basis: 'measured', index: { state: 'missing', versionsBehind: null, checkedAt: new Date(NOW - 2 * MIN).toISOString() } })
})

t.test('explain: an index goes to a current copy', async (t) => {
  const { port } = await start(t)
  const { e, mirror, location } = await both(port, `/alpine/${M}APKINDEX.tar.gz`)
  t.equal(mirror, 'a')
  t.equal(e.choice.mirror, 'a')
  t.equal(e.choice.location, location)
  t.match(e.choice.reason, /copy of this index is the master's newest/)
  t.same([e.file?.isIndex, e.file?.listedByMaster, e.file?.inNewest, e.file?.held], [true, true, true, true])
})

t.test('explain: a file no index lists, and a folder nobody follows', async (t) => {
  const { port } = await start(t)
  const { e, mirror, location } = await both(port, `/alpine/${M}gone-0.apk`)
  t.equal(e.file?.listedByMaster, false)
  t.equal(e.file?.held, false)
  t.equal(e.file?.note, 'no mirror is known to hold this file')
  t.equal(e.choice.mirror, mirror, 'the redirect and explain agree')
  t.equal(e.choice.location, location)
  t.match(e.choice.reason, /no kept version of the master's index lists this file/)

  const other = await both(port, '/alpine/v3.21/main/x86_64/foo-1.apk')
  t.notOk('file' in other.e, 'no file section where no index is followed')
  t.equal(other.e.choice.mirror, other.mirror)
})

t.test('explain: the only holder is drained, so the fallback goes first; without one, the drained holder', async (t) => {
  // e, checked nowhere and declaring nothing, could serve it unverified: drained too.
  const withFallback = await start(t)
  withFallback.fleet.drain('a', null, 'maintenance')
  withFallback.fleet.drain('e', null, 'maintenance')
  const drained = await both(withFallback.port, `/alpine/${E}edge-2.apk`)
  t.equal(drained.location, `${FALLBACK}${E}edge-2.apk`, 'the redirect goes to the fallback')
  t.equal(drained.e.choice.mirror, null)
  t.equal(drained.e.choice.location, drained.location)
  t.match(drained.e.choice.reason, /configured fallback, in step with the master, first/)
  t.same(byId(drained.e.file?.mirrors ?? [], 'c'), { id: 'c', holds: 'no', basis: 'declared', index: { state: 'unchecked', versionsBehind: null, checkedAt: null } },
    'the table says c carries no edge')
  t.equal(byId(drained.e.excluded, 'c')?.code, 'not-declared')
  t.equal(byId(drained.e.excluded, 'd')?.code, 'missing-index')

  const without = await start(t, { fallback: null })
  without.fleet.drain('a', null, 'maintenance')
  without.fleet.drain('e', null, 'maintenance')
  const last = await both(without.port, `/alpine/${E}edge-2.apk`)
  t.equal(last.mirror, 'a', 'with no fallback the redirect takes the drained holder')
  t.equal(last.e.choice.mirror, 'a')
  t.equal(last.e.choice.location, last.location)
  t.match(last.e.choice.reason, /^a last resort, there being no fallback: .*lists this file/)
})

t.test('explain: every candidate down, the fallback first only for a file it has', async (t) => {
  const { fleet, port } = await start(t)
  // a and b fail; the others, which hold nothing known, are drained and out of the way.
  for (const id of ['c', 'd', 'e']) fleet.drain(id, null, 'maintenance')
  for (let i = 0; i < 3; i++) {
    for (const id of ['a', 'b']) for (const scheme of ['http', 'https'] as const) fleet.record(id, scheme, { ok: false, at: NOW, latencyMs: 0, syncTime: null, failure: 'connect', message: 'refused' })
  }
  t.notOk(fleet.failOpen)
  const newest = await both(port, `/alpine/${M}foo-2.apk`)
  t.equal(newest.location, `${FALLBACK}${M}foo-2.apk`, 'the fallback has what the master\'s newest index lists')
  t.equal(newest.e.choice.location, newest.location)
  t.equal(newest.e.choice.reason, 'every mirror that could serve this client is down: the configured fallback first')

  const older = await both(port, `/alpine/${M}foo-1.apk`)
  t.equal(older.mirror, 'b', 'only an older version lists it: the fallback has dropped it, the dead-looking holder may serve it')
  t.equal(older.e.choice.mirror, 'b')
  t.equal(older.e.choice.location, older.location)
  t.match(older.e.choice.reason, /^every mirror that could serve this client is down, and the fallback no longer has this file: .*lists this file/)
})

interface MirrorsBody {
  indexes: { followed: number, files: number, lastModified: string | null }
  mirrors: Array<{ id: string, coverage: { basis: string, declared: { include: string[], exclude: string[] } | null, counts: Record<string, number>, indexes: Record<string, string> } }>
}

t.test('/api/v1/mirrors: each mirror\'s coverage, and the master\'s indexes', async (t) => {
  const { port } = await start(t)
  const body = JSON.parse((await get(port, '/api/v1/mirrors')).body) as MirrorsBody
  t.same(body.indexes, { followed: 4, files: 2 + 1 + 1 + 1, lastModified: new Date(T2).toISOString() })
  const cov = (id: string): MirrorsBody['mirrors'][number]['coverage'] | undefined => body.mirrors.find((m) => m.id === id)?.coverage
  t.same(cov('a'), {
    basis: 'measured', declared: null,
    counts: { current: 4, behind: 0, unknown: 0, missing: 0, failing: 0, unchecked: 0 },
    indexes: { [E]: 'current', [C]: 'current', [MA]: 'current', [M]: 'current' }
  })
  t.same(cov('b')?.counts, { current: 0, behind: 2, unknown: 1, missing: 1, failing: 0, unchecked: 0 })
  t.same(cov('b')?.indexes, { [E]: 'behind', [C]: 'missing', [MA]: 'unknown', [M]: 'behind' })
  t.same(Object.keys(cov('b')?.indexes ?? {}), [E, C, MA, M], 'folders in a stable order')
  t.equal(cov('c')?.basis, 'declared', 'nothing measured: the table\'s declaration')
  t.same(cov('c')?.declared?.include, [])
  t.same(cov('c')?.declared?.exclude, ['edge/**'], 'the globs as the table gives them')
  t.same(cov('d')?.counts, { current: 0, behind: 0, unknown: 0, missing: 1, failing: 3, unchecked: 0 })
  t.equal(cov('d')?.basis, 'measured', 'a 404 is a measurement; failing checks are not')
  t.equal(cov('e')?.basis, 'none')
  t.same(cov('e')?.counts.unchecked, 4)
})

t.test('/api/v1/mirrors with nothing followed', async (t) => {
  const { port, fleet } = await start(t)
  for (const dir of [M, C, MA, E]) fleet.dropIndex(dir)
  const body = JSON.parse((await get(port, '/api/v1/mirrors')).body) as MirrorsBody
  t.same(body.indexes, { followed: 0, files: 0, lastModified: null })
  t.same(body.mirrors.find((m) => m.id === 'a')?.coverage, {
    basis: 'none', declared: null, counts: { current: 0, behind: 0, unknown: 0, missing: 0, failing: 0, unchecked: 0 }, indexes: {}
  })
})

t.test('/metrics: each enabled mirror\'s index states', async (t) => {
  const { port } = await start(t)
  const text = (await get(port, '/metrics')).body
  const value = (mirror: string, state: string): number | null => {
    const m = new RegExp(`^mirrorgate_mirror_indexes\\{mirror="${mirror}",state="${state}"\\} (\\d+)$`, 'm').exec(text)
    return m === null ? null : Number(m[1])
  }
  t.equal(value('a', 'current'), 4)
  t.equal(value('b', 'behind'), 2)
  t.equal(value('b', 'missing'), 1)
  t.equal(value('b', 'unknown'), 1)
  t.equal(value('d', 'failing'), 3)
  t.equal(value('e', 'unchecked'), 4)
  t.equal(value('off', 'unchecked'), null, 'disabled mirrors are left out')
  t.match(text, /^mirrorgate_master_index_files 5$/m)
})
