// src/indexes/copy-checker.ts against fake mirrors on loopback (test/helpers/fake-mirror.ts)
// holding copies of a fake master's index files, each mirror behind a recording proxy
// (test/helpers/recording-server.ts): what each mirror is found to hold is read back from the
// real fleet's coverage, and the checker's politeness is measured from the servers' side:
// methods, User-Agent, requests in flight, gaps between requests, requests per second.

import t, { type Test } from 'tap'
import { createHook } from 'node:async_hooks'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { configFromDocument, type Config } from '../../src/config/schema.js'
import { tableFromDocument } from '../../src/config/table-file.js'
import { mirrorIndex, type IndexCheck } from '../../src/core/coverage.js'
import type { IndexHistory } from '../../src/core/file-set.js'
import { Fleet } from '../../src/live/fleet.js'
import { checkGapMs, checksPerHour, CopyChecker } from '../../src/indexes/copy-checker.js'
import { MasterIndexes } from '../../src/indexes/master-indexes.js'
import { buildApkIndex, buildLatestReleases, type PackageSpec } from '../helpers/apkindex.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { startRecordingProxy, type Recorded, type RecordingServer } from '../helpers/recording-server.js'

/** Whole seconds: Last-Modified carries no more. */
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0)
const MINUTE = 60_000
const HOUR = 3_600_000

const pkgs = (prefix: string, n: number): PackageSpec[] => Array.from({ length: n }, (_, i) => ({ name: `${prefix}-p${i}`, version: `1.${i}-r0`, size: 100 + i }))

/** The master's indexes: the one that changed has two versions, OLD (first seen) then NEW. */
const CHANGED = 'edge/main/x86_64/APKINDEX.tar.gz'
const OLD = { body: buildApkIndex(pkgs('old', 3)), mtime: T0 - 10 * MINUTE }
const NEW = { body: buildApkIndex(pkgs('old', 4)), mtime: T0 }
const STEADY: Record<string, { body: Buffer | string, mtime: number }> = {
  'edge/community/x86_64/APKINDEX.tar.gz': { body: buildApkIndex(pkgs('ec', 5)), mtime: T0 - 2 * MINUTE },
  'edge/releases/x86_64/latest-releases.yaml': { body: buildLatestReleases([{ file: 'alpine-minirootfs-20260110-x86_64.tar.gz', size: 3_000_000, sha256: 'ab'.repeat(32) }]), mtime: T0 - 3 * MINUTE },
  'v3.21/community/x86_64/APKINDEX.tar.gz': { body: buildApkIndex(pkgs('vc', 6)), mtime: T0 - 4 * MINUTE },
  'v3.21/main/aarch64/APKINDEX.tar.gz': { body: buildApkIndex(pkgs('va', 2)), mtime: T0 - 5 * MINUTE },
  'v3.21/main/x86_64/APKINDEX.tar.gz': { body: buildApkIndex(pkgs('vx', 3)), mtime: T0 - 6 * MINUTE }
}
/** The order every mirror's indexes are checked in: edge first, then paths in order. */
const ORDER = [
  'edge/community/x86_64/APKINDEX.tar.gz',
  'edge/main/x86_64/APKINDEX.tar.gz',
  'edge/releases/x86_64/latest-releases.yaml',
  'v3.21/community/x86_64/APKINDEX.tar.gz',
  'v3.21/main/aarch64/APKINDEX.tar.gz',
  'v3.21/main/x86_64/APKINDEX.tar.gz'
]
const dirOf = (p: string): string => p.slice(0, p.lastIndexOf('/') + 1)
const DIRS = ORDER.map(dirOf)
const SYNC = T0 + MINUTE

/** Each mirror's copies: path → body and mtime; a path left out is not on the mirror. */
type Copies = Record<string, { body: Buffer | string, mtime: number }>
/** Every index as the master serves it now. */
const CURRENT: Copies = { ...STEADY, [CHANGED]: NEW }

interface MirrorDef { copies: Copies, mode?: FakeMirror['mode'], enabled?: boolean, delayMs?: number }

interface Rig {
  readonly fleet: Fleet
  readonly checker: CopyChecker
  readonly config: Config
  readonly fakes: Record<string, FakeMirror>
  readonly proxies: Record<string, RecordingServer>
  /** Every check the checker reported, in order. */
  readonly checks: Array<{ id: string, dir: string, check: IndexCheck }>
  /** A probe result for a mirror: its canary read `syncTime`. */
  probe (id: string, syncTime: number): void
}

/**
 * A master whose history of CHANGED has two versions, fake mirrors (each behind a recording
 * proxy, which is the URL in the table), a fleet over them, and a checker (not started).
 */
async function rig (t: Test, mirrors: Record<string, MirrorDef>, indexes: Record<string, unknown>, onCheck?: (id: string, dir: string, check: IndexCheck) => void): Promise<Rig> {
  const master = await startFakeMirror({ syncTime: SYNC })
  const put = (fake: FakeMirror, copies: Copies): void => {
    for (const [path, f] of Object.entries(copies)) {
      fake.files.set(path, f.body)
      fake.mtimes.set(path, f.mtime)
    }
  }
  put(master, { ...STEADY, [CHANGED]: OLD })
  const fakes: Record<string, FakeMirror> = {}
  const proxies: Record<string, RecordingServer> = {}
  for (const [id, def] of Object.entries(mirrors)) {
    const fake = await startFakeMirror({ syncTime: SYNC })
    put(fake, def.copies)
    fake.mode = def.mode ?? 'ok'
    fakes[id] = fake
    proxies[id] = await startRecordingProxy(fake, { delayMs: def.delayMs ?? 0 })
  }
  const config = configFromDocument({ indexes: { discover: false, paths: ORDER, ...indexes } }, 'test', process.cwd())
  const table = tableFromDocument({
    mirrors: Object.entries(mirrors).map(([id, def]) => ({
      id, name: id, tier: 'community', urls: [(proxies[id] as RecordingServer).base], country: 'DE', latitude: 50, longitude: 8, weight: 1, families: ['ipv4'], enabled: def.enabled ?? true
    }))
  }, 'test')
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness })
  // The master's history: OLD first, then NEW.
  const indexer = new MasterIndexes(fleet, master.base, config.indexes, config.probes.timeoutMs)
  await indexer.discover()
  await indexer.refresh()
  put(master, { [CHANGED]: NEW })
  await indexer.refresh()
  const checks: Rig['checks'] = []
  const checker = new CopyChecker(fleet, config.indexes, config.probes.timeoutMs, {
    random: () => 0.5,
    onCheck: (id, dir, check) => {
      checks.push({ id, dir, check })
      onCheck?.(id, dir, check)
    }
  })
  t.teardown(async () => {
    await checker.stop()
    await indexer.stop()
    fleet.close()
    await Promise.all([...Object.values(proxies), ...Object.values(fakes), master].map((s) => s.close()))
  })
  const probe = (id: string, syncTime: number): void => { fleet.record(id, 'http', { ok: true, at: Date.now(), latencyMs: 1, syncTime, failure: null, message: null }) }
  return { fleet, checker, config, fakes, proxies, checks, probe }
}

/**
 * The checker's timers alive now: every Timeout whose callback runs a loop's tick, from its
 * creation until it fires or is cleared (async_hooks only watches; nothing is replaced).
 */
function watchTimers (t: Test): { readonly live: number, readonly seen: number } {
  const live = new Set<number>()
  let seen = 0
  const hook = createHook({
    init (id, type, _trigger, resource) {
      if (type !== 'Timeout' || !String((resource as { _onTimeout?: unknown })._onTimeout).includes('tick')) return
      live.add(id)
      seen++
    },
    destroy (id) { live.delete(id) }
  }).enable()
  t.teardown(() => { hook.disable() })
  return { get live () { return live.size }, get seen () { return seen } }
}

/** Resolves once `done()` holds, polled; fails the test after `ms` instead of hanging it. */
async function until (what: string, done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!done()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`)
    await sleep(10)
  }
}

const pathOf = (r: Recorded): string => r.path.replace(/^\/alpine\//, '')
const gapsOf = (rs: readonly Recorded[]): number[] => rs.slice(1).map((r, i) => r.start - (rs[i] as Recorded).start)
const isPolite = (r: Recorded): boolean => r.method === 'HEAD' && typeof r.headers['user-agent'] === 'string' && r.headers['user-agent'].startsWith('mirrorgate')

t.test('checkGapMs and checksPerHour: the pace one mirror sees from one instance', async (t) => {
  const config = configFromDocument({}, 'test', process.cwd()).indexes
  t.equal(config.cycleMs, HOUR, 'default cycle: an hour')
  t.equal(config.minGapMs, 2000, 'default minimum gap: 2 s')
  const c = { cycleMs: HOUR, minGapMs: 2000 }
  t.equal(checkGapMs(c, 300), 12_000, '300 indexes in an hour: one every 12 s')
  t.equal(checksPerHour(c, 300), 300, '300 indexes, cycle 3600 s, minGap 2 s: 300 an hour')
  t.equal(checkGapMs(c, 3600), 2000, '3600 indexes: the minimum gap wins')
  t.equal(checksPerHour(c, 3600), 1800, 'so at most 1800 an hour, a cycle of 2 h')
  t.equal(checksPerHour(c, 10_000), 1800, 'however many indexes')
  t.equal(checksPerHour(c, 0), 0, 'nothing followed, nothing checked')
  t.equal(checkGapMs(c, 0), HOUR, 'and the loop idles a cycle')
  t.equal(checkGapMs({ cycleMs: 1000, minGapMs: 0 }, 6), 1000 / 6)
  t.equal(checksPerHour({ cycleMs: 1000, minGapMs: 0 }, 6), 21_600)
  // Backed off while failing: doubling, up to a whole cycle (or the gap, if longer).
  t.strictSame([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 30].map((f) => checkGapMs(c, 300, f)),
    [12_000, 24_000, 48_000, 96_000, 192_000, 384_000, 768_000, 1_536_000, 3_072_000, HOUR, HOUR])
  t.equal(checkGapMs({ cycleMs: 1000, minGapMs: 5000 }, 6, 3), 5000, 'a gap longer than the cycle is not backed off past itself')
})

t.test('checkAll: current, behind, missing, failing, unknown and unchecked copies', async (t) => {
  const mirrors: Record<string, MirrorDef> = {
    cur: { copies: CURRENT },
    old: { copies: { ...CURRENT, [CHANGED]: OLD } },
    part: { copies: Object.fromEntries(Object.entries(CURRENT).filter(([p]) => !p.startsWith('edge/'))) },
    bad: { copies: CURRENT, mode: 'status-500' },
    // A copy the master never served, newer than its newest.
    odd: { copies: { ...CURRENT, [CHANGED]: { body: buildApkIndex(pkgs('odd', 7)), mtime: T0 + MINUTE } } },
    off: { copies: CURRENT, enabled: false }
  }
  const { fleet, checker, proxies, probe } = await rig(t, mirrors, { cycleSeconds: 3600, minGapSeconds: 2 })
  const history = fleet.coverage.indexes.get(dirOf(CHANGED)) as IndexHistory
  t.equal(history.versions.length, 2, 'the master\'s history of the changed index: two versions')
  for (const id of Object.keys(mirrors)) probe(id, SYNC)
  checker.start()
  await checker.checkAll()
  const state = (id: string, path: string): string => mirrorIndex(fleet.coverage, dirOf(path), id).state
  for (const path of ORDER) {
    t.equal(state('cur', path), 'current', `cur ${path}`)
    t.equal(state('old', path), path === CHANGED ? 'behind' : 'current', `old ${path}`)
    t.equal(state('part', path), path.startsWith('edge/') ? 'missing' : 'current', `part ${path}`)
    t.equal(state('bad', path), 'failing', `bad ${path}`)
    t.equal(state('odd', path), path === CHANGED ? 'unknown' : 'current', `odd ${path}`)
    t.equal(state('off', path), 'unchecked', `off ${path}`)
  }
  t.equal(mirrorIndex(fleet.coverage, dirOf(CHANGED), 'old').version, 1, 'behind by one version')
  t.match(mirrorIndex(fleet.coverage, dirOf(CHANGED), 'bad').check, { kind: 'failing', detail: 'HTTP 500' })
  t.match(mirrorIndex(fleet.coverage, dirOf(CHANGED), 'cur').check, { kind: 'copy', syncTime: SYNC }, 'a copy carries the mirror\'s sync time then')
  t.equal(proxies.off?.requests.length, 0, 'a disabled mirror is not asked')
  for (const id of ['cur', 'old', 'part', 'bad', 'odd']) {
    const rs = proxies[id]?.requests ?? []
    t.strictSame(rs.map(pathOf), ORDER, `${id}: each index once, in order`)
    t.ok(rs.every(isPolite), `${id}: HEADs with the identifying User-Agent`)
    t.equal(proxies[id]?.maxInFlight, 1, `${id}: one at a time`)
  }

  // Again: conditional, answered 304, the same states.
  const mark = proxies.cur?.requests.length as number
  await checker.checkAll('cur')
  const again = proxies.cur?.requests.slice(mark) ?? []
  t.equal(again.length, ORDER.length, 'checkAll(id): that mirror\'s indexes')
  t.ok(again.every((r) => r.status === 304 && typeof r.headers['if-modified-since'] === 'string'), 'If-Modified-Since, answered 304')
  t.ok(ORDER.every((p) => state('cur', p) === 'current'), 'a 304 is the copy seen before: still current')
  t.equal(proxies.old?.requests.length, ORDER.length, 'and no other mirror was asked')
})

t.test('checkAll: a mirror that syncs is current after its next check', async (t) => {
  const { fleet, checker, fakes, proxies } = await rig(t, { old: { copies: { ...CURRENT, [CHANGED]: OLD } } }, { cycleSeconds: 3600, minGapSeconds: 2 })
  checker.start()
  await checker.checkAll()
  t.equal(mirrorIndex(fleet.coverage, dirOf(CHANGED), 'old').state, 'behind')
  fakes.old?.files.set(CHANGED, NEW.body)
  fakes.old?.mtimes.set(CHANGED, NEW.mtime)
  await checker.checkAll('old')
  t.equal(mirrorIndex(fleet.coverage, dirOf(CHANGED), 'old').state, 'current')
  const last = (proxies.old?.requests ?? []).filter((r) => pathOf(r) === CHANGED).at(-1)
  t.equal(last?.headers['if-modified-since'], new Date(OLD.mtime).toUTCString(), 'asked with the old copy\'s time')
  t.equal(last?.status, 200, 'answered with the new copy')
})

t.test('politeness, measured: one at a time, the configured rate, HEAD only, failing mirrors backed off, nothing after stop()', async (t) => {
  const { checker, config, proxies, checks } = await rig(t, {
    a: { copies: CURRENT },
    b: { copies: CURRENT },
    c: { copies: CURRENT, mode: 'status-500' }
  }, { cycleSeconds: 1, minGapSeconds: 0 })
  const timers = watchTimers(t)
  const began = performance.now()
  checker.start()
  await sleep(3000)
  // A loop in the middle of a check has none armed: at most one each, never more.
  t.ok(timers.live >= 1 && timers.live <= 3, `at most one timer per mirror while it runs (${timers.live})`)
  await checker.stop()
  const ran = performance.now() - began
  t.ok(performance.now() - began - ran < 50, 'stop() resolves at once')
  const counts = Object.fromEntries(Object.entries(proxies).map(([id, p]) => [id, p.requests.length]))
  const perHour = checksPerHour(config.indexes, ORDER.length)
  const expected = perHour * ran / HOUR
  t.comment(`ran ${Math.round(ran)} ms; expected ${expected.toFixed(1)} checks per healthy mirror (${perHour}/h); seen ${JSON.stringify(counts)}`)
  t.equal(perHour, 21_600, '6 indexes in a 1 s cycle: 6 a second')

  for (const [id, p] of Object.entries(proxies)) {
    t.equal(p.maxInFlight, 1, `${id}: never two requests at once`)
    t.ok(p.requests.every(isPolite), `${id}: every request a HEAD with the identifying User-Agent`)
  }
  for (const id of ['a', 'b']) {
    const rs = proxies[id]?.requests ?? []
    t.ok(rs.length <= expected + 1, `${id}: ${rs.length} checks, at most ${(expected + 1).toFixed(1)}`)
    t.ok(rs.length >= 0.6 * expected, `${id}: ${rs.length} checks, at least ${(0.6 * expected).toFixed(1)}`)
    t.ok(rs.every((r, i) => pathOf(r) === ORDER[i % ORDER.length]), `${id}: round after round, in order`)
    t.ok(Math.min(...gapsOf(rs)) >= checkGapMs(config.indexes, ORDER.length) - 10, `${id}: gaps at least cycle / indexes`)
  }

  // The failing mirror: backed off, doubling, to a whole cycle.
  const failing = proxies.c?.requests ?? []
  t.ok(failing.length >= 2, `c: still checked (${failing.length})`)
  t.ok(failing.length * 2 < (proxies.a?.requests.length as number), `c: ${failing.length} checks, under half of a healthy mirror's`)
  gapsOf(failing).forEach((gap, i) => {
    t.ok(gap >= checkGapMs(config.indexes, ORDER.length, i + 1) - 10, `c: gap ${i + 1} (${Math.round(gap)} ms) backed off to at least ${Math.round(checkGapMs(config.indexes, ORDER.length, i + 1))} ms`)
  })
  t.ok(checks.filter((c) => c.id === 'c').every((c) => c.check.kind === 'failing'), 'c: recorded failing')

  // Stopped: no timer left to fire.
  await sleep(20) // destroy hooks are emitted just after
  t.ok(timers.seen > 3, `the checker's timers were watched (${timers.seen} armed in all)`)
  t.equal(timers.live, 0, 'stop() leaves no timer')
  await sleep(500)
  t.strictSame(Object.fromEntries(Object.entries(proxies).map(([id, p]) => [id, p.requests.length])), counts, 'no request after stop()')
})

t.test('politeness, measured: never two checks of a mirror closer than minGapSeconds', async (t) => {
  const { checker, config, proxies } = await rig(t, { a: { copies: CURRENT } }, { cycleSeconds: 1, minGapSeconds: 0.2 })
  t.equal(checkGapMs(config.indexes, ORDER.length), 200, 'the minimum gap wins over cycle / indexes (167 ms)')
  const began = performance.now()
  checker.start()
  await sleep(1600)
  await checker.stop()
  const ran = performance.now() - began
  const rs = proxies.a?.requests ?? []
  const gaps = gapsOf(rs)
  t.comment(`ran ${Math.round(ran)} ms; ${rs.length} checks; gaps ${gaps.map(Math.round).join(', ')} ms`)
  t.ok(rs.length >= 4, `checked (${rs.length})`)
  t.ok(rs.length <= ran / 200 + 1, `at most one per 200 ms (${rs.length})`)
  t.ok(Math.min(...gaps) >= 190, `every gap at least 200 ms less slack (shortest ${Math.round(Math.min(...gaps))} ms)`)
})

t.test('a new sync on a mirror\'s canary starts its cycle again from the first index', async (t) => {
  let restart: ((id: string) => void) | null = null
  const { checker, checks, probe } = await rig(t, { a: { copies: CURRENT }, b: { copies: CURRENT } }, { cycleSeconds: 1, minGapSeconds: 0 }, (id) => {
    const n = checks.filter((c) => c.id === id).length
    // After a's third check, a new sync; after its fifth, the same sync time again (no change).
    if (id === 'a' && (n === 3 || n === 5)) restart?.(id)
  })
  probe('a', SYNC)
  probe('b', SYNC)
  restart = (id) => probe(id, SYNC + MINUTE)
  checker.start()
  await until('8 checks of each mirror', () => ['a', 'b'].every((id) => checks.filter((c) => c.id === id).length >= 8))
  await checker.stop()
  const dirs = (id: string): string[] => checks.filter((c) => c.id === id).slice(0, 8).map((c) => c.dir)
  t.strictSame(dirs('a'), [0, 1, 2, 0, 1, 2, 3, 4].map((i) => DIRS[i]), 'a: back to the first index after its canary moved, once')
  t.strictSame(dirs('b'), [0, 1, 2, 3, 4, 5, 0, 1].map((i) => DIRS[i]), 'b: its own cycle, undisturbed')
  const after = checks.filter((c) => c.id === 'a').slice(3, 8)
  t.ok(after.every((c) => c.check.kind === 'copy' && c.check.syncTime === SYNC + MINUTE), 'the checks after it carry the new sync time')
})

t.test('checkAll while the timed loop runs: still one request at a time per mirror; nothing after stop()', async (t) => {
  const { checker, proxies, checks } = await rig(t, { a: { copies: CURRENT, delayMs: 40 } }, { cycleSeconds: 1, minGapSeconds: 0 })
  const p = proxies.a as RecordingServer
  checker.start()
  await checker.checkAll()
  await checker.checkAll()
  t.ok(checks.length > 2 * ORDER.length, `the loop checked too, meanwhile (${checks.length} checks)`)
  t.equal(p.maxInFlight, 1, 'never two requests at once')
  t.notOk(p.requests.some((r) => r.concurrent > 1), 'no request arrived while another was in flight')

  // Stopped in the middle of a checkAll: it ends there.
  const all = checker.checkAll()
  await until('a request in flight', () => p.inFlight > 0)
  await checker.stop()
  const stoppedAt = p.requests.length
  await all
  await sleep(300)
  t.equal(p.requests.length, stoppedAt, 'no request after stop()')
})
