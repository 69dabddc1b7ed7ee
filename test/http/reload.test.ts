// Live table changes under load: a valid table takes over without a failed request, an
// invalid one is rejected and the table in force stays. Also SIGHUP-free triggers: the admin
// API and a change of the file on disk.

import t from 'tap'
import { writeFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { startLoad } from '../helpers/load-loop.js'
import { get, startService } from '../helpers/service.js'

const TOKEN = 'test-admin-token-0123456789'
const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'

const mirror = (id: string) => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country: 'DE', latitude: 52.5, longitude: 13.4,
  weight: 10, families: ['ipv4'], enabled: true
})

/** Writes the table the way config managers do: a temporary file renamed into place. */
function writeTable (file: string, body: string): void {
  writeFileSync(file + '.tmp', body)
  renameSync(file + '.tmp', file)
}

t.test('reloads under load: no failed request, the right table in force', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'mirrors.yaml')
  writeTable(file, JSON.stringify({ mirrors: [mirror('old-a'), mirror('old-b')] }))
  const { service, port } = await startService({ table: file, admin: { token: TOKEN } })
  t.teardown(() => service.close())

  // Load: 8 keep-alive clients from many networks until told to stop.
  const load = startLoad(t, port, { path: INDEX, clients: 8, from: (i) => `85.${i % 250}.${(i >> 8) % 250}.7` })
  const mirrorsNow = async (): Promise<string[]> => {
    const report = JSON.parse((await get(port, '/api/v1/mirrors')).body) as { mirrors: Array<{ id: string }> }
    return report.mirrors.map((m) => m.id).sort()
  }
  /** Polls `cond` every 25 ms; fails the test after 5 s. */
  const until = async (what: string, cond: () => boolean | Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (await cond()) return
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error(`gave up waiting for ${what}`)
  }

  // 1. A valid table arrives on disk: picked up by the file watch.
  writeTable(file, JSON.stringify({ mirrors: [mirror('new-a'), mirror('new-b'), mirror('new-c')] }))
  await until('the new table from disk', async () => (await mirrorsNow()).includes('new-a'))
  t.same(await mirrorsNow(), ['new-a', 'new-b', 'new-c'], 'file change reloaded the table')

  // 2. An invalid table arrives: rejected, the previous one stays.
  writeTable(file, JSON.stringify({ mirrors: [mirror('bad'), { ...mirror('bad2'), country: 'XX' }] }))
  const rejected = await fetch(`http://127.0.0.1:${port}/api/v1/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.equal(rejected.status, 422)
  const body = await rejected.json() as { error: string, message: string }
  t.equal(body.error, 'MG_ERR_TABLE_INVALID')
  t.match(body.message, /mirrors\[1\]\.country: "XX" is not an ISO 3166-1/)
  t.same(await mirrorsNow(), ['new-a', 'new-b', 'new-c'], 'old table still in force')

  // 3. Fixed and reloaded through the admin API.
  writeTable(file, JSON.stringify({ mirrors: [mirror('final')] }))
  const ok = await fetch(`http://127.0.0.1:${port}/api/v1/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.equal(ok.status, 200)
  t.same(await mirrorsNow(), ['final'])
  await until('the load served from the last table', () => load.mirrors.has('final'))

  await load.stop()
  t.ok(load.total() > 100, `load ran (${load.total()} requests)`)
  t.same([...load.statuses.keys()], [302], 'every request during the reloads was answered 302')
  t.ok(load.mirrors.has('old-a') || load.mirrors.has('old-b'), 'the first table served')
  t.ok(load.mirrors.has('final'), 'the last table served')
  t.notOk(load.mirrors.has('bad') || load.mirrors.has('bad2'), 'the invalid table never served')
  const redirect = await get(port, INDEX, { 'X-Forwarded-For': '85.1.1.1' })
  t.equal(redirect.headers['x-mirrorgate-mirror'], 'final')
  const metrics = (await get(port, '/metrics')).body
  t.match(metrics, /mirrorgate_table_reloads_total\{result="rejected"\} [1-9]/)
  t.match(metrics, /mirrorgate_table_reloads_total\{result="ok"\} [2-9]/)
})

t.test('admin API: bearer token required, compared in constant time, off without a token', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'mirrors.yaml')
  writeTable(file, JSON.stringify({ mirrors: [mirror('m1'), mirror('m2')] }))
  const { service, port } = await startService({ table: file, admin: { token: TOKEN } })
  t.teardown(() => service.close())
  const url = `http://127.0.0.1:${port}/api/v1/admin`

  for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`]) {
    const res = await fetch(`${url}/reload`, { method: 'POST', headers: auth === undefined ? {} : { Authorization: auth } })
    t.equal(res.status, 401, String(auth))
    t.match(res.headers.get('www-authenticate'), /^Bearer/)
    t.equal((await res.json() as { error: string }).error, 'MG_ERR_UNAUTHORIZED')
  }
  const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }

  // Drain one mirror until a time: everyone goes to the other; undrain brings it back.
  const until = new Date(Date.now() + 3_600_000).toISOString()
  const drain = await fetch(`${url}/mirrors/m1/drain`, { method: 'POST', headers: auth, body: JSON.stringify({ until, reason: 'disk swap (ticket 42)' }) })
  t.equal(drain.status, 200)
  const ids = new Set<string>()
  for (let i = 0; i < 40; i++) ids.add(String((await get(port, INDEX, { 'X-Forwarded-For': `85.${i}.3.4` })).headers['x-mirrorgate-mirror']))
  t.same([...ids], ['m2'], 'drained mirror gets no clients')
  const report = (await get(port, '/api/v1/mirrors')).body
  t.match(report, /"draining":\{"until":"/)
  t.notMatch(report, /disk swap/, 'the drain reason is admin data, not public')
  const undrain = await fetch(`${url}/mirrors/m1/drain`, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.match(await undrain.json(), { id: 'm1', draining: false, wasDraining: true, persisted: false })
  ids.clear()
  for (let i = 0; i < 40; i++) ids.add(String((await get(port, INDEX, { 'X-Forwarded-For': `85.${i}.3.4` })).headers['x-mirrorgate-mirror']))
  t.same([...ids].sort(), ['m1', 'm2'])

  // Bad input is a clear 400/404, never a crash.
  const cases: Array<[string, string, number, string]> = [
    ['/mirrors/nope/drain', '{}', 404, 'MG_ERR_UNKNOWN_MIRROR'],
    ['/mirrors/m1/drain', '{"until":"yesterday"}', 400, 'MG_ERR_BAD_BODY'],
    ['/mirrors/m1/drain', '{"until":"2001-01-01T00:00:00Z"}', 400, 'MG_ERR_BAD_BODY'],
    ['/mirrors/m1/drain', '{"colour":"red"}', 400, 'MG_ERR_BAD_BODY'],
    ['/mirrors/m1/probe', '', 409, 'MG_ERR_PROBES_DISABLED']
  ]
  for (const [path, body, status, code] of cases) {
    const res = await fetch(url + path, { method: 'POST', headers: body === '' ? { Authorization: auth.Authorization } : auth, body: body === '' ? undefined : body })
    t.equal(res.status, status, path + ' ' + body)
    t.equal((await res.json() as { error: string }).error, code)
  }
  const malformed = await fetch(`${url}/mirrors/m1/drain`, { method: 'POST', headers: auth, body: '{not json' })
  t.equal(malformed.status, 400)

  const off = await startService({ table: file })
  t.teardown(() => off.service.close())
  const disabled = await fetch(`http://127.0.0.1:${off.port}/api/v1/admin/reload`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.equal(disabled.status, 403)
  t.equal((await disabled.json() as { error: string }).error, 'MG_ERR_ADMIN_DISABLED')
})
