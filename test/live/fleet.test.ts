// src/live/fleet.ts and src/core/snapshot.ts: how health, lag and drains become verdicts, when
// health is ignored (fail open), snapshots that never change once handed out, timed drains,
// and what a saved or forwarded state restores. Probe results are fed in by hand.

import t from 'tap'
import type { ProbeResult } from '../../src/core/health.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { Fleet, type FleetPolicy } from '../../src/live/fleet.js'

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0)
const MIN = 60_000
const POLICY: FleetPolicy = {
  enabled: true, master: 'http://master.example.org/alpine/', failuresToDown: 1, passesToUp: 1,
  volatileMaxLagMs: 60 * MIN, versionedMaxLagMs: 24 * 60 * MIN, failOpenBelow: 0.5
}

function spec (id: string): MirrorSpec {
  return { id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country: 'DE', latitude: 50, longitude: 8, weight: 1, families: ['ipv4'], enabled: true }
}

const pass = (syncTime: number): ProbeResult => ({ ok: true, at: NOW, latencyMs: 5, syncTime, failure: null, message: null })
const fail: ProbeResult = { ok: false, at: NOW, latencyMs: 5, syncTime: null, failure: 'connect', message: 'ECONNREFUSED' }

function fleetOf (ids: string[], policy: Partial<FleetPolicy> = {}): Fleet {
  return new Fleet(buildTable(ids.map(spec)), { ...POLICY, ...policy }, () => NOW)
}

const verdict = (fleet: Fleet, id: string): string | null => {
  const v = fleet.status().find((s) => s.mirror.id === id)?.serving[4].http.volatile ?? null
  return v === null ? null : `${v.code}/${v.standing ?? 'excluded'}`
}

t.test('a mirror never probed is demoted (unprobed), unless probing is off', async (t) => {
  const probing = fleetOf(['a'])
  t.equal(verdict(probing, 'a'), 'unprobed/unprobed')
  t.equal(probing.known, false, 'nothing known yet')
  const off = fleetOf(['a'], { enabled: false })
  t.equal(verdict(off, 'a'), null, 'without probes the table is all there is')
  t.equal(off.known, true)
})

t.test('down and behind only demote; a drain excludes', async (t) => {
  const fleet = fleetOf(['fresh', 'late', 'dead', 'drained'])
  fleet.recordMaster(pass(NOW))
  fleet.record('fresh', 'http', pass(NOW))
  fleet.record('late', 'http', pass(NOW - 90 * MIN))
  fleet.record('dead', 'http', fail)
  fleet.record('drained', 'http', pass(NOW))
  fleet.drain('drained', null, 'maintenance')
  t.same(['fresh', 'late', 'dead', 'drained'].map((id) => verdict(fleet, id)), [null, 'stale/behind', 'down/down', 'draining/excluded'])
  const late = fleet.status().find((s) => s.mirror.id === 'late')?.serving[4].http.volatile
  t.same([late?.lagMs, late?.allowedMs], [90 * MIN, 60 * MIN], 'the lag and the bound travel with the verdict')
  t.equal(fleet.status().find((s) => s.mirror.id === 'late')?.serving[4].http.versioned, null, 'within the 24 h bound for packages')
})

t.test('fail open needs evidence against the prober, not a small fleet losing mirrors', async (t) => {
  // With a master: two of three down while the master answers is the mirrors' problem.
  const withMaster = fleetOf(['a', 'b', 'c'])
  withMaster.recordMaster(pass(NOW))
  for (const id of ['a', 'b', 'c']) withMaster.record(id, 'http', pass(NOW))
  withMaster.record('b', 'http', fail)
  withMaster.record('c', 'http', fail)
  t.equal(withMaster.failOpen, false, 'master up: health applies')
  t.equal(verdict(withMaster, 'b'), 'down/down')
  withMaster.recordMaster(fail)
  t.equal(withMaster.failOpen, true, 'master failing too: the prober is the likely cause')
  t.equal(verdict(withMaster, 'b'), null, 'health ignored')
  withMaster.recordMaster(pass(NOW))
  t.equal(withMaster.failOpen, false)

  // Without a master: only all of at least three failing at once.
  const small = fleetOf(['a', 'b', 'c'], { master: null })
  for (const id of ['a', 'b', 'c']) small.record(id, 'http', pass(NOW))
  small.record('b', 'http', fail)
  small.record('c', 'http', fail)
  t.equal(small.failOpen, false, 'two of three down, one up: clients go to the live one')
  small.record('a', 'http', fail)
  t.equal(small.failOpen, true, 'all three at once')
  const two = fleetOf(['a', 'b'], { master: null })
  two.record('a', 'http', fail)
  two.record('b', 'http', fail)
  t.equal(two.failOpen, false, 'two mirrors are too few to tell')
})

t.test('state: known travels with exportState/importState; entries for mirrors not in the table are dropped', async (t) => {
  const source = fleetOf(['a', 'b'])
  source.recordMaster(pass(NOW))
  source.record('a', 'http', pass(NOW))
  source.record('b', 'http', fail)
  let told = 0
  source.subscribe((next, previous) => { if (next.known && !previous.known) told++ })
  source.markKnown()
  source.markKnown()
  t.equal(told, 1, 'listeners hear of it once')
  const target = fleetOf(['a', 'c'])
  target.importState(source.exportState())
  t.equal(target.known, true)
  t.equal(target.health('a', 'http').state, 'up')
  t.equal(target.exportState().health.length, 1, 'b is not in this table')
  t.equal(target.master.syncTime, NOW)
  const unknown = fleetOf(['a'])
  unknown.importState({ ...source.exportState(), known: false })
  t.equal(unknown.known, false, 'an unknown state does not make a fleet ready')
})

t.test('a snapshot never changes once handed out; the selection epoch moves only when a verdict does', async (t) => {
  const fleet = fleetOf(['a', 'b'])
  fleet.recordMaster(pass(NOW))
  fleet.record('a', 'http', pass(NOW))
  fleet.record('b', 'http', pass(NOW))
  const held = fleet.snapshot
  const seen: number[] = []
  fleet.subscribe((next) => { seen.push(next.epoch) })

  fleet.record('a', 'http', { ...pass(NOW), latencyMs: 50 })
  t.not(fleet.snapshot, held, 'a new snapshot for every change')
  t.equal(fleet.snapshot.epoch, held.epoch, 'latency is not a selection matter: same epoch')
  t.equal(fleet.snapshot.health('a', 'http').latencyMs !== held.health('a', 'http').latencyMs, true)

  fleet.record('b', 'http', fail)
  t.equal(fleet.snapshot.epoch, held.epoch + 1, 'b down: a new epoch')
  t.equal(held.health('b', 'http').state, 'up', 'the held snapshot still says what it said')
  t.equal(held.byId.get('b')?.serving[4].http.volatile, null)
  fleet.drain('a', null, 'x')
  t.equal(held.byId.get('a')?.drain, null, 'drains too')
  t.same(seen, [held.epoch, held.epoch + 1, held.epoch + 2], 'subscribers hear of every snapshot')
})

t.test('timed drains end on time by themselves, probes or not', async (t) => {
  let now = NOW
  const fleet = new Fleet(buildTable(['a'].map(spec)), { ...POLICY, enabled: false }, () => now)
  t.teardown(() => fleet.close())
  fleet.drain('a', NOW + 150, 'short maintenance')
  t.equal(verdict(fleet, 'a'), 'draining/excluded')
  t.match(fleet.snapshot.byId.get('a')?.serving[4].http.volatile, { until: NOW + 150, reason: `drained until ${new Date(NOW + 150).toISOString()}` })
  t.notMatch(fleet.snapshot.byId.get('a')?.serving[4].http.volatile?.reason ?? '', /maintenance/, 'the operator\'s note stays out of verdicts')
  // The fleet's timer is unref'd (it never keeps a process alive); this guard keeps the test's.
  const ended = new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('the drain did not end')), 5000)
    fleet.subscribe((next) => { if (next.byId.get('a')?.drain === null) { clearTimeout(guard); resolve() } })
  })
  now = NOW + 150
  await ended
  t.equal(verdict(fleet, 'a'), null, 'serving again without any probe or call')
})

t.test('table drains: in force on every fleet reading the table, listed apart from local ones, beyond the admin API', async (t) => {
  let now = NOW
  const specs = [{ ...spec('a'), drain: { reason: 'rack move' } }, { ...spec('b'), drain: { until: NOW + 60 * MIN } }, spec('c'), { ...spec('d'), drain: { until: NOW - MIN, reason: 'over' } }]
  const fleet = new Fleet(buildTable(specs), { ...POLICY, enabled: false }, () => now)
  t.teardown(() => fleet.close())
  t.same(['a', 'b', 'c', 'd'].map((id) => verdict(fleet, id)), ['draining/excluded', 'draining/excluded', null, null], 'a drain whose end has passed is not in force')
  t.same(fleet.snapshot.byId.get('a')?.drain, { until: null, reason: 'rack move', source: 'table' })
  t.same(fleet.snapshot.byId.get('b')?.drain, { until: NOW + 60 * MIN, reason: 'drained in the table', source: 'table' }, 'a default reason')
  t.same(fleet.tableDrain('a'), { until: null, reason: 'rack move', source: 'table' })
  t.equal(fleet.tableDrain('c'), null)
  t.equal(fleet.tableDrain('d'), null)

  // A local drain on top: both are listed; the one lasting longer is the one clients see.
  fleet.drain('b', NOW + 120 * MIN, 'longer')
  fleet.drain('c', null, 'local only')
  t.same(fleet.drainsInForce().map(([id, d]) => [id, d.source, d.until]), [
    ['a', 'table', null], ['b', 'table', NOW + 60 * MIN], ['b', 'local', NOW + 120 * MIN], ['c', 'local', null]
  ], 'in table order, the table first')
  t.equal(fleet.snapshot.byId.get('b')?.drain?.source, 'local', 'the local drain outlasts the table one')
  t.same(fleet.exportState().drains.map(([id]) => id), ['b', 'c'], 'only local drains travel and are saved')
  t.same([...fleet.localDrains.keys()], ['b', 'c'])

  // Lifting b's local drain leaves the table's in force.
  t.equal(fleet.undrain('b'), true)
  t.equal(verdict(fleet, 'b'), 'draining/excluded')
  t.equal(fleet.snapshot.byId.get('b')?.drain?.source, 'table')

  // Another fleet (a worker, another instance) reading the same table and state sees the same.
  const other = new Fleet(buildTable(specs), { ...POLICY, enabled: false }, () => now)
  t.teardown(() => other.close())
  other.importState(fleet.exportState())
  t.same(other.drainsInForce(), fleet.drainsInForce())

  // A table without the drain lifts it; the local one stays.
  fleet.setTable(buildTable([spec('a'), spec('b'), spec('c')]))
  t.same(fleet.drainsInForce().map(([id, d]) => [id, d.source]), [['c', 'local']])
  t.equal(verdict(fleet, 'a'), null)
  now = NOW + 200 * MIN
  t.same(fleet.drainsInForce().map(([id]) => id), ['c'], 'open-ended: still there')
})

t.test('a timed table drain ends on time by itself, probes or not', async (t) => {
  let now = NOW
  const fleet = new Fleet(buildTable([{ ...spec('a'), drain: { until: NOW + 150, reason: 'short' } }, spec('b')]), { ...POLICY, enabled: false }, () => now)
  t.teardown(() => fleet.close())
  t.equal(verdict(fleet, 'a'), 'draining/excluded')
  const ended = new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('the table drain did not end')), 5000)
    fleet.subscribe((next) => { if (next.byId.get('a')?.drain === null) { clearTimeout(guard); resolve() } })
  })
  now = NOW + 150
  await ended
  t.equal(verdict(fleet, 'a'), null, 'serving again without a reload, a probe or a call')
  t.equal(fleet.tableDrain('a'), null)
  t.same(fleet.drainsInForce(), [])
})

t.test('restoring saved drains: local, for mirrors in the table, not ended', async (t) => {
  const fleet = new Fleet(buildTable(['a', 'b'].map(spec)), { ...POLICY, enabled: false }, () => NOW)
  t.teardown(() => fleet.close())
  fleet.restoreDrains([
    ['a', { until: null, reason: 'kept', source: 'local' }],
    ['gone', { until: null, reason: 'not in the table', source: 'local' }],
    ['b', { until: NOW - 1, reason: 'ended', source: 'local' }]
  ])
  t.same(fleet.drainsInForce(), [['a', { until: null, reason: 'kept', source: 'local' }]])
  t.equal(verdict(fleet, 'a'), 'draining/excluded')
  t.equal(verdict(fleet, 'b'), null)
})
