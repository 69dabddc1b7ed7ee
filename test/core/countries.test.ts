// src/core/countries.ts: the ISO 3166-1 table used for validation, continents and
// country-centroid places.

import t from 'tap'
import { COUNTRIES, CONTINENTS, type Continent } from '../../src/core/countries.js'
import { distanceKm } from '../../src/core/geo.js'

t.test('249 ISO 3166-1 countries plus XK', async (t) => {
  t.equal(COUNTRIES.size, 250)
  t.ok(COUNTRIES.has('XK'), 'Kosovo (user-assigned XK, used by GeoIP databases)')
  const badCodes = [...COUNTRIES.keys()].filter((c) => !/^[A-Z]{2}$/.test(c))
  t.same(badCodes, [], 'every code is two uppercase letters')
  t.notOk(COUNTRIES.has('de'), 'lookups are case-sensitive')
  for (const notACountry of ['EU', 'UK', 'XX', 'ZZ', 'AN', '']) t.notOk(COUNTRIES.has(notACountry), `${notACountry || "''"} is not in the table`)
})

t.test('every code is a region ICU knows, and every field is in range', async (t) => {
  const names = new Intl.DisplayNames(['en'], { type: 'region' })
  const problems: string[] = []
  for (const [code, c] of COUNTRIES) {
    // DisplayNames echoes codes it does not know.
    if (names.of(code) === code) problems.push(`${code}: unknown to ICU`)
    if (c.name.trim() === '' || c.name !== c.name.trim()) problems.push(`${code}: name ${JSON.stringify(c.name)}`)
    if (!CONTINENTS.has(c.continent)) problems.push(`${code}: continent ${c.continent}`)
    if (!Number.isFinite(c.latitude) || c.latitude < -90 || c.latitude > 90) problems.push(`${code}: latitude ${c.latitude}`)
    if (!Number.isFinite(c.longitude) || c.longitude < -180 || c.longitude > 180) problems.push(`${code}: longitude ${c.longitude}`)
    if (!Object.isFrozen(c)) problems.push(`${code}: entry not frozen`)
  }
  t.same(problems, [])
  t.same([...CONTINENTS].sort(), ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'])
})

t.test('every continent has countries, in plausible numbers', async (t) => {
  const count = new Map<Continent, number>()
  for (const c of COUNTRIES.values()) count.set(c.continent, (count.get(c.continent) ?? 0) + 1)
  // Lower bounds from the UN geoscheme (54 African states alone, plus territories).
  const atLeast: Record<Continent, number> = { AF: 54, AN: 1, AS: 45, EU: 44, NA: 23, OC: 14, SA: 12 }
  for (const [continent, min] of Object.entries(atLeast)) {
    const n = count.get(continent as Continent) ?? 0
    t.ok(n >= min, `${continent}: ${n} countries (at least ${min})`)
  }
  t.equal([...count.values()].reduce((a, b) => a + b, 0), 250)
})

t.test('spot checks', async (t) => {
  const expect: Array<[string, string, Continent, number, number]> = [
    ['DE', 'Germany', 'EU', 51.17, 10.45],
    ['FR', 'France', 'EU', 46.23, 2.21],
    ['US', 'United States', 'NA', 37.09, -95.71],
    ['JP', 'Japan', 'AS', 36.20, 138.25],
    ['AU', 'Australia', 'OC', -25.27, 133.78],
    ['BR', 'Brazil', 'SA', -14.24, -51.93],
    ['ZA', 'South Africa', 'AF', -30.56, 22.94],
    ['AQ', 'Antarctica', 'AN', -75.25, -0.07]
  ]
  for (const [code, name, continent, lat, lon] of expect) {
    const c = COUNTRIES.get(code)
    t.equal(c?.name, name, `${code} name`)
    t.equal(c?.continent, continent, `${code} continent`)
    // The centroid is "approximate": within 300 km of a published one is close enough.
    t.ok(c !== undefined && distanceKm(c.latitude, c.longitude, lat, lon) < 300, `${code} centroid near ${lat}, ${lon}`)
  }
  // Continent assignments where people often disagree: the table follows GeoNames.
  t.equal(COUNTRIES.get('RU')?.continent, 'EU')
  t.equal(COUNTRIES.get('TR')?.continent, 'AS')
  t.equal(COUNTRIES.get('EG')?.continent, 'AF')
  t.equal(COUNTRIES.get('PA')?.continent, 'NA')
  t.equal(COUNTRIES.get('CY')?.continent, 'EU')
  t.equal(COUNTRIES.get('NZ')?.continent, 'OC')
  t.equal(COUNTRIES.get('XK')?.continent, 'EU')
  // Hemispheres, as a sanity check on sign conventions.
  t.ok((COUNTRIES.get('AR')?.latitude ?? 0) < 0 && (COUNTRIES.get('AR')?.longitude ?? 0) < 0, 'Argentina is south-west')
  t.ok((COUNTRIES.get('NZ')?.latitude ?? 0) < 0 && (COUNTRIES.get('NZ')?.longitude ?? 0) > 0, 'New Zealand is south-east')
  t.ok((COUNTRIES.get('CA')?.latitude ?? 0) > 0 && (COUNTRIES.get('CA')?.longitude ?? 0) < 0, 'Canada is north-west')
})

t.test('the table is read-only', async (t) => {
  t.throws(() => (COUNTRIES as Map<string, unknown>).set('XX', {}), TypeError)
  t.throws(() => (COUNTRIES as Map<string, unknown>).delete('DE'), TypeError)
  t.throws(() => (COUNTRIES as Map<string, unknown>).clear(), TypeError)
  t.equal(COUNTRIES.size, 250)
  t.ok(COUNTRIES.has('DE'))
  const de = COUNTRIES.get('DE') as { latitude: number }
  t.throws(() => { de.latitude = 0 }, TypeError, 'entries are frozen')
})
