// src/probes/state-file.ts: what is saved is what is restored; a missing, broken, foreign or
// old file is refused with a reason, never thrown; writes replace the file whole. Local drains
// are kept with their end and reason, and outlive the age limit that applies to health.

import t from 'tap'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UNKNOWN, type Health } from '../../src/core/health.js'
import type { FleetState } from '../../src/live/fleet.js'
import { readProbeState, STATE_MAX_AGE_MS, StateSaver, writeProbeState } from '../../src/probes/state-file.js'

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0)
const up: Health = { ...UNKNOWN, state: 'up', passes: 3, latencyMs: 12.5, lastCheck: NOW, lastSuccess: NOW, syncTime: NOW - 60_000 }
const down: Health = { ...UNKNOWN, state: 'down', failures: 4, lastCheck: NOW, lastError: { reason: 'connect', message: 'ECONNREFUSED', at: NOW } }
const STATE: FleetState = { health: [['http a', up], ['https b', down]], master: up, endpoints: [['fra-1', up]], drains: [], known: true }

t.test('round trip', async (t) => {
  const file = join(t.testdir(), 'state.json')
  await writeProbeState(file, STATE, NOW)
  const read = await readProbeState(file, NOW + 1000)
  t.ok(read.ok)
  if (read.ok) {
    t.same(read.state, STATE)
    t.equal(read.savedAt, NOW)
  }
  t.same(readdirSync(join(file, '..')), ['state.json'], 'no temporary file left behind')
})

const DRAINS: FleetState['drains'] = [
  ['a', { until: null, reason: 'disk swap', source: 'local' }],
  ['b', { until: NOW + 3_600_000, reason: 'rack move', source: 'local' }]
]

t.test('local drains are kept, with their end and reason', async (t) => {
  const file = join(t.testdir(), 'state.json')
  await writeProbeState(file, { ...STATE, drains: DRAINS }, NOW)
  t.same(JSON.parse(readFileSync(file, 'utf8')).drains, [['a', { until: null, reason: 'disk swap' }], ['b', { until: NOW + 3_600_000, reason: 'rack move' }]],
    'saved without their source: only local drains are saved')
  const read = await readProbeState(file, NOW + 1000)
  t.ok(read.ok)
  if (read.ok) t.same(read.state.drains, DRAINS, 'restored as local drains')
  const later = await readProbeState(file, NOW + 3_600_000)
  t.same(later.ok ? [] : later.drains, [DRAINS[0]], 'a drain whose end has passed is left out')
})

t.test('drains outlive the age limit on health; a bad file has none', async (t) => {
  const file = join(t.testdir(), 'state.json')
  // Read two hours after saving: health too old to say anything, drains still the operator's word.
  await writeProbeState(file, { ...STATE, drains: DRAINS }, NOW)
  const old = await readProbeState(file, NOW + 2 * 3_600_000)
  t.equal(old.ok, false)
  if (!old.ok) {
    t.match(old.reason, /more than 15 min ago/)
    t.same(old.drains, [DRAINS[0]], 'the open-ended drain is back; the one that ended an hour after saving is not')
  }
  await writeProbeState(file, { ...STATE, drains: DRAINS }, NOW + 3_600_000)
  const ahead = await readProbeState(file, NOW)
  t.same(ahead.ok ? null : ahead.drains, DRAINS, 'a clock far ahead: health not trusted, drains kept')
  await writeProbeState(file, { ...STATE, health: [['http a', { ...up, passes: -1 }]], drains: DRAINS }, NOW)
  const badHealth = await readProbeState(file, NOW)
  t.same(badHealth.ok ? null : badHealth.drains, DRAINS, 'a bad health record does not cost the drains')

  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  doc.drains = [['a', { until: null, reason: 'ok' }], ['b', { until: 'tomorrow', reason: 'x' }], ['c', { reason: 'no until' }], [7, { until: null, reason: 'x' }], 'junk']
  writeFileSync(file, JSON.stringify(doc))
  const mixed = await readProbeState(file, NOW)
  t.same(mixed.ok ? null : mixed.drains, [['a', { until: null, reason: 'ok', source: 'local' }]], 'malformed entries are left out one by one')

  for (const text of ['{not json', JSON.stringify({ drains: DRAINS })]) {
    writeFileSync(file, text)
    const bad = await readProbeState(file, NOW)
    t.same(bad.ok ? null : bad.drains, [], 'no drains from a file that is not a state file')
  }
  const missing = await readProbeState(join(t.testdir(), 'none.json'), NOW)
  t.same(missing.ok ? null : missing.drains, [])
})

t.test('refused with a reason: missing, not JSON, foreign, a bad entry, too old, from the future', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'state.json')
  const reason = async (): Promise<string> => {
    const r = await readProbeState(file, NOW)
    return r.ok ? 'accepted' : r.reason
  }
  t.match(await reason(), /no saved state yet/)
  writeFileSync(file, '{"format": "mirrorgate-probe-state/1", "savedAt": 1')
  t.match(await reason(), /not JSON/)
  writeFileSync(file, JSON.stringify({ health: [] }))
  t.match(await reason(), /not a mirrorgate-probe-state\/1 file/)
  await writeProbeState(file, { ...STATE, health: [['http a', { ...up, state: 'sideways' as Health['state'] }]] }, NOW)
  t.match(await reason(), /not a health record/)
  await writeProbeState(file, { ...STATE, health: [['http a', { ...up, passes: -1 }]] }, NOW)
  t.match(await reason(), /not a health record/)
  await writeProbeState(file, { ...STATE, endpoints: [['fra-1', { ...up, failures: 0.5 }]] }, NOW)
  t.match(await reason(), /not a health record/, 'endpoint records are checked too')
  await writeProbeState(file, STATE, NOW - STATE_MAX_AGE_MS - 1)
  t.match(await reason(), /more than 15 min ago/)
  await writeProbeState(file, STATE, NOW + 3_600_000)
  t.not(await reason(), 'accepted', 'a clock far ahead is not trusted')
  await writeProbeState(file, STATE, NOW - STATE_MAX_AGE_MS + 1)
  t.equal(await reason(), 'accepted', 'just young enough')
})

t.test('the saver: writes after changes, once for a burst, and at once on flush; an error is reported, not thrown', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'state.json')
  let reads = 0
  const saver = new StateSaver(file, () => { reads++; return STATE }, (err) => t.fail(String(err)))
  saver.changed()
  saver.changed()
  saver.changed()
  t.equal(await saver.flush(), true, 'flush says it wrote')
  t.equal(reads, 1, 'one write for the burst')
  t.ok((await readProbeState(file, Date.now())).ok, 'written with the time of the write, so readable now')
  t.same(JSON.parse(readFileSync(file, 'utf8')).health, STATE.health)
  const errors: unknown[] = []
  const broken = new StateSaver(join(dir, 'missing-folder', 'state.json'), () => STATE, (err) => errors.push(err))
  t.equal(await broken.flush(), false, 'flush says it could not write')
  t.equal(errors.length, 1, 'a folder that does not exist is reported')
})

t.test('a file from before endpoints were kept restores with none', async (t) => {
  const file = join(t.testdir(), 'state.json')
  await writeProbeState(file, STATE, NOW)
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  delete doc.endpoints
  writeFileSync(file, JSON.stringify(doc))
  const read = await readProbeState(file, NOW)
  t.ok(read.ok)
  if (read.ok) t.same(read.state.endpoints, [])
})

t.test('index-copy checks are kept; bad ones are left out, the rest of the state still restores', async (t) => {
  const file = join(t.testdir(), 'state.json')
  const checks: FleetState['checks'] = [
    ['v3.22/main/x86_64/', [['a', { kind: 'copy', key: `${NOW}/1234`, at: NOW, syncTime: NOW - 60_000 }], ['b', { kind: 'missing', at: NOW }]]],
    ['edge/main/x86_64/', [['a', { kind: 'failing', at: NOW, detail: 'HTTP 500' }]]]
  ]
  await writeProbeState(file, { ...STATE, checks }, NOW)
  const read = await readProbeState(file, NOW)
  t.ok(read.ok && read.state.checks !== undefined)
  if (read.ok) t.same(read.state.checks, checks, 'round trip')
  await writeProbeState(file, { ...STATE, checks: [['v3.22/main/x86_64/', [['a', { kind: 'copy', at: NOW } as never]]]] }, NOW)
  const bad = await readProbeState(file, NOW)
  t.ok(bad.ok, 'the state restores')
  if (bad.ok) {
    t.equal(bad.state.checks, undefined, 'without the malformed checks')
    t.same(bad.state.health, STATE.health)
  }
})
