// src/config/table-file.ts: the shipped mirror table loads, and every mistake an operator
// can make is reported as MG_ERR_TABLE_INVALID naming the file and the field.

import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { COUNTRIES } from '../../src/core/countries.js'
import { distanceKm } from '../../src/core/geo.js'
import { loadTableFile, parseTableText, tableFromDocument } from '../../src/config/table-file.js'
import { MgError } from '../../src/errors.js'

const SHIPPED = fileURLToPath(new URL('../../data/mirrors.yaml', import.meta.url))

t.test('the shipped data/mirrors.yaml', async (t) => {
  const table = parseTableText(readFileSync(SHIPPED, 'utf8'), SHIPPED)
  const enabled = table.mirrors.filter((m) => m.enabled)
  const community = enabled.filter((m) => m.tier === 'community')
  t.ok(community.length >= 60, `${community.length} enabled community mirrors`)
  t.same(enabled.filter((m) => m.tier !== 'community').map((m) => m.id), [], 'every enabled mirror is a community one')

  const t1 = table.mirrors.filter((m) => m.tier === 't1')
  t.same([...new Set(t1.map((m) => m.sponsor))].sort(), ['Cherry Servers', 'HorizonIQ', 'NETMOUNTAINS Group GmbH', 'Osso B.V.'], 'the four sponsors')
  t.same(t1.filter((m) => m.enabled).map((m) => m.id), [], 'sponsor entries ship disabled')
  for (const m of t1) t.match(m.https, /\.example\.invalid\//, `${m.id} has a placeholder host`)

  const de = enabled.filter((m) => m.country === 'DE')
  t.ok(de.length >= 3, `${de.length} enabled mirrors in DE`)
  const continents = new Set(enabled.map((m) => m.continent))
  t.ok(continents.size >= 5, `enabled mirrors on ${[...continents].sort().join(', ')}`)

  t.equal(table.byId.size, table.mirrors.length, 'ids are unique')
  const problems: string[] = []
  for (const m of table.mirrors) {
    if (m.http === null && m.https === null) problems.push(`${m.id}: no URL`)
    for (const u of [m.http, m.https]) if (u !== null && (!u.endsWith('/') || new URL(u).href !== u)) problems.push(`${m.id}: ${u}`)
    if (!m.ipv4 && !m.ipv6) problems.push(`${m.id}: no family`)
    if (!(m.weight > 0)) problems.push(`${m.id}: weight ${m.weight}`)
    // Coordinates are city level: within a few thousand km of the country's centroid (Moscow
    // is ~3800 km from Russia's), which catches swapped or sign-flipped latitude/longitude.
    const c = COUNTRIES.get(m.country)
    if (c === undefined) problems.push(`${m.id}: country ${m.country}`)
    else if (distanceKm(c.latitude, c.longitude, m.latitude, m.longitude) > 4500) problems.push(`${m.id}: ${m.latitude}, ${m.longitude} is far from ${m.country}`)
    if (!Object.isFrozen(m) || !Object.isFrozen(m.restrictions)) problems.push(`${m.id}: not frozen`)
  }
  t.same(problems, [])
  t.ok(enabled.filter((m) => m.https !== null).length >= 50, 'most mirrors offer https')

  const loaded = await loadTableFile(SHIPPED)
  t.same(loaded.mirrors, table.mirrors, 'loadTableFile reads the same table')
  t.equal(loaded.version, table.version, 'the same content has the same version, whichever process built it')
  const doc = parse(readFileSync(SHIPPED, 'utf8')) as { mirrors: Array<{ weight: number }> }
  ;(doc.mirrors[0] as { weight: number }).weight += 1
  t.not(tableFromDocument(doc, SHIPPED).version, table.version, 'a changed weight is a new version')
})

// ---------- errors ----------

type Row = Record<string, unknown>

const row = (over: Row = {}): Row => ({
  id: 'mirror-one',
  name: 'Mirror One',
  tier: 'community',
  urls: ['http://mirror.example.org/alpine/', 'https://mirror.example.org/alpine/'],
  country: 'DE',
  latitude: 50.11,
  longitude: 8.68,
  weight: 10,
  families: ['ipv4', 'ipv6'],
  enabled: true,
  ...over
})

const FILE = 'tables/mirrors.yaml'

/** Asserts tableFromDocument rejects doc with MG_ERR_TABLE_INVALID, naming the file and `field`. */
function rejects (t: Test, doc: unknown, field: string, what: RegExp, name: string): void {
  const err = t.throws(() => tableFromDocument(doc, FILE), { name: 'MgError', code: 'MG_ERR_TABLE_INVALID', message: what }, name)
  if (err instanceof Error) {
    t.type(err, MgError)
    t.ok(err.message.includes(`${FILE}: ${field}: `), `${name}: names ${field} in "${err.message}"`)
  }
}

t.test('a minimal valid document, for contrast', async (t) => {
  const table = tableFromDocument({ mirrors: [row(), row({ id: 'mirror-two', urls: ['https://two.example.org/'] })] }, 'x.yaml')
  t.same(table.mirrors.map((m) => [m.id, m.http, m.https]), [
    ['mirror-one', 'http://mirror.example.org/alpine/', 'https://mirror.example.org/alpine/'],
    ['mirror-two', null, 'https://two.example.org/']
  ])
  t.equal(table.mirrors[0]?.continent, 'EU')
})

t.test('each mistake names its field', async (t) => {
  rejects(t, { mirrors: [row({ colour: 'blue' })] }, 'mirrors[0].colour', /unknown field/, 'unknown field')
  rejects(t, { mirrors: [row({ restrictions: { onlyCities: ['Berlin'] } })] }, 'mirrors[0].restrictions.onlyCities', /unknown field/, 'unknown restriction')
  rejects(t, { mirrors: [row(), row({ name: 'Again' })] }, 'mirrors[1].id', /duplicate id "mirror-one" \(first at mirrors\[0\]\)/, 'duplicate id')
  rejects(t, { mirrors: [row({ id: 'Mirror_One' })] }, 'mirrors[0].id', /lowercase/, 'id with uppercase and underscore')

  rejects(t, { mirrors: [row({ urls: ['ftp://mirror.example.org/alpine/'] })] }, 'mirrors[0].urls[0]', /http:\/\/ or https:\/\//, 'ftp URL')
  rejects(t, { mirrors: [row({ urls: ['https://mirror.example.org/alpine'] })] }, 'mirrors[0].urls[0]', /must end with '\/'/, 'no trailing slash')
  rejects(t, { mirrors: [row({ urls: ['HTTPS://mirror.example.org/alpine/'] })] }, 'mirrors[0].urls[0]', /lowercase/, 'uppercase scheme')
  rejects(t, { mirrors: [row({ urls: ['https://mirror.example.org/alpine/?x=1'] })] }, 'mirrors[0].urls[0]', /query/, 'query in URL')
  rejects(t, { mirrors: [row({ urls: ['https://mirror.example.org/alpine/#top'] })] }, 'mirrors[0].urls[0]', /fragment/, 'fragment in URL')
  rejects(t, { mirrors: [row({ urls: ['https://user:pw@mirror.example.org/alpine/'] })] }, 'mirrors[0].urls[0]', /credentials/, 'credentials in URL')
  rejects(t, { mirrors: [row({ urls: ['https://Mirror.Example.org/alpine/'] })] }, 'mirrors[0].urls[0]', /canonical/, 'non-canonical host')
  rejects(t, { mirrors: [row({ urls: ['not a url'] })] }, 'mirrors[0].urls[0]', /not a valid URL/, 'not a URL')
  rejects(t, { mirrors: [row({ urls: ['https://a.example.org/', 'https://b.example.org/'] })] }, 'mirrors[0].urls', /more than one https:\/\//, 'two https URLs')
  rejects(t, { mirrors: [row({ urls: [] })] }, 'mirrors[0].urls', /at least 1/, 'no URL')

  rejects(t, { mirrors: [row({ latitude: 91 })] }, 'mirrors[0].latitude', /91 is out of range \[-90, 90\]/, 'latitude 91')
  rejects(t, { mirrors: [row({ longitude: -180.5 })] }, 'mirrors[0].longitude', /out of range/, 'longitude -180.5')
  rejects(t, { mirrors: [row({ latitude: '50.1' })] }, 'mirrors[0].latitude', /expected a number/, 'latitude as a string')
  rejects(t, { mirrors: [row({ country: 'XX' })] }, 'mirrors[0].country', /"XX" is not an ISO 3166-1 alpha-2/, 'unknown country')
  rejects(t, { mirrors: [row({ country: 'de' })] }, 'mirrors[0].country', /"de" is not an ISO 3166-1 alpha-2 country code \(uppercase\)/, 'lowercase country')
  rejects(t, { mirrors: [row({ restrictions: { excludeCountries: ['DE', 'XX'] } })] }, 'mirrors[0].restrictions.excludeCountries[1]', /"XX"/, 'unknown excluded country')
  rejects(t, { mirrors: [row({ restrictions: { onlyContinents: ['Europe'] } })] }, 'mirrors[0].restrictions.onlyContinents[0]', /"Europe" is not one of AF, AN, AS, EU, NA, OC, SA/, 'bad continent')
  rejects(t, { mirrors: [row({ weight: 0 })] }, 'mirrors[0].weight', /0 is out of range/, 'weight 0')
  rejects(t, { mirrors: [row({ weight: -5 })] }, 'mirrors[0].weight', /out of range/, 'negative weight')
  rejects(t, { mirrors: [row({ families: ['ipv5'] })] }, 'mirrors[0].families[0]', /"ipv5" is not one of ipv4, ipv6/, 'bad family')
  rejects(t, { mirrors: [row({ families: 'ipv4' })] }, 'mirrors[0].families', /expected a list/, 'family not a list')
  rejects(t, { mirrors: [row({ tier: 't2' })] }, 'mirrors[0].tier', /not one of t1, community/, 'bad tier')
  rejects(t, { mirrors: [row({ enabled: 'yes' })] }, 'mirrors[0].enabled', /expected true or false/, 'enabled as a string')
  rejects(t, { mirrors: [row({ asns: [0] })] }, 'mirrors[0].asns[0]', /out of range/, 'ASN 0')
  rejects(t, { mirrors: [row({ asns: [3320.5] })] }, 'mirrors[0].asns[0]', /expected an integer/, 'fractional ASN')

  for (const field of ['id', 'name', 'tier', 'urls', 'country', 'latitude', 'longitude', 'weight', 'families', 'enabled']) {
    const r = row()
    delete r[field]
    rejects(t, { mirrors: [row({ id: 'fine' }), r] }, `mirrors[1].${field}`, /is required/, `missing ${field}`)
  }

  rejects(t, { mirrors: [] }, 'mirrors', /at least 1/, 'empty table')
  rejects(t, { mirror: [row()] }, 'mirror', /unknown field/, 'misspelt top-level key')
  rejects(t, [row()], '', /expected a mapping, got a list/, 'a bare list')
  rejects(t, { mirrors: ['mirror-one'] }, 'mirrors[0]', /expected a mapping/, 'a row that is a string')
})

t.test('YAML problems', async (t) => {
  const bad = (text: string, what: RegExp, name: string): void => {
    const err = t.throws(() => parseTableText(text, 'bad.yaml'), { name: 'MgError', code: 'MG_ERR_TABLE_INVALID', message: what }, name)
    if (err instanceof Error) t.match(err.message, /^Mirror table is invalid: bad\.yaml: /, `${name}: names the file`)
  }
  bad('mirrors: [\n  - id: x\n', /not valid YAML/, 'unclosed flow sequence')
  bad('mirrors:\n  - id: a\n    id: b\n', /not valid YAML/, 'duplicate key')
  bad('mirrors:\n\t- id: a\n', /not valid YAML/, 'tab indentation')
  bad('', /expected a mapping, got null/, 'empty file')
  bad('just text', /expected a mapping/, 'a scalar')

  const good = `mirrors:
  - id: one
    name: One
    tier: community
    urls: [https://one.example.org/alpine/]
    country: DE
    latitude: 50.11
    longitude: 8.68
    weight: 10
    families: [ipv6]
    enabled: true
    restrictions:
      onlyContinents: [EU]
`
  const table = parseTableText(good, 'good.yaml')
  t.same(table.mirrors[0]?.restrictions, { onlyCountries: [], onlyContinents: ['EU'], excludeCountries: [] })
  t.equal(table.mirrors[0]?.ipv4, false)
  bad(good.replace('latitude: 50.11', 'latitude: 91'), /mirrors\[0\]\.latitude: 91 is out of range/, 'latitude 91 from YAML')
  bad(good.replace('country: DE', 'country: de'), /mirrors\[0\]\.country/, 'lowercase country from YAML')
})

t.test('an unreadable file', async (t) => {
  await t.rejects(loadTableFile(t.testdir() + '/missing.yaml'), { code: 'MG_ERR_TABLE_INVALID', message: /missing\.yaml: cannot read/ })
})
