// Cluster mode, operated for real (the built entry point with --workers 2): the primary owns
// the drains (a table drain and a local one reach every worker, an undrain of the table's is
// refused through a worker, a local drain survives a restart of the whole cluster through the
// state file), and each worker keeps its own GeoIP reader current (a replaced file is picked up
// by every worker's watch; SIGHUP to the primary reaches every worker).

import t from 'tap'
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startCluster, until } from './helpers/cluster.js'
import { buildMmdb } from './helpers/mmdb-writer.js'
import { get } from './helpers/service.js'

const TOKEN = 'cluster-admin-token-0123'
const AUTH = { Authorization: `Bearer ${TOKEN}` }
const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'

const mirror = (id: string, country: string, latitude: number, longitude: number, extra: Record<string, unknown> = {}) => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country, latitude, longitude, weight: 10, families: ['ipv4'], enabled: true, ...extra
})

/** A small City database placing 85.214.0.0/16 in `country`. */
function geoDb (buildEpoch: number, country: 'DE' | 'AU'): Buffer {
  const place = country === 'DE' ? { continent: { code: 'EU' }, country: { iso_code: 'DE' }, location: { latitude: 52.52, longitude: 13.4 } } : { continent: { code: 'OC' }, country: { iso_code: 'AU' }, location: { latitude: -33.87, longitude: 151.21 } }
  return buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 4, buildEpoch, entries: [{ network: '85.214.0.0/16', data: place }] })
}

/** The mirrors 60 clients in 85.214.0.0/16 are sent to, each on a new connection (so over both workers). */
async function seen (port: number): Promise<string[]> {
  const ids = new Set<string>()
  for (let i = 0; i < 60; i++) ids.add(String((await get(port, INDEX, { 'X-Forwarded-For': `85.214.${i}.1` })).headers['x-mirrorgate-mirror']))
  return [...ids].sort()
}

t.test('drains owned by the primary, GeoIP reloaded in every worker', async (t) => {
  const dir = t.testdir()
  const db = join(dir, 'city.mmdb')
  writeFileSync(db, geoDb(1_700_000_000, 'DE'))
  writeFileSync(join(dir, 'mirrors.yaml'), JSON.stringify({
    mirrors: [mirror('a', 'DE', 52.5, 13.4), mirror('b', 'DE', 52.5, 13.4), mirror('c', 'DE', 52.5, 13.4, { drain: { reason: 'rack move' } }), mirror('au', 'AU', -33.87, 151.21)]
  }))
  const config = join(dir, 'c.yaml')
  writeFileSync(config, JSON.stringify({
    host: '127.0.0.1', port: 0, workers: 2, table: 'mirrors.yaml', admin: { token: TOKEN },
    probes: { enabled: false, stateFile: 'state.json' }, geoip: { databases: [db] }
  }))

  const first = await startCluster(t, config, { logLevel: 'debug' })
  const { port } = first
  const url = `http://127.0.0.1:${port}/api/v1/admin`
  t.same(await seen(port), ['a', 'b'], 'the table drain is in force in every worker')

  // Drains as any worker reports them: the table's, and that it cannot be lifted here.
  const list = await (await fetch(`${url}/drains`, { headers: AUTH })).json()
  t.same(list, { persisted: true, drains: [{ id: 'c', source: 'table', until: null, reason: 'rack move' }] })
  const refused = await fetch(`${url}/mirrors/c/drain`, { method: 'DELETE', headers: AUTH })
  t.equal(refused.status, 409)
  t.match(await refused.json(), { error: 'MG_ERR_DRAINED_IN_TABLE', message: /rack move/ }, 'the primary\'s refusal, through a worker')

  // A local drain goes to the primary, is written to its state file, and reaches every worker.
  const drained = await fetch(`${url}/mirrors/a/drain`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: '{"reason":"disk swap"}' })
  t.match(await drained.json(), { source: 'local', persisted: true, drains: [{ source: 'local', reason: 'disk swap' }] })
  t.same(await seen(port), ['b'])

  // GeoIP: a replaced file is picked up by each worker's own watch.
  writeFileSync(db + '.tmp', geoDb(1_800_000_000, 'AU'))
  renameSync(db + '.tmp', db)
  t.ok(await until(async () => (await seen(port)).join() === 'au'), 'every worker places the network in Australia now')
  const reloads = async (): Promise<string | undefined> => /mirrorgate_geoip_reloads_total\{result="ok"\} (\d+)/.exec((await get(port, '/metrics')).body)?.[1]
  t.ok(await until(async () => await reloads() === '2'), 'one reload in each of the two workers')
  const explain = JSON.parse((await get(port, '/api/v1/explain?ip=85.214.1.1')).body) as { databases: Array<{ builtAt: string }> }
  t.same(explain.databases.map((d) => d.builtAt), ['2027-01-15T08:00:00.000Z'])

  // SIGHUP to the primary: the table is read again, and every worker reads its GeoIP files again.
  const sighups = (): number => [...first.log().matchAll(/"trigger":"SIGHUP".*"msg":"GeoIP databases unchanged"/g)].length
  first.child.kill('SIGHUP')
  t.ok(await until(() => sighups() === 2), 'both workers heard of the SIGHUP')
  t.match(first.log(), /"trigger":"SIGHUP".*"msg":"mirror table reloaded"/)
  t.notMatch(first.log(), /worker died/, 'no worker died of the SIGHUP')

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0)

  // The whole cluster restarted: the primary restores the local drain, the table still drains c.
  writeFileSync(db, geoDb(1_700_000_000, 'DE'))
  const second = await startCluster(t, config, { logLevel: 'debug' })
  const url2 = `http://127.0.0.1:${second.port}/api/v1/admin`
  t.same((await (await fetch(`${url2}/drains`, { headers: AUTH })).json() as { drains: Array<{ id: string, source: string }> }).drains.map((d) => [d.id, d.source]),
    [['a', 'local'], ['c', 'table']])
  t.same(await seen(second.port), ['b'], 'every worker follows the restored drain')
  const lifted = await fetch(`${url2}/mirrors/a/drain`, { method: 'DELETE', headers: AUTH })
  t.same(await lifted.json(), { id: 'a', draining: false, wasDraining: true, persisted: true })
  t.same(await seen(second.port), ['a', 'b'])
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0)
})
