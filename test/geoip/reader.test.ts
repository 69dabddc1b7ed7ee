// src/geoip/reader.ts against real .mmdb files: small ones built by test/helpers/mmdb-writer.ts
// for each schema the reader understands, and the embedded DB-IP Lite database. Reloads of
// files replaced on disk: good ones swapped in, bad ones rejected with the old set kept.

import t, { type Test } from 'tap'
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EMBEDDED_GEOIP, type InstanceConfig } from '../../src/config/schema.js'
import { COUNTRIES } from '../../src/core/countries.js'
import { parseIp, type Ip } from '../../src/core/ip.js'
import { GeoIp, openDatabase } from '../../src/geoip/reader.js'
import { buildMmdb, writeMmdb, type MmdbEntry } from '../helpers/mmdb-writer.js'

const INSTANCE: InstanceConfig = { id: 'test-1', region: 'eu-central', country: 'DE', latitude: 50.11, longitude: 8.68 }
const INSTANCE_PLACE = { country: 'DE', continent: 'EU', latitude: 50.11, longitude: 8.68, asn: null, source: 'instance-region' }

const ip = (s: string): Ip => {
  const p = parseIp(s)
  if (p === null) throw new Error(`test setup: ${s}`)
  return p
}

const cityRecord = (iso: string, continent: string, latitude: number, longitude: number) => ({
  city: { geoname_id: 2643743, names: { en: 'Somewhere' } },
  continent: { code: continent, geoname_id: 6255148, names: { en: continent } },
  country: { geoname_id: 2921044, iso_code: iso, names: { en: iso } },
  location: { accuracy_radius: 20, latitude, longitude, time_zone: 'Europe/London' },
  registered_country: { geoname_id: 2921044, iso_code: iso, names: { en: iso } }
})

/** Writes one .mmdb per entry of `files` into the test's directory; returns their paths. */
function mmdbs (t: Test, files: Record<string, { databaseType: string, ipVersion: 4 | 6, entries: MmdbEntry[] }>): Record<string, string> {
  const d = t.testdir()
  const out: Record<string, string> = {}
  for (const [name, opts] of Object.entries(files)) {
    out[name] = join(d, `${name}.mmdb`)
    writeMmdb(out[name], { ...opts, buildEpoch: 1_700_000_000 })
  }
  return out
}

t.test('GeoLite2-City schema, IPv6 file with IPv4 entries', async (t) => {
  const f = mmdbs(t, {
    city: {
      databaseType: 'GeoLite2-City',
      ipVersion: 6,
      entries: [
        { network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 51.5142, -0.0931) },
        { network: '2a02:1::/32', data: cityRecord('DE', 'EU', 50.1109, 8.6821) },
        { network: '175.16.199.0/24', data: cityRecord('CN', 'AS', 43.88, 125.3228) }
      ]
    }
  })
  const geo = new GeoIp([f.city as string], INSTANCE, 100)
  t.same(geo.databases, [{ file: f.city, type: 'GeoLite2-City', kind: 'location', ipVersion: 6, builtAt: '2023-11-14T22:13:20.000Z' }])
  t.same(geo.locate(ip('81.2.69.142')), { country: 'GB', continent: 'EU', latitude: 51.5142, longitude: -0.0931, asn: null, source: 'geoip' })
  t.same(geo.locate(ip('::ffff:175.16.199.5')), { country: 'CN', continent: 'AS', latitude: 43.88, longitude: 125.3228, asn: null, source: 'geoip' }, 'mapped IPv4')
  t.same(geo.locate(ip('2a02:1:abcd::1')), { country: 'DE', continent: 'EU', latitude: 50.1109, longitude: 8.6821, asn: null, source: 'geoip' })
  t.same(geo.locate(ip('8.8.8.8')), INSTANCE_PLACE, 'not in the database: the instance region')
  t.same(geo.locate(ip('2a03::1')), INSTANCE_PLACE)
})

t.test('GeoLite2-Country schema: no location, so the country centroid', async (t) => {
  const f = mmdbs(t, {
    country: {
      databaseType: 'GeoLite2-Country',
      ipVersion: 6,
      entries: [
        { network: '81.2.69.0/24', data: { continent: { code: 'EU' }, country: { iso_code: 'GB' }, registered_country: { iso_code: 'GB' } } },
        { network: '2001:218::/32', data: { continent: { code: 'AS' }, country: { iso_code: 'JP' } } },
        // Satellite and anycast ranges often carry only the registered country.
        { network: '196.201.0.0/16', data: { registered_country: { iso_code: 'KE' } } },
        // A code no table knows (old databases used EU and AP): as good as nothing.
        { network: '194.0.0.0/16', data: { continent: { code: 'EU' }, country: { iso_code: 'EU' } } }
      ]
    }
  })
  const geo = new GeoIp([f.country as string], INSTANCE, 100)
  const centroid = (cc: string) => {
    const c = COUNTRIES.get(cc)
    return { country: cc, continent: c?.continent, latitude: c?.latitude, longitude: c?.longitude, asn: null, source: 'country-centroid' }
  }
  t.same(geo.locate(ip('81.2.69.1')), centroid('GB'))
  t.same(geo.locate(ip('2001:218:1::1')), centroid('JP'))
  t.same(geo.locate(ip('196.201.1.1')), centroid('KE'), 'registered_country when country is missing')
  t.equal(geo.locate(ip('196.201.1.1')).continent, 'AF', 'continent from the table when the record has none')
  t.same(geo.locate(ip('194.0.1.1')), INSTANCE_PLACE, 'an unknown country code places nobody')
})

t.test('GeoLite2-ASN fills place.asn', async (t) => {
  const f = mmdbs(t, {
    city: { databaseType: 'GeoLite2-City', ipVersion: 6, entries: [{ network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 51.5142, -0.0931) }] },
    asn: {
      databaseType: 'GeoLite2-ASN',
      ipVersion: 6,
      entries: [
        { network: '81.2.69.0/24', data: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold Ltd' } },
        { network: '2a01:4f8::/32', data: { autonomous_system_number: 24940, autonomous_system_organization: 'Hetzner Online GmbH' } },
        { network: '12.81.92.0/22', data: { autonomous_system_number: 7018, autonomous_system_organization: 'AT&T' } }
      ]
    }
  })
  // Order in the list does not matter: the metadata says which is which.
  for (const files of [[f.city, f.asn], [f.asn, f.city]] as string[][]) {
    const geo = new GeoIp(files, INSTANCE, 100)
    t.same(geo.databases.map((d) => [d.type, d.kind]).sort(), [['GeoLite2-ASN', 'asn'], ['GeoLite2-City', 'location']])
    t.same(geo.locate(ip('81.2.69.142')), { country: 'GB', continent: 'EU', latitude: 51.5142, longitude: -0.0931, asn: 20712, source: 'geoip' })
    t.same(geo.locate(ip('2a01:4f8::1')), { ...INSTANCE_PLACE, asn: 24940 }, 'an ASN without a location keeps the instance region')
    t.same(geo.locate(ip('12.81.92.1')), { ...INSTANCE_PLACE, asn: 7018 })
    t.same(geo.locate(ip('9.9.9.9')), INSTANCE_PLACE)
  }
  t.throws(() => new GeoIp([f.asn as string], INSTANCE, 100), { code: 'MG_ERR_GEOIP_OPEN', message: /no location database/ }, 'an ASN file alone is not enough')
})

t.test('ip-location-db flat schema in separate IPv4 and IPv6 files', async (t) => {
  const f = mmdbs(t, {
    v4: {
      databaseType: 'ip-location-db country ipv4',
      ipVersion: 4,
      entries: [
        { network: '32.1.0.0/16', data: { country_code: 'FR' } },
        { network: '85.214.0.0/16', data: { country_code: 'DE', latitude: 52.52, longitude: 13.40 } }
      ]
    },
    v6: {
      databaseType: 'ip-location-db country ipv6',
      ipVersion: 6,
      entries: [{ network: '2001:200::/23', data: { country_code: 'JP', latitude: 35.69, longitude: 139.69 } }]
    }
  })
  // The trap: 2001:1::1 is 0x2001_0001..., whose first 32 bits read as 32.1.0.1, inside the
  // IPv4 file's 32.1.0.0/16. An IPv4-only file must never answer an IPv6 query.
  t.equal(ip('2001:1::1').family, 6)
  t.same(openDatabase(f.v4 as string).reader.get('2001:1::1'), { country_code: 'FR' }, 'setup: maxmind itself would say FR')
  for (const files of [[f.v4, f.v6], [f.v6, f.v4]] as string[][]) {
    const geo = new GeoIp(files, INSTANCE, 100)
    t.same(geo.databases.map((d) => d.ipVersion).sort(), [4, 6])
    t.same(geo.locate(ip('2001:200::1')), { country: 'JP', continent: 'AS', latitude: 35.69, longitude: 139.69, asn: null, source: 'geoip' })
    t.same(geo.locate(ip('2001:3ff:ffff::1')), geo.locate(ip('2001:200::1')), 'the whole /23')
    const trap = geo.locate(ip('2001:1::1'))
    t.not(trap.country, 'FR', '2001:1::1 is not answered by the IPv4 file')
    t.same(trap, INSTANCE_PLACE)
    t.same(geo.locate(ip('2001:120::1')), INSTANCE_PLACE, '2001:120::1 (32.1.1.32 by its first bits) neither')
    const fr = COUNTRIES.get('FR')
    t.same(geo.locate(ip('32.1.2.3')), { country: 'FR', continent: 'EU', latitude: fr?.latitude, longitude: fr?.longitude, asn: null, source: 'country-centroid' }, 'the IPv4 file does answer IPv4')
    t.same(geo.locate(ip('::ffff:85.214.1.1')), { country: 'DE', continent: 'EU', latitude: 52.52, longitude: 13.40, asn: null, source: 'geoip' }, 'and mapped IPv4')
  }
  // The IPv6 file alone still answers IPv4 queries from its own (empty) IPv4 space, and nothing else.
  const v6only = new GeoIp([f.v6 as string], INSTANCE, 100)
  t.same(v6only.locate(ip('32.1.2.3')), INSTANCE_PLACE)
  t.equal(v6only.locate(ip('2001:200::1')).country, 'JP')
})

t.test('non-public addresses get the instance region without a lookup', async (t) => {
  // A database that (wrongly) places everything: it must not be consulted for these.
  const f = mmdbs(t, {
    all: {
      databaseType: 'GeoLite2-City',
      ipVersion: 6,
      entries: [{ network: '::/0', data: cityRecord('US', 'NA', 37.75, -97.82) }]
    }
  })
  const geo = new GeoIp([f.all as string], INSTANCE, 100)
  t.equal(geo.locate(ip('8.8.8.8')).country, 'US', 'setup: public addresses are found')
  for (const s of ['10.1.2.3', '127.0.0.1', '192.168.0.10', '172.16.5.4', '100.64.0.1', '169.254.1.1', '::1', 'fe80::1', 'fd00::1', '2001:db8::1', '::ffff:192.168.1.1']) {
    t.same(geo.locate(ip(s)), INSTANCE_PLACE, s)
  }
  const nowhere = new GeoIp([f.all as string], { ...INSTANCE, country: null, latitude: 0, longitude: 0 }, 100)
  t.same(nowhere.instancePlace, { country: null, continent: null, latitude: 0, longitude: 0, asn: null, source: 'instance-region' })
  t.same(nowhere.locate(ip('10.0.0.1')), nowhere.instancePlace)
})

t.test('the cache is per client network and counted', async (t) => {
  const f = mmdbs(t, {
    city: {
      databaseType: 'GeoLite2-City',
      ipVersion: 6,
      entries: [
        { network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 51.5142, -0.0931) },
        { network: '2a02:1::/32', data: cityRecord('DE', 'EU', 50.1109, 8.6821) }
      ]
    }
  })
  const geo = new GeoIp([f.city as string], INSTANCE, 100)
  t.same([geo.lookups, geo.cacheHits], [0, 0])
  const first = geo.locate(ip('81.2.69.1'))
  t.same([geo.lookups, geo.cacheHits], [1, 0], 'first lookup is a miss')
  t.equal(geo.locate(ip('81.2.69.200')), first, 'same /24: the cached place itself')
  t.equal(geo.locate(ip('::ffff:81.2.69.7')), first, 'mapped form of the same /24')
  t.same([geo.lookups, geo.cacheHits], [3, 2])
  geo.locate(ip('81.2.70.1'))
  t.same([geo.lookups, geo.cacheHits], [4, 2], 'another /24 is a miss')
  geo.locate(ip('2a02:1:0::1'))
  geo.locate(ip('2a02:1:0:ffff::2'))
  geo.locate(ip('2a02:1:1::1'))
  t.same([geo.lookups, geo.cacheHits], [7, 3], '/48 for IPv6')
  geo.locate(ip('10.0.0.1'))
  geo.locate(ip('10.0.0.2'))
  t.same([geo.lookups, geo.cacheHits], [9, 4], 'non-public answers are cached too')

  // cacheSize 1 still gets one set of eight slots (see src/network-cache.ts): nine networks
  // push the least recently used one out.
  const tiny = new GeoIp([f.city as string], INSTANCE, 1)
  for (let i = 0; i < 9; i++) tiny.locate(ip(`81.2.${60 + i}.1`))
  t.same([tiny.lookups, tiny.cacheHits], [9, 0])
  tiny.locate(ip('81.2.68.9'))
  t.same([tiny.lookups, tiny.cacheHits], [10, 1], 'the latest network is kept')
  tiny.locate(ip('81.2.60.9'))
  t.same([tiny.lookups, tiny.cacheHits], [11, 1], 'the least recently used one went')
})

t.test('networks at one location share one Place, even when its record was decoded anew', async (t) => {
  // Far more networks than the decoded-record cache holds, over the embedded database:
  // equal places must still be one object (the redirector caches rankings by it).
  const geo = new GeoIp(EMBEDDED_GEOIP, INSTANCE, 100)
  const byValue = new Map<string, object>()
  let split = 0
  let checked = 0
  for (let i = 0; i < 20_000; i++) {
    const a = 1 + (Math.imul(i, 2654435761) >>> 24) % 223
    if (a === 10 || a === 127) continue
    const place = geo.locate(ip(`${a}.${(i * 7) & 0xff}.${(i * 13) & 0xff}.1`))
    if (place.source !== 'geoip') continue
    checked++
    const key = JSON.stringify(place)
    const seen = byValue.get(key)
    if (seen === undefined) byValue.set(key, place)
    else if (seen !== place) split++
  }
  t.ok(checked > 10_000, `${checked} placed networks`)
  t.ok(byValue.size < checked, `${byValue.size} distinct places among them`)
  t.equal(split, 0, 'no place value has two objects')
})

t.test('files that cannot be used', async (t) => {
  const d = t.testdir({ 'not.mmdb': 'this is not a MaxMind database\n', 'empty.mmdb': '' })
  for (const name of ['not.mmdb', 'empty.mmdb', 'missing.mmdb']) {
    const file = join(d, name)
    t.throws(() => openDatabase(file), { name: 'MgError', code: 'MG_ERR_GEOIP_OPEN', message: file }, `${name}: openDatabase`)
    t.throws(() => new GeoIp([file], INSTANCE, 10), { code: 'MG_ERR_GEOIP_OPEN' }, `${name}: GeoIp`)
  }
})

t.test('the embedded DB-IP Lite database', async (t) => {
  t.equal(EMBEDDED_GEOIP.length, 2)
  const geo = new GeoIp(EMBEDDED_GEOIP, INSTANCE, 1000)
  t.same(geo.databases.map((d) => [d.kind, d.ipVersion]), [['location', 4], ['location', 6]])
  for (const d of geo.databases) t.match(d.builtAt, /^\d{4}-\d\d-\d\dT/, `${d.file} has a build date`)
  const expected: Array<[string, string]> = [
    ['85.214.132.117', 'DE'],
    ['81.2.69.142', 'GB'],
    ['1.1.1.1', 'AU'],
    ['202.12.27.33', 'JP'],
    ['2a01:4f8::1', 'DE'],
    ['2001:638:1::1', 'DE'],
    ['::ffff:85.214.132.117', 'DE']
  ]
  for (const [address, country] of expected) {
    const p = geo.locate(ip(address))
    t.equal(p.country, country, `${address} is in ${country}`)
    t.equal(p.source, 'geoip', `${address} has city coordinates`)
    t.equal(p.continent, COUNTRIES.get(country)?.continent, `${address} continent`)
    // City coordinates should lie in or near the country.
    t.ok(Math.abs(p.latitude - (COUNTRIES.get(country)?.latitude ?? 0)) < 20, `${address} latitude ${p.latitude}`)
  }
  t.same(geo.locate(ip('192.168.1.1')), INSTANCE_PLACE)
})

/** Replaces a file the way geoipupdate does: a temporary file renamed into place. */
function replace (file: string, bytes: Buffer): void {
  writeFileSync(file + '.tmp', bytes)
  renameSync(file + '.tmp', file)
}

const PROBES = [
  { network: '8.8.8.0/24', data: cityRecord('US', 'NA', 37.42, -122.08) },
  { network: '1.1.1.0/24', data: cityRecord('AU', 'OC', -33.87, 151.21) }
]

t.test('reload: a new file is checked, then swapped in whole; the caches forget the old places', async (t) => {
  const file = join(t.testdir(), 'city.mmdb')
  const build = (gb: [number, number], epoch: number): Buffer => buildMmdb({
    databaseType: 'GeoLite2-City', ipVersion: 6, buildEpoch: epoch,
    entries: [...PROBES, { network: '81.2.69.0/24', data: cityRecord('GB', 'EU', gb[0], gb[1]) }]
  })
  writeFileSync(file, build([51.5, -0.09], 1_700_000_000))
  const geo = new GeoIp([file], INSTANCE, 100)
  const before = geo.locate(ip('81.2.69.1'))
  t.equal(before.latitude, 51.5)
  t.same(await geo.reload(), { outcome: 'unchanged' }, 'nothing new: nothing read, nothing cleared')
  t.equal(geo.locate(ip('81.2.69.1')), before)
  t.equal(geo.generation, 0)

  replace(file, build([53.48, -2.24], 1_800_000_000))
  const result = await geo.reload()
  t.equal(result.outcome, 'ok')
  t.same(geo.databases.map((d) => d.builtAt), ['2027-01-15T08:00:00.000Z'], 'the new file is the one in force')
  t.equal(geo.generation, 1, 'a new generation for the caches that key on places')
  const after = geo.locate(ip('81.2.69.1'))
  t.equal(after.latitude, 53.48, 'the cached network is looked up again in the new file')
  t.not(after, before)
  t.same(geo.reloads, { ok: 1, rejected: 0 })

  // Rewritten in place (not renamed), with a type of its own: still the same type as in force.
  writeFileSync(file, buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, buildEpoch: 1_800_000_100, entries: [...PROBES, { network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 1, 2) }] }))
  t.equal((await geo.reload()).outcome, 'ok')
  t.equal(geo.locate(ip('81.2.69.1')).latitude, 1)
})

t.test('reload: a truncated, damaged, foreign or lesser file is rejected and the one in force stays', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'city.mmdb')
  const good = buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, buildEpoch: 1_700_000_000, entries: [...PROBES, { network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 51.5, -0.09) }] })
  writeFileSync(file, good)
  const geo = new GeoIp([file], INSTANCE, 100)
  const place = geo.locate(ip('81.2.69.1'))
  const damaged = Buffer.from(good)
  damaged[Math.floor(good.indexOf(Buffer.alloc(16)) + 4)] = 0xff // a byte of the separator after the tree
  const cases: Array<[string, Buffer | null, RegExp]> = [
    ['truncated', good.subarray(0, Math.floor(good.length / 2)), /city\.mmdb: no MaxMind DB metadata \(truncated, or not a \.mmdb file\)/],
    ['empty', Buffer.alloc(0), /city\.mmdb/],
    ['damaged tree', damaged, /search tree does not fit the file/],
    ['not a MaxMind database', Buffer.from('<html>503 Service Unavailable</html>\n'), /city\.mmdb/],
    ['an ASN database over a City one', buildMmdb({ databaseType: 'GeoLite2-ASN', ipVersion: 6, entries: [{ network: '8.8.8.0/24', data: { autonomous_system_number: 15169 } }] }), /an ASN database where a location one was/],
    ['a database type mirrorgate does not read', buildMmdb({ databaseType: 'GeoIP2-Anonymous-IP', ipVersion: 6, entries: [{ network: '8.8.8.0/24', data: { is_anonymous: true } }] }), /database type "GeoIP2-Anonymous-IP" is not a City, Country or ASN database/],
    ['IPv4 only where IPv6 was', buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 4, entries: PROBES }), /an IPv4-only database where an IPv6 one was/],
    ['one that no longer places 8.8.8.8', buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, entries: [PROBES[1] as MmdbEntry] }), /no longer places 8\.8\.8\.8, which the file in force places/],
    ['gone', null, /city\.mmdb: ENOENT/]
  ]
  for (const [name, bytes, reason] of cases) {
    if (bytes === null) rmSync(file)
    else replace(file, bytes)
    const result = await geo.reload()
    t.equal(result.outcome, 'rejected', name)
    if (result.outcome === 'rejected') t.match(result.reason, reason, `${name}: ${result.reason}`)
    t.equal(geo.locate(ip('81.2.69.1')), place, `${name}: the old place, from the old file and cache`)
    t.same(geo.databases.map((d) => d.builtAt), ['2023-11-14T22:13:20.000Z'], `${name}: the old file in force`)
  }
  t.same(geo.reloads, { ok: 0, rejected: cases.length })
  t.equal(geo.generation, 0)
  replace(file, good)
  t.equal((await geo.reload()).outcome, 'ok', 'a good file again is taken')
})

t.test('reload: only changed files are read; concurrent reloads run one at a time', async (t) => {
  const dir = t.testdir()
  const city = join(dir, 'city.mmdb')
  const asn = join(dir, 'asn.mmdb')
  writeFileSync(city, buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, entries: [{ network: '81.2.69.0/24', data: cityRecord('GB', 'EU', 51.5, -0.09) }] }))
  const asnDb = (n: number): Buffer => buildMmdb({ databaseType: 'GeoLite2-ASN', ipVersion: 6, entries: [{ network: '81.2.69.0/24', data: { autonomous_system_number: n } }] })
  writeFileSync(asn, asnDb(20712))
  const geo = new GeoIp([city, asn], INSTANCE, 100)
  t.equal(geo.locate(ip('81.2.69.1')).asn, 20712)
  replace(asn, asnDb(64500))
  const results = await Promise.all([geo.reload(), geo.reload(), geo.reload()])
  t.same(results.map((r) => r.outcome), ['ok', 'unchanged', 'unchanged'], 'the first reads the new file, the others find nothing new')
  t.equal(geo.locate(ip('81.2.69.1')).asn, 64500)
  t.same(geo.databases.map((d) => d.type), ['GeoLite2-City', 'GeoLite2-ASN'], 'in the configured order')
})
