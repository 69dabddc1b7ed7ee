// src/probes/prober.ts: scheduling probes against fake mirrors on loopback, with the real
// Fleet holding the health. Waits are on counts of results or requests, never on the clock,
// except where a test must show that nothing more happens.

import t, { type Test } from 'tap'
import type { ProbeConfig } from '../../src/config/schema.js'
import { UNKNOWN, type Health, type ProbeResult } from '../../src/core/health.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { Fleet, type FleetPolicy } from '../../src/live/fleet.js'
import { Prober, type ProbeTarget } from '../../src/probes/prober.js'
import { probeDelay, probesPerMinute, worstDetectionMs } from '../../src/probes/schedule.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'

const POLICY: FleetPolicy = { enabled: true, master: null, failuresToDown: 2, passesToUp: 2, volatileMaxLagMs: 3_600_000, versionedMaxLagMs: 86_400_000, failOpenBelow: 0 }
const CONFIG: ProbeConfig = {
  enabled: true,
  canary: 'last-updated',
  master: null,
  intervalMs: 60_000, // timers stay out of the way unless a test shortens this
  t1IntervalMs: 60_000,
  retryMs: 60_000, // as the interval, unless a test is about confirming failures
  timeoutMs: 5000, // generous: a loaded machine must not turn passes into failures
  jitter: 0,
  concurrency: 8,
  failuresToDown: 2,
  passesToUp: 2,
  maxBackoffMs: 10_000,
  readyTimeoutMs: 0,
  stateFile: null
}
const SYNC = Date.UTC(2026, 5, 1, 12, 0, 0)
const HOUR = 3_600_000

interface Seen { readonly target: ProbeTarget, readonly result: ProbeResult, readonly health: Health }

interface Rig {
  readonly fakes: Record<string, FakeMirror>
  readonly fleet: Fleet
  readonly prober: Prober
  readonly results: Seen[]
  /** Resolves once `done()` holds, checked after every result; fails the test if it never does. */
  until (what: string, done: () => boolean): Promise<void>
  of (id: string | null): Seen[]
}

function spec (id: string, urls: string[], enabled = true): MirrorSpec {
  return { id, name: id, tier: 'community', urls, country: 'DE', latitude: 50.11, longitude: 8.68, weight: 10, families: ['ipv4'], enabled }
}

/**
 * Fake mirrors by name, a Fleet over a table of them (the mirror id is the fake's name;
 * names in `disabled` are disabled; 'master' becomes the configured master), and a Prober.
 */
async function rig (t: Test, names: string[], opts: { config?: Partial<ProbeConfig>, disabled?: string[], syncTimes?: Record<string, number>, onResult?: () => void } = {}): Promise<Rig> {
  const fakes: Record<string, FakeMirror> = {}
  for (const name of names) fakes[name] = await startFakeMirror({ syncTime: opts.syncTimes?.[name] ?? SYNC })
  const table = buildTable(names.filter((n) => n !== 'master').map((n) => spec(n, [fakes[n]!.base], !(opts.disabled ?? []).includes(n))))
  const fleet = new Fleet(table, POLICY)
  const results: Seen[] = []
  const waiters = new Set<() => void>()
  // A shortened interval applies to every tier and to retries unless the test sets them apart.
  const every = opts.config?.intervalMs
  const base = every === undefined ? CONFIG : { ...CONFIG, t1IntervalMs: every, retryMs: every }
  const prober = new Prober(fleet, { ...base, master: fakes.master?.base ?? null, ...opts.config }, {
    random: () => 0.5,
    onResult (target, result, health) {
      results.push({ target, result, health })
      for (const check of waiters) check()
      opts.onResult?.()
    }
  })
  t.teardown(async () => {
    await prober.stop()
    await Promise.all(Object.values(fakes).map((f) => f.close()))
  })
  const until = (what: string, done: () => boolean): Promise<void> => new Promise((resolve, reject) => {
    // A bound so that a broken scheduler fails the test instead of hanging it.
    const guard = setTimeout(() => { waiters.delete(check); reject(new Error(`gave up waiting for ${what}`)) }, 10_000)
    const check = (): void => {
      if (!done()) return
      clearTimeout(guard)
      waiters.delete(check)
      resolve()
    }
    waiters.add(check)
    check()
  })
  return { fakes, fleet, prober, results, until, of: (id) => results.filter((s) => s.target.id === id) }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('start: every enabled mirror once per scheme, and the master; firstRound waits for all', async (t) => {
  const { fakes, fleet, prober, results } = await rig(t, ['a', 'b', 'off', 'master'], { disabled: ['off'] })
  // b also lists https on its plain-http port: a second target, which fails its handshake.
  fleet.setTable(buildTable([spec('a', [fakes.a!.base]), spec('b', [fakes.b!.base, fakes.b!.base.replace('http:', 'https:')]), spec('off', [fakes.off!.base], false)]))
  prober.start()
  prober.start() // only the first call counts
  await prober.firstRound
  t.same(results.map((s) => `${s.target.id} ${s.target.scheme}`).sort(), ['a http', 'b http', 'b https', 'null http'])
  t.same(results.find((s) => s.target.id === 'a')?.target, { kind: 'mirror', id: 'a', scheme: 'http', family: null, url: `${fakes.a!.base}last-updated`, intervalMs: 60_000 })
  t.equal(fakes.off!.requests.length, 0, 'a disabled mirror is not probed')
  t.equal(fakes.a!.requests.length, 1)
  t.equal(fakes.master!.requests.length, 1)
  t.equal(fleet.health('a', 'http').state, 'up', 'a first success settles an unknown mirror')
  t.equal(fleet.health('b', 'https').state, 'unknown', 'one failure is not enough to go down')
  t.equal(fleet.health('b', 'https').lastError?.reason, 'tls')
  t.equal(fleet.master.state, 'up')
  t.equal(fleet.master.syncTime, SYNC, 'recorded as the master')
})

t.test('probes disabled: start() probes nothing and firstRound resolves', async (t) => {
  const { fakes, prober } = await rig(t, ['a'], { config: { enabled: false } })
  prober.start()
  await prober.firstRound
  t.equal(fakes.a!.requests.length, 0)
})

t.test('hysteresis: down after failuresToDown failures, up after passesToUp passes', async (t) => {
  const { fakes, fleet, prober } = await rig(t, ['a'])
  prober.start()
  await prober.firstRound
  const state = async (): Promise<string | undefined> => (await prober.probeNow('a'))?.[0]?.state
  t.equal(fleet.health('a', 'http').state, 'up')
  fakes.a!.mode = 'status-500'
  t.equal(await state(), 'up', 'one failure: still up')
  t.equal(await state(), 'down', 'second failure: down')
  t.equal(fleet.status()[0]?.serving[4].http.volatile?.code, 'down', 'and no longer served')
  fakes.a!.mode = 'ok'
  t.equal(await state(), 'down', 'one pass: still down')
  t.equal(await state(), 'up', 'second pass: up')
  t.equal(fleet.status()[0]?.serving[4].http.volatile, null, 'served again')
})

t.test('a flapping mirror does not change state with every probe', async (t) => {
  const { fakes, prober } = await rig(t, ['a'])
  prober.start()
  await prober.firstRound
  const states: string[] = []
  for (let i = 0; i < 10; i++) {
    fakes.a!.mode = i % 2 === 0 ? 'status-500' : 'ok'
    states.push((await prober.probeNow('a'))?.[0]?.state ?? 'missing')
  }
  t.same(new Set(states), new Set(['up']), 'stays up while it fails every other probe')
  fakes.a!.mode = 'status-500'
  await prober.probeNow('a')
  await prober.probeNow('a')
  states.length = 0
  for (let i = 0; i < 10; i++) {
    fakes.a!.mode = i % 2 === 0 ? 'ok' : 'status-500'
    states.push((await prober.probeNow('a'))?.[0]?.state ?? 'missing')
  }
  t.same(new Set(states), new Set(['down']), 'stays down while it passes every other probe')
})

t.test('a stale mirror: its lag behind the master is measured', async (t) => {
  const { fleet, prober } = await rig(t, ['fresh', 'stale', 'master'], { syncTimes: { master: SYNC, fresh: SYNC, stale: SYNC - 3 * HOUR } })
  prober.start()
  await prober.firstRound
  const status = new Map(fleet.status().map((s) => [s.mirror.id, s]))
  t.equal(fleet.reference, SYNC)
  t.equal(status.get('fresh')?.lagMs, 0)
  t.equal(status.get('stale')?.lagMs, 3 * HOUR)
  t.equal(status.get('stale')?.serving[4].http.volatile?.code, 'stale', 'too far behind for volatile files (1 h)')
  t.equal(status.get('stale')?.serving[4].http.versioned, null, 'recent enough for versioned files (24 h)')
})

t.test('latency: a moving average of successful probes', async (t) => {
  const { fakes, fleet, prober, results } = await rig(t, ['a'])
  prober.start()
  await prober.firstRound
  const before = fleet.health('a', 'http').latencyMs ?? NaN
  t.equal(before, results[0]?.result.latencyMs, 'the first probe sets it')
  fakes.a!.mode = 'slow'
  fakes.a!.delayMs = 100
  await prober.probeNow('a')
  const probed = results.at(-1)?.result.latencyMs ?? NaN
  const after = fleet.health('a', 'http').latencyMs ?? NaN
  t.ok(probed >= 90, `the slow probe took ${probed} ms`)
  t.ok(after > Math.min(before, probed) && after < Math.max(before, probed), `the average moved towards it without jumping to it (${before} -> ${after})`)
})

t.test('the last error and its reason are kept, also after recovery', async (t) => {
  const { fakes, fleet, prober } = await rig(t, ['a'])
  fakes.a!.mode = 'status-404'
  prober.start()
  await prober.firstRound
  const failed = fleet.health('a', 'http')
  t.equal(failed.lastError?.reason, 'http-status')
  t.match(failed.lastError?.message, /404/)
  t.equal(failed.lastSuccess, null)
  fakes.a!.mode = 'ok'
  await prober.probeNow('a')
  const recovered = fleet.health('a', 'http')
  t.same(recovered.lastError, failed.lastError, 'kept for the status page')
  t.type(recovered.lastSuccess, 'number')
})

t.test('at most `concurrency` probes in flight', async (t) => {
  const names = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']
  const { fakes, prober, results } = await rig(t, names, { config: { concurrency: 2 } })
  for (const f of Object.values(fakes)) {
    f.mode = 'slow'
    f.delayMs = 60
  }
  // Requests that reached a fake but whose result is not in yet are in flight.
  let most = 0
  const sample = setInterval(() => {
    const seen = Object.values(fakes).reduce((n, f) => n + f.requests.length, 0)
    most = Math.max(most, seen - results.length)
  }, 2)
  prober.start()
  await prober.firstRound
  clearInterval(sample)
  t.equal(results.length, 6)
  t.ok(results.every((s) => s.result.ok))
  t.equal(most, 2, 'two at a time, never more')
})

t.test('backoff: a down mirror is probed less often than an up one', async (t) => {
  const { fakes, fleet, prober, until, of } = await rig(t, ['up', 'bad'], { config: { intervalMs: 20 } })
  fakes.bad!.mode = 'status-500'
  prober.start()
  await prober.firstRound
  await until('24 probes of the up mirror', () => of('up').length >= 24)
  const up = fakes.up!.requests.length
  const bad = fakes.bad!.requests.length
  t.equal(fleet.health('bad', 'http').state, 'down')
  t.ok(bad >= 3, `still probed while down (${bad})`)
  t.ok(bad * 2 < up, `${bad} probes of the down mirror against ${up} of the up one`)
})

t.test('probeDelay: interval plus jitter; failures confirmed at the retry delay; exponential backoff while down, capped', async (t) => {
  const config: ProbeConfig = { ...CONFIG, intervalMs: 1000, retryMs: 100, jitter: 0.2, failuresToDown: 3, passesToUp: 2, maxBackoffMs: 10_000 }
  const health = (state: Health['state'], failures: number, passes = 0): Health => ({ ...UNKNOWN, state, failures, passes })
  t.equal(probeDelay(health('up', 0), 1000, config, 0), 1000)
  t.equal(probeDelay(health('up', 0), 300, config, 0.5), 330, 'the interval is the target\'s own (by tier)')
  t.equal(probeDelay(health('up', 1), 1000, config, 0.5), 100, 'a first failure is confirmed soon, without jitter')
  t.equal(probeDelay(health('up', 2), 1000, config, 0.5), 100)
  t.equal(probeDelay(health('unknown', 1), 1000, config, 0.5), 100, 'also before the first pass')
  t.equal(probeDelay(health('unknown', 0), 1000, config, 0.75), 1150)
  t.equal(probeDelay(health('down', 3), 1000, config, 0), 2000, 'just went down: twice the interval')
  t.equal(probeDelay(health('down', 4), 1000, config, 0), 4000)
  t.equal(probeDelay(health('down', 5), 1000, config, 0.5), 8800)
  t.equal(probeDelay(health('down', 6), 1000, config, 0), 10_000, 'capped')
  t.equal(probeDelay(health('down', 500), 1000, config, 1), 12_000, 'capped, plus jitter')
  t.equal(probeDelay(health('down', 0, 1), 1000, config, 0), 100, 'passing again while down: confirmed soon, so it can come back')
  t.equal(probeDelay(health('down', 0, 2), 1000, config, 0), 1000, 'passes enough (state catches up on the next result): normal rate')
  t.equal(probeDelay(health('down', 3), 1000, { ...config, maxBackoffMs: 100 }, 0), 1000, 'never faster than the interval')
})

t.test('the defaults: a dead mirror is noticed within a minute (Tier-1: about half), at 2 (Tier-1: 6) canary GETs a minute', async (t) => {
  const p = DEFAULTS.probes
  const community = worstDetectionMs(p, p.intervalMs)
  const tier1 = worstDetectionMs(p, p.t1IntervalMs)
  t.equal(community, 55_000, '30 s × 1.2 + 5 s timeout + 2 × (2 s + 5 s)')
  t.equal(tier1, 31_000)
  t.ok(community < 60_000 && tier1 < community)
  t.equal(probesPerMinute(p.intervalMs), 2)
  t.equal(probesPerMinute(p.t1IntervalMs), 6)
})

t.test('probe budget, measured: Tier-1 mirrors at their shorter interval, community ones at theirs, the master as Tier-1', async (t) => {
  const fakes = { t1: await startFakeMirror({ syncTime: SYNC }), community: await startFakeMirror({ syncTime: SYNC }), master: await startFakeMirror({ syncTime: SYNC }) }
  const table = buildTable([{ ...spec('t1', [fakes.t1.base]), tier: 't1' }, spec('community', [fakes.community.base])])
  const fleet = new Fleet(table, POLICY)
  const prober = new Prober(fleet, { ...CONFIG, master: fakes.master.base, intervalMs: 300, t1IntervalMs: 100, retryMs: 20 })
  t.teardown(async () => {
    await prober.stop()
    for (const f of Object.values(fakes)) await f.close()
  })
  prober.start()
  await sleep(1500)
  await prober.stop()
  const seen = { t1: fakes.t1.requests.length, community: fakes.community.requests.length, master: fakes.master.requests.length }
  // 1.5 s: the first probe plus one every interval (timers run late on a busy machine, never early).
  t.ok(seen.t1 >= 8 && seen.t1 <= 16, `Tier-1: ${seen.t1} canary GETs (at most 16)`)
  t.ok(seen.community >= 3 && seen.community <= 6, `community: ${seen.community} (at most 6)`)
  t.ok(seen.master >= 8 && seen.master <= 16, `master: ${seen.master}`)
  t.ok(seen.t1 >= 2 * seen.community, 'Tier-1 probed at least twice as often')
  t.ok(fakes.t1.requests.every((r) => r === '/alpine/last-updated'), 'only the canary')
})

t.test('a failure is confirmed at the retry delay: down after failuresToDown probes, well within one interval', async (t) => {
  const { fakes, fleet, prober, until } = await rig(t, ['a'], { config: { intervalMs: 60_000, t1IntervalMs: 60_000, retryMs: 20, failuresToDown: POLICY.failuresToDown } })
  prober.start()
  await prober.firstRound
  fakes.a!.mode = 'status-500'
  const started = Date.now()
  await prober.probeNow('a') // the interval would be a minute: only retries can make it in time
  await until('a down', () => fleet.health('a', 'http').state === 'down')
  t.ok(Date.now() - started < 5000, `down ${Date.now() - started} ms after the first failure`)
  t.equal(fakes.a!.requests.length, 1 + POLICY.failuresToDown, 'the first pass, the failure, its confirmation')
})

t.test('a table reload: new mirrors are probed, removed ones no longer', async (t) => {
  const { fakes, fleet, prober, until, of } = await rig(t, ['a', 'b', 'master'], { config: { intervalMs: 20 } })
  fleet.setTable(buildTable([spec('a', [fakes.a!.base])]))
  prober.start()
  await prober.firstRound
  t.equal(fakes.b!.requests.length, 0, 'b is not in the table yet')
  await until('a few probes of a', () => of('a').length >= 3)

  fleet.setTable(buildTable([spec('b', [fakes.b!.base])]))
  const atSwitch = fakes.a!.requests.length
  await until('b probed after the reload', () => of('b').length >= 5)
  t.ok(fakes.a!.requests.length <= atSwitch + 1, `a no longer probed (${atSwitch} -> ${fakes.a!.requests.length}; one may have been in flight)`)
  t.equal(fleet.health('a', 'http'), UNKNOWN, 'nothing recorded for a removed mirror')
  t.equal(fleet.health('b', 'http').state, 'up')
  const masterBefore = of(null).length
  await until('the master still probed', () => of(null).length > masterBefore)

  fleet.setTable(buildTable([spec('a', [fakes.a!.base]), spec('b', [fakes.b!.base], false)]))
  const aBefore = of('a').length
  await until('a probed again once back', () => of('a').length > aBefore)
  const bAt = fakes.b!.requests.length
  await until('a few more probes of a', () => of('a').length > aBefore + 4)
  t.ok(fakes.b!.requests.length <= bAt + 1, 'a mirror disabled by a reload is no longer probed')
})

t.test('probeNow: forces a probe of one mirror or of everything', async (t) => {
  const { fakes, fleet, prober } = await rig(t, ['a', 'b', 'off', 'master'], { disabled: ['off'] })
  prober.start()
  await prober.firstRound
  t.equal(fakes.a!.requests.length, 1)
  fakes.a!.mode = 'status-500'
  const one = await prober.probeNow('a')
  t.equal(fakes.a!.requests.length, 2, 'probed now')
  t.equal(one?.length, 1, 'one health per scheme')
  t.equal(one?.[0], fleet.health('a', 'http'), 'the recorded health')
  t.equal(one?.[0]?.failures, 1)
  t.equal(await prober.probeNow('nope'), null, 'unknown id')

  const all = await prober.probeNow()
  t.equal(all?.length, 3, 'a, b and the master')
  t.same([fakes.a, fakes.b, fakes.master].map((f) => f!.requests.length), [3, 2, 2])

  t.equal((await prober.probeNow('off'))?.[0]?.state, 'up', 'a disabled mirror can still be checked on demand')
  t.equal(fakes.off!.requests.length, 1)

  fakes.b!.mode = 'slow'
  fakes.b!.delayMs = 50
  const [x, y] = await Promise.all([prober.probeNow('b'), prober.probeNow('b')])
  t.equal(x?.[0], y?.[0], 'a probe already running is joined')
  t.equal(fakes.b!.requests.length, 3, 'not repeated')
})

t.test('probeNow before start probes without scheduling', async (t) => {
  const { fakes, prober } = await rig(t, ['a'], { config: { intervalMs: 20 } })
  t.equal((await prober.probeNow())?.length, 1)
  await sleep(100)
  t.equal(fakes.a!.requests.length, 1, 'no timer was armed')
})

t.test('a throwing onResult hook does not stop the probing', async (t) => {
  let calls = 0
  const { fleet, prober, until, of } = await rig(t, ['a'], { config: { intervalMs: 20 }, onResult: () => { calls++; throw new Error('observer bug') } })
  prober.start()
  await until('several results', () => calls >= 3)
  // Each result came from its own timed probe, each recorded in the fleet although the hook
  // threw after every one of them; and the next probe is still scheduled.
  const seen = of('a')
  t.same(seen.map((s) => s.health.lastCheck), seen.map((s) => s.result.at), `each of ${seen.length} results recorded in the fleet`)
  t.equal(fleet.health('a', 'http'), seen.at(-1)?.health, 'the fleet holds the latest result')
  await until('a result after the last throw', () => of('a').length > seen.length) // fails the test if none comes
})

t.test('stop: clears every timer, waits for probes in flight, is idempotent', async (t) => {
  const { fakes, prober, results, until } = await rig(t, ['a', 'b'], { config: { intervalMs: 20, timeoutMs: 300 } })
  prober.start()
  await until('a few rounds', () => results.length >= 6)
  fakes.b!.mode = 'slow' // b's next probe hangs until the 300 ms timeout
  await until('b hanging', () => fakes.b!.requests.length > results.filter((s) => s.target.id === 'b').length)
  const started = performance.now()
  await prober.stop()
  t.ok(performance.now() - started < 2000, 'bounded by the probe timeout')
  t.ok(results.some((s) => s.target.id === 'b' && s.result.failure === 'timeout'), 'the hanging probe finished (timed out) before stop() resolved')
  const requests = fakes.a!.requests.length + fakes.b!.requests.length
  const count = results.length
  await sleep(200) // ten intervals: any surviving timer would fire
  t.equal(fakes.a!.requests.length + fakes.b!.requests.length, requests, 'no probe after stop')
  t.equal(results.length, count)
  await prober.stop()
  t.same(await prober.probeNow('a'), [results.filter((s) => s.target.id === 'a').at(-1)?.health], 'probeNow after stop: the last health, no probe')
  t.equal(fakes.a!.requests.length + fakes.b!.requests.length, requests)
})
