// src/core/file-routing.ts: a request's verdict on a mirror joins its live verdict with what it
// holds. Each rule of fileVerdict on holdings read from a real coverage, then the whole pure
// core: select() over three German mirrors at three sync points of one index, with fileGate.

import t from 'tap'
import { holding, indexLagMs, pathFacts, type Coverage, type Holding, type IndexCheck } from '../../src/core/coverage.js'
import { fileGate, fileVerdict } from '../../src/core/file-routing.js'
import { addVersion, identityKey, type Identity, type IndexHistory } from '../../src/core/file-set.js'
import { select, type ExclusionCode, type Gate, type Selection, type SelectionPolicy, type Verdict } from '../../src/core/selection.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import type { Client, Mirror, MirrorTable } from '../../src/core/types.js'

const DIR = 'v3.22/main/x86_64/'
const INDEX = `${DIR}APKINDEX.tar.gz`
const HOUR = 3_600_000
const T0 = Date.UTC(2025, 5, 1, 0)
const NOW = T0 + 20 * HOUR
/** What an index may lag: the volatile class's bound. */
const VOLATILE_MAX = HOUR
const POLICY: SelectionPolicy = { nearKm: 800 }

// Four sync points of the index, oldest first; the three mirrors have the newer three.
const V3: Identity = { lastModified: T0, size: 700_003 }
const V2: Identity = { lastModified: T0 + 6 * HOUR, size: 700_002 }
const V1: Identity = { lastModified: T0 + 12 * HOUR, size: 700_001 }
const V0: Identity = { lastModified: T0 + 18 * HOUR, size: 700_000 }
const F = {
  all: 'busybox-1.37.0-r0.apk',
  v3Only: 'curl-8.8.0-r0.apk', // dropped before any mirror's sync point
  v2Only: 'curl-8.9.0-r0.apk', // only the oldest mirror's copy lists it
  v1Only: 'curl-8.10.0-r0.apk',
  v0Only: 'curl-8.11.0-r0.apk', // the master's newest only
  unlisted: 'nginx-1.27.0-r0.apk'
}

function history (): IndexHistory {
  let h: IndexHistory | null = null
  for (const [identity, only] of [[V3, F.v3Only], [V2, F.v2Only], [V1, F.v1Only], [V0, F.v0Only]] as const) {
    h = addVersion(h, INDEX, { ...identity, etag: null }, [{ name: F.all, size: 500_000 }, { name: only, size: 300_000 }], identity.lastModified as number)
  }
  return h as IndexHistory
}

/** Each mirror's canary sync time when its copy was checked. */
const SYNC: Record<string, number> = { fra: T0 + 18.5 * HOUR, muc: T0 + 12.5 * HOUR, ham: T0 + 6.5 * HOUR }
const copy = (identity: Identity, syncTime: number): IndexCheck => ({ kind: 'copy', key: identityKey(identity), at: NOW - HOUR, syncTime })
const CHECKS = new Map<string, IndexCheck>([
  ['fra', copy(V0, SYNC.fra as number)],
  ['muc', copy(V1, SYNC.muc as number)],
  ['ham', copy(V2, SYNC.ham as number)],
  ['gone', { kind: 'missing', at: NOW - HOUR }],
  ['bad', { kind: 'failing', at: NOW - HOUR, detail: 'timeout' }]
])
const COVERAGE: Coverage = { indexes: new Map([[DIR, history()]]), checks: new Map([[DIR, CHECKS]]) }
const NOTHING_CHECKED: Coverage = { indexes: COVERAGE.indexes, checks: new Map() }

function spec (id: string, [latitude, longitude]: readonly [number, number], over: Partial<MirrorSpec> = {}): MirrorSpec {
  return { id, name: id, tier: 'community', urls: [`http://${id}.example.de/alpine/`], country: 'DE', latitude, longitude, weight: 10, families: ['ipv4'], enabled: true, ...over }
}
const FRANKFURT = [50.11, 8.68] as const
const MUNICH = [48.14, 11.58] as const
const HAMBURG = [53.55, 9.99] as const

/** The three mirrors of the end-to-end tests, at three sync points. */
const TABLE: MirrorTable = buildTable([spec('fra', FRANKFURT), spec('muc', MUNICH), spec('ham', HAMBURG)])
/** Mirrors for the single rules: a 404 of the index, a failing check, a declaration. */
const OTHERS: MirrorTable = buildTable([
  spec('gone', FRANKFURT), spec('bad', FRANKFURT), spec('none', FRANKFURT),
  spec('decl', FRANKFURT, { coverage: { exclude: ['v3.22/**'] } })
])
const mirror = (id: string): Mirror => (TABLE.byId.get(id) ?? OTHERS.byId.get(id)) as Mirror

const CLIENT: Client = {
  place: { country: 'DE', continent: 'EU', latitude: 50.0, longitude: 8.3, asn: null, source: 'geoip' },
  family: 4,
  scheme: 'http',
  network: '10.0.0.0/24'
}

// Live verdicts shaped as core/snapshot.ts makes them.
const stale = (lagMs: number): Verdict => ({ code: 'stale', standing: 'behind', lagMs, allowedMs: 30 * 60_000, reason: `${lagMs / 60_000} min behind the reference sync point; versioned files allow 30 min` })
const STALE = stale(14 * HOUR)
const DRAINING: Verdict = { code: 'draining', until: NOW + HOUR, reason: 'drained until 2025-06-01T21:00:00.000Z' }
const DOWN: Verdict = { code: 'down', standing: 'down', reason: 'down: timeout' }
const UNPROBED: Verdict = { code: 'unprobed', standing: 'unprobed', reason: 'not probed yet: mirrors known to be fresh come first' }

/** The canary unchanged since each check, unless `synced` moves some on. */
const syncTimeOf = (synced: Record<string, number> = {}) => (id: string): number | null => synced[id] ?? SYNC[id] ?? null

function held (id: string, rest: string, synced: Record<string, number> = {}): Holding {
  return holding(COVERAGE, mirror(id), pathFacts(rest), rest, syncTimeOf(synced)(id))
}

/** fileVerdict as fileGate calls it: the index lag only for an index request. */
function verdict (base: Verdict | null, id: string, name: string, opts: { synced?: Record<string, number>, maxLag?: number } = {}): Verdict | null {
  const rest = DIR + name
  const h = held(id, rest, opts.synced)
  const lag = h.isIndex && h.index !== null ? indexLagMs(COVERAGE, DIR, h.index, NOW) : null
  return fileVerdict(base, h, lag, opts.maxLag ?? VOLATILE_MAX)
}

// ---------- fileVerdict ----------

t.test('fileVerdict: not carried by declaration: excluded, whatever the live verdict', async (t) => {
  for (const base of [null, STALE, DOWN, DRAINING]) {
    const v = verdict(base, 'decl', F.all)
    t.match(v, { code: 'not-declared', reason: /table/ }, `base ${base?.code ?? 'fresh'}`)
    t.equal(v?.standing, undefined, 'excluded outright')
  }
})

t.test('fileVerdict: its index answers 404: excluded for the index and every file', async (t) => {
  for (const name of [F.all, F.unlisted, 'APKINDEX.tar.gz']) {
    const v = verdict(null, 'gone', name)
    t.match(v, { code: 'missing-index', reason: /404/ }, name)
    t.equal(v?.standing, undefined)
  }
})

t.test('fileVerdict: its copy does not list the file: excluded', async (t) => {
  const behind = verdict(null, 'muc', F.v0Only)
  t.match(behind, { code: 'missing-file', reason: /1 version\(s\) behind/ })
  t.equal(behind?.standing, undefined)
  t.match(verdict(null, 'ham', F.v1Only), { code: 'missing-file', reason: /2 version\(s\) behind/ })
  t.match(verdict(null, 'fra', F.v2Only), { code: 'missing-file', reason: /\(current\)/ }, 'dropped by the newest')
  t.match(verdict(DOWN, 'fra', F.v2Only), { code: 'missing-file' }, 'not down: it lacks the file')
})

t.test('fileVerdict: an index goes by the age of the copy, not by the canary', async (t) => {
  t.equal(verdict(STALE, 'fra', 'APKINDEX.tar.gz'), null, 'a current copy lifts a stale canary')
  t.equal(verdict(null, 'fra', 'APKINDEX.tar.gz'), null)
  const lag = NOW - (V0.lastModified as number)
  t.same(verdict(null, 'muc', 'APKINDEX.tar.gz'), {
    code: 'stale',
    standing: 'behind',
    lagMs: lag,
    allowedMs: VOLATILE_MAX,
    reason: `its copy of this index is ${lag / 60_000} min behind the master's; indexes allow ${VOLATILE_MAX / 60_000} min`
  }, 'a copy replaced longer ago than indexes allow: behind, by that much')
  t.match(verdict(STALE, 'ham', 'APKINDEX.tar.gz'), { code: 'stale', standing: 'behind', lagMs: NOW - (V1.lastModified as number), allowedMs: VOLATILE_MAX }, 'the copy\'s lag replaces the canary\'s')
  t.equal(verdict(STALE, 'muc', 'APKINDEX.tar.gz', { maxLag: 3 * HOUR }), null, 'an older copy within the bound')
  t.equal(verdict(DRAINING, 'fra', 'APKINDEX.tar.gz'), DRAINING, 'a drained mirror stays drained')
  t.equal(verdict(DOWN, 'fra', 'APKINDEX.tar.gz'), DOWN, 'a down one stays down')
})

t.test('fileVerdict: a mirror holding the file serves it whatever its canary lag', async (t) => {
  t.equal(verdict(STALE, 'ham', F.v2Only), null, 'stale by its canary: fresh for this file')
  t.equal(verdict(null, 'ham', F.v2Only), null)
  t.equal(verdict(stale(2 * HOUR), 'muc', F.all), null)
})

t.test('fileVerdict: a drained holder serves only when no better-placed mirror holds the file', async (t) => {
  const v = verdict(DRAINING, 'ham', F.v2Only)
  t.match(v, { code: 'draining', standing: 'drained', until: NOW + HOUR })
  t.match(v?.reason, /^drained until .*; it holds this file/)
})

t.test('fileVerdict: a holder down or not yet probed keeps its live verdict', async (t) => {
  t.equal(verdict(DOWN, 'ham', F.v2Only), DOWN)
  t.equal(verdict(UNPROBED, 'fra', F.all), UNPROBED)
})

t.test('fileVerdict: not known either way', async (t) => {
  t.match(verdict(null, 'bad', F.all), { code: 'unverified', standing: 'uncertain' }, 'a listed file, fresh by its canary: after the known holders')
  t.match(verdict(null, 'none', F.v0Only), { code: 'unverified', standing: 'uncertain' }, 'unchecked')
  t.equal(verdict(null, 'muc', F.all, { synced: { muc: NOW - HOUR } }), null, 'synced since, in both: still held')
  t.match(verdict(null, 'muc', F.v0Only, { synced: { muc: NOW - HOUR } }), { code: 'unverified', standing: 'uncertain' }, 'synced since, the newest lists it')
  t.equal(verdict(STALE, 'bad', F.all), STALE, 'a listed file on a stale mirror: stale')
  t.equal(verdict(DOWN, 'bad', F.all), DOWN)
  t.equal(verdict(null, 'fra', F.unlisted), null, 'a file no version lists: the live verdict unchanged')
  t.equal(verdict(STALE, 'fra', F.unlisted), STALE)
  t.equal(verdict(DRAINING, 'bad', F.unlisted), DRAINING)
})

// ---------- select() with fileGate ----------

const ids = (s: Selection): string[] => s.ranked.map((r) => r.site.id)
const codes = (s: Selection): Record<string, ExclusionCode> => Object.fromEntries(s.excluded.map((e) => [e.site.id, e.code]))

/** A live gate from a map of verdicts: mirrors not in it are fresh. */
const liveGate = (verdicts: Record<string, Verdict> = {}): Gate => (m) => verdicts[m.id] ?? null

function route (name: string, opts: { base?: Gate, coverage?: Coverage, synced?: Record<string, number>, client?: Client } = {}): Selection {
  const rest = DIR + name
  const gate = fileGate(opts.base ?? liveGate(), opts.coverage ?? COVERAGE, pathFacts(rest), rest, syncTimeOf(opts.synced), VOLATILE_MAX, NOW)
  return select(TABLE, opts.client ?? CLIENT, POLICY, gate)
}

t.test('select: a package only the oldest mirror lists goes there alone', async (t) => {
  const s = route(F.v2Only, { base: liveGate({ ham: STALE }) })
  t.same(ids(s), ['ham'], 'though its canary says it is 14 h behind')
  t.same(codes(s), { fra: 'missing-file', muc: 'missing-file' })
  t.equal(s.standing, 'fresh')
  const drained = route(F.v2Only, { base: liveGate({ ham: DRAINING }) })
  t.same(ids(drained), ['ham'], 'drained, it still serves the file no one else has')
  t.equal(drained.standing, 'drained')
})

t.test('select: a package every mirror lists: all rank, in the order they would without the gate', async (t) => {
  let same = 0
  const networks = Array.from({ length: 64 }, (_, i) => `10.${i}.${i * 3}.0/24`)
  const firsts = new Set<string>()
  for (const network of networks) {
    const client = { ...CLIENT, network }
    const routed = route(F.all, { client, base: liveGate({ ham: STALE }) })
    const today = select(TABLE, client, POLICY)
    if (routed.ranked.length === 3 && ids(routed).join() === ids(today).join() && routed.standing === 'fresh') same++
    firsts.add(ids(routed)[0] as string)
  }
  t.equal(same, networks.length, 'every client network: the three, in the rendezvous order of a gate-less selection')
  t.same([...firsts].sort(), ['fra', 'ham', 'muc'], 'each mirror comes first for some network')
  t.same(route(F.all).ranked.map((r) => r.score), select(TABLE, CLIENT, POLICY).ranked.map((r) => r.score), 'the same scores')
})

t.test('select: a file no mirror is known to hold', async (t) => {
  const onlyHolderSynced = route(F.v1Only, { synced: { muc: NOW - HOUR } })
  t.same(ids(onlyHolderSynced), ['muc'], 'its one holder synced since, and the newest dropped it: may be gone, the others lack it')
  t.equal(onlyHolderSynced.standing, 'uncertain')
  t.same(codes(onlyHolderSynced), { fra: 'missing-file', ham: 'missing-file' })

  const allSynced = route(F.v1Only, { synced: { fra: NOW - HOUR, muc: NOW - HOUR, ham: NOW - HOUR } })
  t.equal(allSynced.ranked.length, 3, 'every mirror synced since: none known either way, all serve')
  t.equal(allSynced.standing, 'uncertain')
  t.same(ids(allSynced), ids(select(TABLE, CLIENT, POLICY)), 'in the gate-less order')

  const dropped = route(F.v3Only)
  t.same(ids(dropped), [], 'dropped before every mirror\'s sync point: none ranks (the redirect falls back)')
  t.same(codes(dropped), { fra: 'missing-file', muc: 'missing-file', ham: 'missing-file' })
})

t.test('select: the index, from the mirrors whose copy is young enough', async (t) => {
  const s = route('APKINDEX.tar.gz', { base: liveGate({ fra: STALE }) })
  t.same(ids(s), ['fra'], 'the current copy, whatever the canary')
  t.same(codes(s), { muc: 'stale', ham: 'stale' })
  const fraDown = route('APKINDEX.tar.gz', { base: liveGate({ fra: DOWN }) })
  t.same(ids(fraDown), ['muc'], 'the current one down: the freshest copy behind, not one further behind')
  t.equal(fraDown.standing, 'behind')
  t.same(codes(fraDown), { fra: 'down', ham: 'stale' })
})

t.test('select: with nothing checked yet, the mirrors the live gate would rank', async (t) => {
  const base = liveGate({ ham: STALE })
  const today = select(TABLE, CLIENT, POLICY, base)
  t.same(ids(today).sort(), ['fra', 'muc'], 'the live gate alone: the stale one left out')
  for (const name of [F.all, F.v3Only, F.v0Only, F.unlisted, 'APKINDEX.tar.gz']) {
    const s = route(name, { base, coverage: NOTHING_CHECKED })
    t.same(ids(s), ids(today), `${name}: the same ranking`)
    t.same(codes(s), codes(today), `${name}: the same exclusions`)
  }
  t.same(route(F.unlisted, { base, coverage: NOTHING_CHECKED }), today, 'an unlisted file: the very same selection')
})

t.test('select: with nothing checked yet, the selection is the live gate\'s, standing included', async (t) => {
  const base = liveGate({ ham: STALE })
  const today = select(TABLE, CLIENT, POLICY, base)
  for (const name of [F.all, 'APKINDEX.tar.gz']) {
    const s = route(name, { base, coverage: NOTHING_CHECKED })
    t.equal(s.standing, today.standing, `${name}: standing`)
    t.equal(s.groupReason, today.groupReason, `${name}: group reason`)
  }
})
