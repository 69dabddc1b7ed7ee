// <prefix>MIRRORS.txt through the real server with the shipped mirror table and the embedded
// DB-IP database: each client gets every mirror that may serve it, one base URL a line, its own
// country's mirrors first. And rankedBases on its own: what follows the eligible mirrors.

import t from 'tap'
import { loadTableFile } from '../../src/config/table-file.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { parseIp, type Ip } from '../../src/core/ip.js'
import type { Mirror } from '../../src/core/types.js'
import type { Explanation } from '../../src/redirector.js'
import { rankedBases } from '../../src/http/mirror-list.js'
import { openGeoIp } from '../../src/service.js'
import { get, startService } from '../helpers/service.js'

const table = await loadTableFile(DEFAULTS.table)
const geoip = openGeoIp(DEFAULTS)

/** The first of these addresses DB-IP places in `country`: found, not assumed. */
function placedIn (country: string, candidates: readonly string[]): string {
  const found = candidates.find((a) => geoip.locate(parseIp(a) as Ip).country === country)
  if (found === undefined) throw new Error(`none of ${candidates.join(', ')} is in ${country} in this database`)
  return found
}

const GERMAN = placedIn('DE', ['85.214.132.117', '46.4.10.10', '138.201.0.1'])
const JAPANESE = placedIn('JP', ['133.11.0.1', '210.130.0.1', '126.0.0.1', '153.120.0.1'])
// No Japanese mirror in the table serves IPv6; German ones do.
const GERMAN_V6 = placedIn('DE', ['2a01:4f8::1', '2a00:1450:4001::1'])

const enabled = table.mirrors.filter((m) => m.enabled)
const mirrorOf = (base: string): Mirror | undefined => table.mirrors.find((m) => m.http === base || m.https === base)
/** Mirrors any client anywhere may be sent to: no restrictions, full participation. */
const unrestricted = enabled.filter((m) => m.participation !== 'country' && m.restrictions.onlyCountries.length === 0 &&
  m.restrictions.onlyContinents.length === 0 && m.restrictions.excludeCountries.length === 0)

const { service, port } = await startService()
t.teardown(() => service.close())

/** The lines of a body that must end each with a newline (else none at all, which fails). */
const lines = (body: string): string[] => body.endsWith('\n') ? body.slice(0, -1).split('\n') : []

t.test('a German client gets a German mirror first, a Japanese client a Japanese one', async (t) => {
  for (const [xff, country] of [[GERMAN, 'DE'], [JAPANESE, 'JP'], [GERMAN_V6, 'DE']] as const) {
    const res = await get(port, '/alpine/MIRRORS.txt', { 'X-Forwarded-For': xff })
    t.equal(res.status, 200, xff)
    t.equal(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.equal(res.headers['cache-control'], 'private, no-store', 'it depends on the client: never cached for another')
    t.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)))
    const bases = lines(res.body)
    t.equal(mirrorOf(bases[0] as string)?.country, country, `${xff}: ${bases[0]} is in ${country}`)
    // The client's country's mirrors come first, all of them, before any other.
    const firstOther = bases.findIndex((b) => mirrorOf(b)?.country !== country)
    const inCountry = enabled.filter((m) => m.country === country && (parseIp(xff)?.family === 4 ? m.ipv4 : m.ipv6)).length
    t.ok(inCountry > 1, `${xff}: ${country} has mirrors for this family to rank`)
    t.equal(firstOther, inCountry, `${xff}: the ${inCountry} mirrors in ${country} first`)
    t.equal(new Set(bases).size, bases.length, 'no base twice')
    for (const b of bases) t.ok(mirrorOf(b)?.enabled, `${b} is an enabled mirror's base`)
    const listed = new Set(bases.map((b) => mirrorOf(b)?.id))
    t.same(unrestricted.filter((m) => !listed.has(m.id)).map((m) => m.id), [], 'every mirror that serves anyone is listed')
  }
})

t.test('the order is the redirect\'s: its first choice heads the list', async (t) => {
  const index = await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': JAPANESE })
  const list = await get(port, '/alpine/MIRRORS.txt', { 'X-Forwarded-For': JAPANESE })
  t.equal(lines(list.body)[0] + 'v3.22/main/x86_64/APKINDEX.tar.gz', index.headers.location)
})

t.test('https clients get https bases only; a region hint is followed; HEAD has no body', async (t) => {
  const https = await get(port, '/alpine/MIRRORS.txt', { 'X-Forwarded-For': GERMAN, 'X-Forwarded-Proto': 'https' })
  const bases = lines(https.body)
  t.ok(bases.every((b) => b.startsWith('https://')), 'every base is https')
  t.same(unrestricted.filter((m) => m.https !== null && !bases.includes(m.https)).map((m) => m.id), [], 'every mirror with an https URL that serves anyone')
  const hinted = await get(port, '/_r/jp/alpine/MIRRORS.txt', { 'X-Forwarded-For': GERMAN })
  t.equal(mirrorOf(lines(hinted.body)[0] as string)?.country, 'JP', 'pinned to Japan')
  const head = await get(port, '/alpine/MIRRORS.txt', { 'X-Forwarded-For': GERMAN }, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.ok(Number(head.headers['content-length']) > 100, 'the length of the body GET would send')
  const bad = await get(port, '/alpine/MIRRORS.txt', {}, 'POST')
  t.equal(bad.status, 405)
})

t.test('after the eligible mirrors: those that cannot serve now, nearest first; never those that will not', async (t) => {
  const [a, b, c, d, e, f] = ['fra', 'ams', 'nyc', 'syd', 'cn-only', 'off'].map(mirror)
  function mirror (id: string): Mirror {
    const base = table.mirrors[0] as Mirror
    const at: Record<string, [number, number]> = { fra: [50.1, 8.7], ams: [52.4, 4.9], nyc: [40.7, -74], syd: [-33.9, 151.2], 'cn-only': [39.9, 116.4], off: [48.1, 11.6] }
    const [latitude, longitude] = at[id] as [number, number]
    return { ...base, id, http: `http://${id}.example/alpine/`, https: null, latitude, longitude }
  }
  const client = { place: { country: 'DE', continent: 'EU', latitude: 52.5, longitude: 13.4, asn: null, source: 'geoip' }, family: 4, scheme: 'http', network: '192.0.2.0/24' } as const
  const ranked = (m: Mirror) => ({ site: m, distanceKm: 0, inGroup: true, sameCountry: false, sameAsn: false, score: 0 })
  const explanation = {
    client,
    selection: {
      ranked: [ranked(a as Mirror)],
      excluded: [
        { site: d as Mirror, code: 'down', reason: '' },
        { site: c as Mirror, code: 'stale', reason: '' },
        { site: b as Mirror, code: 'draining', reason: '' },
        { site: e as Mirror, code: 'only-countries', reason: '' },
        { site: f as Mirror, code: 'disabled', reason: '' }
      ],
      groupReason: '',
      standing: 'fresh'
    },
    appliedClass: 'volatile',
    file: null,
    budget: null
  } as unknown as Explanation
  t.same(rankedBases(explanation), ['fra', 'ams', 'nyc', 'syd'].map((id) => `http://${id}.example/alpine/`))
  const https = { ...explanation, client: { ...client, scheme: 'https' } } as unknown as Explanation
  t.same(rankedBases({ ...https, selection: { ...explanation.selection, ranked: [] } }), [], 'no https URL: not listed to an https client')
})
