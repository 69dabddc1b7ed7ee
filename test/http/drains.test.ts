// Drains as an operator uses them, on the real service: local drains set through the admin API
// are kept in the state file and survive restarts (an ended one does not come back, an old
// file's drains do); without a state file the answer says so. Drains declared in the table
// are in force at load and reload, listed as the table's, cannot be lifted through the admin
// API, and end on time by themselves.

import t from 'tap'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeMirror } from '../helpers/fake-mirror.js'
import { get, startService, type Running } from '../helpers/service.js'

const TOKEN = 'test-admin-token-0123456789'
const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
const AUTH = { Authorization: `Bearer ${TOKEN}` }
const JSON_AUTH = { ...AUTH, 'Content-Type': 'application/json' }

const mirror = (id: string, extra: Record<string, unknown> = {}) => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country: 'DE', latitude: 52.5, longitude: 13.4,
  weight: 10, families: ['ipv4'], enabled: true, ...extra
})

function writeTable (file: string, mirrors: unknown[]): void {
  writeFileSync(file + '.tmp', JSON.stringify({ mirrors }))
  renameSync(file + '.tmp', file)
}

/** The mirrors 40 client networks are sent to. */
async function servedBy (port: number): Promise<string[]> {
  const ids = new Set<string>()
  for (let i = 0; i < 40; i++) ids.add(String((await get(port, INDEX, { 'X-Forwarded-For': `85.${i}.3.4` })).headers['x-mirrorgate-mirror']))
  return [...ids].sort()
}

interface DrainList { persisted: boolean, drains: Array<{ id: string, source: string, until: string | null, reason: string }> }

async function drains (r: Running): Promise<DrainList> {
  return await (await fetch(`${r.origin}/api/v1/admin/drains`, { headers: AUTH })).json() as DrainList
}

const post = (r: Running, id: string, body: unknown): Promise<Response> =>
  fetch(`${r.origin}/api/v1/admin/mirrors/${id}/drain`, { method: 'POST', headers: JSON_AUTH, body: JSON.stringify(body) })
const del = (r: Running, id: string): Promise<Response> =>
  fetch(`${r.origin}/api/v1/admin/mirrors/${id}/drain`, { method: 'DELETE', headers: AUTH })

/** Polls `cond` every 50 ms; fails after 5 s. */
async function until (what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await cond()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

t.test('local drains survive restarts through the state file; an ended one does not come back', async (t) => {
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  const stateFile = join(dir, 'state.json')
  writeTable(table, [mirror('m1'), mirror('m2'), mirror('m3')])
  const doc = { table, admin: { token: TOKEN }, probes: { enabled: false, stateFile } }
  const start = async (): Promise<Running> => {
    const r = await startService(doc)
    t.teardown(() => r.service.close())
    return r
  }

  const first = await start()
  const later = new Date(Date.now() + 3_600_000).toISOString()
  const long = await post(first, 'm1', { until: later, reason: 'disk swap (ticket 42)' })
  t.equal(long.status, 200)
  t.same(await long.json(), {
    id: 'm1', draining: true, source: 'local', until: later, reason: 'disk swap (ticket 42)', persisted: true,
    drains: [{ source: 'local', until: later, reason: 'disk swap (ticket 42)' }]
  }, 'the answer says the drain is local and kept')
  const shortUntil = Date.now() + 1500
  t.equal((await post(first, 'm2', { until: new Date(shortUntil).toISOString() })).status, 200)
  t.same((await drains(first)).drains.map((d) => [d.id, d.source]), [['m1', 'local'], ['m2', 'local']])
  t.same(JSON.parse(readFileSync(stateFile, 'utf8')).drains.map(([id]: [string]) => id), ['m1', 'm2'], 'written before the answer')
  await first.service.close()

  // Restarted after m2's end: m1 is still drained, m2 is not.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, shortUntil - Date.now() + 100)))
  const second = await start()
  t.same(await drains(second), { persisted: true, drains: [{ id: 'm1', source: 'local', until: later, reason: 'disk swap (ticket 42)' }] })
  t.same(await servedBy(second.port), ['m2', 'm3'], 'the restored drain is in force')
  await second.service.close()

  // Saved two hours ago: far too old for health, yet the drain is the operator's and stays.
  const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { savedAt: number }
  writeFileSync(stateFile, JSON.stringify({ ...saved, savedAt: Date.now() - 2 * 3_600_000 }))
  const third = await start()
  t.same((await drains(third)).drains.map((d) => d.id), ['m1'], 'restored whatever the file\'s age')
  const lifted = await del(third, 'm1')
  t.same(await lifted.json(), { id: 'm1', draining: false, wasDraining: true, persisted: true })
  await third.service.close()

  const fourth = await start()
  t.same(await drains(fourth), { persisted: true, drains: [] }, 'an undrain is kept too')
  t.same(await servedBy(fourth.port), ['m1', 'm2', 'm3'])
})

t.test('with probes on, an old state file gives back its drains but not its health', async (t) => {
  // The canary answers late: without restored health, the first round takes a while.
  const a = await startFakeMirror({ canaryDelayMs: 3000 })
  const b = await startFakeMirror({ canaryDelayMs: 3000 })
  t.teardown(async () => { await a.close(); await b.close() })
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  const stateFile = join(dir, 'state.json')
  writeTable(table, [{ ...mirror('m1'), urls: [a.base] }, { ...mirror('m2'), urls: [b.base] }])
  const up = { state: 'up', passes: 5, failures: 0, latencyMs: 3, lastCheck: 1, lastSuccess: 1, lastError: null, syncTime: Date.now() }
  const state = (savedAt: number): string => JSON.stringify({
    format: 'mirrorgate-probe-state/1', savedAt, known: true, master: up, health: [['http m1', up], ['http m2', up]], drains: [['m2', { until: null, reason: 'kept' }]]
  })
  const doc = { table, admin: { token: TOKEN }, probes: { enabled: true, stateFile, readyTimeoutSeconds: 20, intervalSeconds: 60 } }
  for (const [age, ready] of [[2 * 3_600_000, 503], [60_000, 200]] as const) {
    writeFileSync(stateFile, state(Date.now() - age))
    const r = await startService(doc)
    t.equal((await get(r.port, '/readyz')).status, ready, `saved ${age / 60_000} min ago: ${ready === 200 ? 'health restored, ready at once' : 'health not restored, waiting for the first round'}`)
    t.same((await drains(r)).drains, [{ id: 'm2', source: 'local', until: null, reason: 'kept' }], `saved ${age / 60_000} min ago: the drain is back`)
    await r.service.close()
  }
})

t.test('without a state file, the answer says a drain lasts until the process restarts', async (t) => {
  const table = join(t.testdir(), 'mirrors.yaml')
  writeTable(table, [mirror('m1'), mirror('m2')])
  const r = await startService({ table, admin: { token: TOKEN } })
  t.teardown(() => r.service.close())
  const answer = await (await post(r, 'm1', {})).json() as Record<string, unknown>
  t.match(answer, { id: 'm1', draining: true, source: 'local', until: null, reason: 'maintenance', persisted: false })
  t.match(answer.note, /no probes\.stateFile is configured: local drains last until this process restarts/)
  t.same(await drains(r), { persisted: false, drains: [{ id: 'm1', source: 'local', until: null, reason: 'maintenance' }] })
  const lifted = await (await del(r, 'm1')).json() as Record<string, unknown>
  t.match(lifted, { wasDraining: true, persisted: false, note: /no probes\.stateFile/ })
})

t.test('drains in the table: in force at load and reload, the table\'s alone to lift, timed ones end on time', async (t) => {
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  const timedUntil = new Date(Date.now() + 2000).toISOString()
  writeTable(table, [mirror('m1', { drain: { reason: 'rack move' } }), mirror('m2'), mirror('m3', { drain: { until: timedUntil } })])
  // Probes off: nothing but the drain's own timer ends it.
  const r = await startService({ table, admin: { token: TOKEN } })
  t.teardown(() => r.service.close())

  t.same(await drains(r), {
    persisted: false,
    drains: [
      { id: 'm1', source: 'table', until: null, reason: 'rack move' },
      { id: 'm3', source: 'table', until: timedUntil, reason: 'drained in the table' }
    ]
  })
  t.same(await servedBy(r.port), ['m2'], 'drained at load')
  const one = await (await fetch(`${r.origin}/api/v1/admin/mirrors/m1/drain`, { headers: AUTH })).json()
  t.same(one, { id: 'm1', draining: true, drains: [{ source: 'table', until: null, reason: 'rack move' }] })

  // The admin API cannot lift it, and says why.
  const refused = await del(r, 'm1')
  t.equal(refused.status, 409)
  const error = await refused.json() as { error: string, message: string }
  t.equal(error.error, 'MG_ERR_DRAINED_IN_TABLE')
  t.match(error.message, /drained in the mirror table.*m1 \(until the table says otherwise, "rack move"\): remove drain: from its entry in the table and reload/)
  // A local drain may be added on top; both are listed.
  const both = await (await post(r, 'm1', { reason: 'also here' })).json() as { drains: unknown[] }
  t.same(both.drains, [{ source: 'table', until: null, reason: 'rack move' }, { source: 'local', until: null, reason: 'also here' }])
  const report = (await get(r.port, '/api/v1/mirrors')).body
  t.notMatch(report, /rack move|also here/, 'reasons stay out of public answers')

  // m3's drain ends on time with no probe, reload or call.
  await until('m3 to serve again', async () => (await servedBy(r.port)).includes('m3'))
  t.same((await drains(r)).drains.map((d) => [d.id, d.source]), [['m1', 'table'], ['m1', 'local']])

  // The table no longer drains m1: after the reload only the local drain is left, and it can be lifted.
  writeTable(table, [mirror('m1'), mirror('m2'), mirror('m3')])
  t.equal((await fetch(`${r.origin}/api/v1/admin/reload`, { method: 'POST', headers: AUTH })).status, 200)
  t.same((await drains(r)).drains, [{ id: 'm1', source: 'local', until: null, reason: 'also here' }])
  t.match(await (await del(r, 'm1')).json(), { wasDraining: true })
  t.same(await servedBy(r.port), ['m1', 'm2', 'm3'])

  // And a drain added to the table on disk is in force after the file watch reloads it.
  writeTable(table, [mirror('m1'), mirror('m2', { drain: { reason: 'from git' } }), mirror('m3')])
  await until('the table drain from disk', async () => (await drains(r)).drains.some((d) => d.id === 'm2' && d.source === 'table'))
  t.same(await servedBy(r.port), ['m1', 'm3'])
})
