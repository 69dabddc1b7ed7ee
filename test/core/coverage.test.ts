// src/core/coverage.ts: which files a mirror holds, from the master's index history, the HEAD
// of each mirror's copy and the table's declaration. One folder, three sync points of its index,
// and a mirror for every state a copy can be in.

import t from 'tap'
import {
  compileCoverage, declaredCarries, holding, holds, indexLagMs, mirrorIndex, pathFacts,
  type Coverage, type IndexCheck
} from '../../src/core/coverage.js'
import { addVersion, fileHash, identityKey, type Identity, type IndexHistory } from '../../src/core/file-set.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import type { CoverageRule, Mirror } from '../../src/core/types.js'

const DIR = 'v3.22/main/x86_64/'
const INDEX = `${DIR}APKINDEX.tar.gz`
const HOUR = 3_600_000
const T0 = Date.UTC(2025, 5, 1, 0)
const NOW = T0 + 20 * HOUR

// Three sync points, oldest first: what each lists. Names say where they are listed.
const OLD: Identity = { lastModified: T0, size: 700_100 }
const MID: Identity = { lastModified: T0 + 6 * HOUR, size: 700_200 }
const NEW: Identity = { lastModified: T0 + 12 * HOUR, size: 700_300 }
const F = {
  all: 'busybox-1.37.0-r0.apk', // every version
  oldOnly: 'curl-8.9.0-r0.apk', // the oldest only: the newest dropped it
  midOnly: 'curl-8.10.0-r0.apk',
  newOnly: 'curl-8.11.0-r0.apk', // the newest only
  oldMid: 'openssl-3.3.0-r0.apk', // dropped by the newest
  midNew: 'zlib-1.3.1-r1.apk', // added by the middle one
  unlisted: 'nginx-1.27.0-r0.apk' // no kept version
}
const LISTS: Array<[Identity, string[]]> = [
  [OLD, [F.all, F.oldOnly, F.oldMid]],
  [MID, [F.all, F.midOnly, F.oldMid, F.midNew]],
  [NEW, [F.all, F.newOnly, F.midNew]]
]

function history (): IndexHistory {
  let h: IndexHistory | null = null
  for (const [identity, names] of LISTS) {
    h = addVersion(h, INDEX, { ...identity, etag: null }, names.map((name) => ({ name, size: 4096 })), identity.lastModified as number)
  }
  return h as IndexHistory
}

/** Canary sync times at the moment each copy was checked. */
const SYNC = { old: T0 + HOUR, mid: T0 + 7 * HOUR, cur: T0 + 13 * HOUR }

const copy = (identity: Identity, syncTime: number | null): IndexCheck => ({ kind: 'copy', key: identityKey(identity), at: NOW - HOUR, syncTime })

const CHECKS: Record<string, IndexCheck> = {
  cur: copy(NEW, SYNC.cur),
  mid: copy(MID, SYNC.mid),
  old: copy(OLD, SYNC.old),
  odd: copy({ lastModified: T0 - 48 * HOUR, size: 699_000 }, T0 - 47 * HOUR), // not among the kept versions
  gone: { kind: 'missing', at: NOW - HOUR },
  bad: { kind: 'failing', at: NOW - HOUR, detail: 'timeout' },
  // Declared coverage, with and without a measure.
  'cur-excl': copy(NEW, SYNC.cur),
  'bad-excl': { kind: 'failing', at: NOW - HOUR, detail: 'HTTP 503' },
  'odd-excl': copy({ lastModified: T0 - 48 * HOUR, size: 699_000 }, null),
  'gone-incl': { kind: 'missing', at: NOW - HOUR }
}

function spec (id: string, over: Partial<MirrorSpec> = {}): MirrorSpec {
  return {
    id,
    name: id,
    tier: 'community',
    urls: [`http://${id}.example.org/alpine/`],
    country: 'DE',
    latitude: 50.11,
    longitude: 8.68,
    weight: 10,
    families: ['ipv4'],
    enabled: true,
    ...over
  }
}

const EXCLUDES_V322 = { exclude: ['v3.22/**'] }
const EDGE_ONLY = { include: ['edge/**'] }
const TABLE = buildTable([
  ...['cur', 'mid', 'old', 'odd', 'gone', 'bad', 'none'].map((id) => spec(id)),
  spec('cur-excl', { coverage: EXCLUDES_V322 }),
  spec('bad-excl', { coverage: EXCLUDES_V322 }),
  spec('odd-excl', { coverage: EXCLUDES_V322 }),
  spec('none-excl', { coverage: EXCLUDES_V322 }),
  spec('none-incl', { coverage: EDGE_ONLY }),
  spec('gone-incl', { coverage: { include: ['v3.22/**'] } })
])

const COVERAGE: Coverage = {
  indexes: new Map([[DIR, history()]]),
  checks: new Map([[DIR, new Map(Object.entries(CHECKS))]])
}

const mirror = (id: string): Mirror => TABLE.byId.get(id) as Mirror
const path = (name: string): string => DIR + name

/** A mirror's canary sync time when its copy was checked. */
function checkedSync (id: string): number | null {
  const check = CHECKS[id]
  return check?.kind === 'copy' ? check.syncTime : null
}

/** holds() for a file of the folder, the canary unchanged since the check unless `syncTime` says. */
function holdsFile (id: string, name: string, syncTime: number | null = checkedSync(id)): string {
  const rest = path(name)
  return holds(COVERAGE, mirror(id), pathFacts(rest), rest, syncTime)
}

// ---------- mirrorIndex ----------

t.test('mirrorIndex: each state a copy can be in', async (t) => {
  const state = (id: string) => mirrorIndex(COVERAGE, DIR, id)
  t.same(state('cur'), { state: 'current', version: 0, check: CHECKS.cur })
  t.same(state('mid'), { state: 'behind', version: 1, check: CHECKS.mid })
  t.same(state('old'), { state: 'behind', version: 2, check: CHECKS.old })
  t.same(state('odd'), { state: 'unknown', version: null, check: CHECKS.odd })
  t.same(state('gone'), { state: 'missing', version: null, check: CHECKS.gone })
  t.same(state('bad'), { state: 'failing', version: null, check: CHECKS.bad })
  t.same(state('none'), { state: 'unchecked', version: null, check: null })
  t.same(mirrorIndex(COVERAGE, 'v3.22/community/x86_64/', 'cur'), { state: 'unchecked', version: null, check: null }, 'another folder')
  const noHistory: Coverage = { indexes: new Map(), checks: COVERAGE.checks }
  t.same(mirrorIndex(noHistory, DIR, 'cur'), { state: 'unknown', version: null, check: CHECKS.cur }, 'a copy of an index the master no longer has')
})

// ---------- pathFacts ----------

t.test('pathFacts: the folder, the file and its hash', async (t) => {
  t.same(pathFacts(path(F.all)), { dir: DIR, name: F.all, hash: fileHash(F.all) })
  t.same(pathFacts(INDEX), { dir: DIR, name: 'APKINDEX.tar.gz', hash: fileHash('APKINDEX.tar.gz') })
  t.same(pathFacts('last-updated'), { dir: '', name: 'last-updated', hash: fileHash('last-updated') }, 'at the top')
  t.equal(pathFacts(DIR), null, 'a folder names no file')
  t.equal(pathFacts(''), null)
})

// ---------- holds ----------

t.test('holds: a current copy holds every file it lists', async (t) => {
  t.equal(holdsFile('cur', F.all), 'yes')
  t.equal(holdsFile('cur', F.newOnly), 'yes')
  t.equal(holdsFile('cur', F.midNew), 'yes')
  t.equal(holdsFile('cur', F.oldMid), 'no', 'dropped by the newest: gone from an up-to-date mirror')
})

t.test('holds: a copy behind lacks the newer files and still holds the old ones', async (t) => {
  t.equal(holdsFile('mid', F.newOnly), 'no', 'not synced that far')
  t.equal(holdsFile('old', F.midNew), 'no')
  t.equal(holdsFile('old', F.oldOnly), 'yes', 'an old file the newest dropped')
  t.equal(holdsFile('mid', F.oldMid), 'yes')
  t.equal(holdsFile('mid', F.midOnly), 'yes')
  t.equal(holdsFile('mid', F.oldOnly), 'no', 'dropped before its sync point')
  t.equal(holdsFile('old', F.all), 'yes')
})

t.test('holds: an index that answers 404 says no for its file and every file below it', async (t) => {
  for (const name of [F.all, F.newOnly, F.unlisted, 'APKINDEX.tar.gz']) t.equal(holdsFile('gone', name), 'no', name)
  t.equal(holdsFile('gone-incl', F.all), 'no', 'whatever the table declares')
})

t.test('holds: failing, unchecked, or a copy not kept: unknown, or no where the table excludes the path', async (t) => {
  for (const id of ['bad', 'none', 'odd']) {
    t.equal(holdsFile(id, F.all), 'unknown', `${id}: a listed file`)
    t.equal(holdsFile(id, F.unlisted), 'unknown', `${id}: an unlisted one`)
  }
  for (const id of ['bad-excl', 'none-excl', 'odd-excl']) {
    t.equal(holdsFile(id, F.all), 'no', `${id}: excluded`)
    const other = 'v3.21/main/x86_64/' + F.all
    t.equal(holds(COVERAGE, mirror(id), pathFacts(other), other, null), 'unknown', `${id}: outside the exclusion`)
  }
  t.equal(holdsFile('none-incl', F.all), 'no', 'include-only: outside it')
  const edge = 'edge/main/x86_64/' + F.all
  t.equal(holds(COVERAGE, mirror('none-incl'), pathFacts(edge), edge, null), 'unknown', 'include-only: inside it, nothing measured')
  t.equal(holds(COVERAGE, mirror('none'), pathFacts(edge), edge, null), 'unknown', 'no declaration, no history')
})

t.test('holds: what is measured wins over what the table declares', async (t) => {
  t.equal(holdsFile('cur-excl', F.all), 'yes', 'declared not to carry v3.22, its copy lists the file')
  t.equal(holdsFile('cur-excl', F.oldMid), 'no')
})

t.test('holds: a file no kept version lists is unknown, even on a current copy', async (t) => {
  t.equal(holdsFile('cur', F.unlisted), 'unknown')
  t.equal(holdsFile('old', F.unlisted), 'unknown')
})

t.test('holds: a mirror that synced since its check holds only what its copy and the newest both list', async (t) => {
  const later = SYNC.mid + HOUR
  t.equal(holdsFile('mid', F.all, later), 'yes', 'in both')
  t.equal(holdsFile('mid', F.midNew, later), 'yes', 'in both')
  t.equal(holdsFile('mid', F.oldMid, later), 'unknown', 'only in its old copy: may be gone now')
  t.equal(holdsFile('mid', F.midOnly, later), 'unknown')
  t.equal(holdsFile('mid', F.newOnly, later), 'unknown', 'only in the newest: may have arrived')
  // Not synced since: the copy says.
  t.equal(holdsFile('mid', F.oldMid, SYNC.mid), 'yes', 'same sync time')
  t.equal(holdsFile('mid', F.newOnly, SYNC.mid), 'no')
  t.equal(holdsFile('mid', F.oldMid, SYNC.mid - HOUR), 'yes', 'an older canary reading')
  t.equal(holdsFile('mid', F.newOnly, null), 'no', 'no canary now')
  const blind: Coverage = { indexes: COVERAGE.indexes, checks: new Map([[DIR, new Map([['mid', copy(MID, null)]])]]) }
  t.equal(holds(blind, mirror('mid'), pathFacts(path(F.oldMid)), path(F.oldMid), later), 'yes', 'no canary at the check')
  t.equal(holds(blind, mirror('mid'), pathFacts(path(F.newOnly)), path(F.newOnly), later), 'no')
})

t.test('holds: the index itself, on any kept copy', async (t) => {
  for (const id of ['cur', 'mid', 'old']) {
    t.equal(holds(COVERAGE, mirror(id), pathFacts(INDEX), INDEX, null), 'yes', id)
    t.equal(holds(COVERAGE, mirror(id), pathFacts(INDEX), INDEX, NOW), 'yes', `${id}, synced since`)
  }
  t.equal(holds(COVERAGE, mirror('odd'), pathFacts(INDEX), INDEX, null), 'unknown', 'a copy not kept')
  t.equal(holds(COVERAGE, mirror('none'), pathFacts(INDEX), INDEX, null), 'unknown', 'unchecked')
  t.equal(holds(COVERAGE, mirror('gone'), pathFacts(INDEX), INDEX, null), 'no')
})

t.test('holds: a request for a folder goes by the declaration alone', async (t) => {
  t.equal(holds(COVERAGE, mirror('cur'), pathFacts(DIR), DIR, null), 'unknown')
  t.equal(holds(COVERAGE, mirror('gone'), pathFacts(DIR), DIR, null), 'unknown', 'a 404 of the index is about files')
  t.equal(holds(COVERAGE, mirror('none-excl'), pathFacts(DIR), DIR, null), 'no')
})

// ---------- holding ----------

t.test('holding: the answer with what it rests on', async (t) => {
  const of = (id: string, rest: string, syncTime: number | null = null) => holding(COVERAGE, mirror(id), pathFacts(rest), rest, syncTime)
  t.same(of('cur', path(F.all)), {
    holds: 'yes', basis: 'measured', isIndex: false, listed: true, inNewest: true, index: { state: 'current', version: 0, check: CHECKS.cur }
  })
  t.match(of('mid', path(F.newOnly)), { holds: 'no', basis: 'measured', listed: true, inNewest: true, index: { state: 'behind', version: 1 } })
  t.match(of('old', path(F.oldOnly)), { holds: 'yes', basis: 'measured', listed: true, inNewest: false, index: { state: 'behind', version: 2 } })
  t.match(of('cur', path(F.unlisted)), { holds: 'unknown', basis: 'measured', listed: false, inNewest: false })
  t.match(of('gone', path(F.all)), { holds: 'no', basis: 'measured', index: { state: 'missing' } })
  t.match(of('bad', path(F.all)), { holds: 'unknown', basis: 'none', listed: true, index: { state: 'failing' } })
  t.match(of('none', path(F.all)), { holds: 'unknown', basis: 'none', listed: true, inNewest: true, index: { state: 'unchecked' } })
  t.match(of('bad-excl', path(F.all)), { holds: 'no', basis: 'declared', index: { state: 'failing' } })
  t.match(of('odd-excl', path(F.all)), { holds: 'no', basis: 'declared', index: { state: 'unknown' } })
  t.match(of('none-incl', path(F.all)), { holds: 'no', basis: 'declared', index: { state: 'unchecked' } })
  t.match(of('mid', INDEX), { holds: 'yes', basis: 'measured', isIndex: true, listed: true, inNewest: true })
  t.match(of('mid', path(F.oldMid), SYNC.mid + 1), { holds: 'unknown', basis: 'measured', listed: true, inNewest: false })
  // No history for the folder: declared or nothing, and no index to speak of.
  const edge = 'edge/main/x86_64/' + F.all
  t.same(of('none-excl', edge), { holds: 'unknown', basis: 'none', isIndex: false, listed: false, inNewest: false, index: null })
  t.same(of('none-incl', 'v3.21/main/x86_64/' + F.all), { holds: 'no', basis: 'declared', isIndex: false, listed: false, inNewest: false, index: null })
  t.same(of('none-incl', DIR), { holds: 'no', basis: 'declared', isIndex: false, listed: false, inNewest: false, index: null }, 'a folder')
})

// ---------- indexLagMs ----------

t.test('indexLagMs: since the master replaced the copy a mirror has', async (t) => {
  const lag = (id: string) => indexLagMs(COVERAGE, DIR, mirrorIndex(COVERAGE, DIR, id), NOW)
  t.equal(lag('cur'), 0)
  t.equal(lag('mid'), NOW - (NEW.lastModified as number), 'replaced when the newest was published')
  t.equal(lag('old'), NOW - (MID.lastModified as number), 'replaced when the middle one was published')
  for (const id of ['odd', 'gone', 'bad', 'none']) t.equal(lag(id), null, id)
  t.equal(indexLagMs(COVERAGE, DIR, mirrorIndex(COVERAGE, DIR, 'mid'), T0), 0, 'never negative')

  // No Last-Modified on the replacing version: when this process first saw it.
  let h: IndexHistory | null = null
  h = addVersion(h, INDEX, { lastModified: null, size: 1, etag: null }, [{ name: F.all, size: 1 }], T0 + HOUR)
  h = addVersion(h, INDEX, { lastModified: null, size: 2, etag: null }, [{ name: F.all, size: 1 }], T0 + 3 * HOUR)
  const bare: Coverage = { indexes: new Map([[DIR, h]]), checks: new Map([[DIR, new Map([['mid', copy({ lastModified: null, size: 1 }, null)]])]]) }
  t.equal(indexLagMs(bare, DIR, mirrorIndex(bare, DIR, 'mid'), NOW), NOW - (T0 + 3 * HOUR))
})

// ---------- declared coverage ----------

t.test('compileCoverage: nothing declared compiles to null', async (t) => {
  t.equal(compileCoverage(null), null)
  t.equal(compileCoverage({ include: [], exclude: [] }), null)
  t.equal(mirror('none').coverage, null, 'buildMirror without coverage')
  t.not(mirror('none-excl').coverage, null, 'buildMirror with coverage')
})

t.test('declaredCarries: ** spans folders, * stays within one', async (t) => {
  const rule = (include: string[], exclude: string[] = []): CoverageRule => compileCoverage({ include, exclude }) as CoverageRule
  const carries = (r: CoverageRule, rest: string): boolean => declaredCarries(r, rest)

  const branches = rule(['v3.2*/**'])
  t.ok(carries(branches, 'v3.22/main/x86_64/' + F.all))
  t.ok(carries(branches, 'v3.20/community/aarch64/APKINDEX.tar.gz'))
  t.notOk(carries(branches, 'v3.19/main/x86_64/' + F.all))
  t.notOk(carries(branches, 'edge/main/x86_64/' + F.all))
  t.ok(carries(rule(['v3.2*/main/**']), 'v3.22/main/x86_64/a.apk'))
  t.notOk(carries(rule(['v3.2*/main/**']), 'v3.2x/y/main/x86_64/a.apk'), '* does not cross a folder')

  const oneLevel = rule(['*/main/x86_64/*'])
  t.ok(carries(oneLevel, 'v3.22/main/x86_64/' + F.all))
  t.notOk(carries(oneLevel, 'v3.22/main/x86_64/sub/' + F.all), '* is one name')
  t.notOk(carries(oneLevel, 'x/v3.22/main/x86_64/' + F.all))

  const indexes = rule(['**/APKINDEX.tar.gz'])
  t.ok(carries(indexes, 'APKINDEX.tar.gz'), '**/ also matches nothing')
  t.ok(carries(indexes, INDEX))
  t.notOk(carries(indexes, path(F.all)))

  const noArches = rule([], ['**/riscv64/**', '**/loongarch64/**'])
  t.ok(carries(noArches, INDEX), 'exclude-only: everything else')
  t.notOk(carries(noArches, 'edge/main/riscv64/APKINDEX.tar.gz'))
  t.notOk(carries(noArches, 'v3.21/community/loongarch64/' + F.all))

  const both = rule(['v3.22/**', 'edge/**'], ['**/testing/**'])
  t.ok(carries(both, 'edge/main/x86_64/' + F.all))
  t.notOk(carries(both, 'edge/testing/x86_64/' + F.all), 'exclude wins over include')
  t.notOk(carries(both, 'v3.21/main/x86_64/' + F.all))

  const literal = rule(['v3.22/main/x86_64/libstdc++-14.2.0-r6.apk'])
  t.ok(carries(literal, 'v3.22/main/x86_64/libstdc++-14.2.0-r6.apk'), 'regex characters are literal')
  t.notOk(carries(literal, 'v3.22/main/x86_64/libstdcc-14.2.0-r6.apk'))
  t.notOk(carries(literal, 'v3.22/main/x86_64/libstdc++-14.2.0-r6Xapk'), '. is a dot')
})
