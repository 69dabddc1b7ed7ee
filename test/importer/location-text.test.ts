// src/importer/location-text.ts: the place named by Alpine's location text, or null.

import t from 'tap'
import { COUNTRIES } from '../../src/core/countries.js'
import { normalise, placeFromText } from '../../src/importer/location-text.js'

const centroid = (cc: string) => {
  const c = COUNTRIES.get(cc)
  if (c === undefined) throw new Error(cc)
  return { country: cc, latitude: c.latitude, longitude: c.longitude, city: null }
}

t.test('every location in the 2018 reference list', async (t) => {
  const cases: Array<[string, string, string | null]> = [
    ['Europe, Netherlands', 'NL', null],
    ['Maidenhead, United Kingdom', 'GB', 'Maidenhead'],
    ['Europe, Czech Republic', 'CZ', null],
    ['Helsinki, Finland', 'FI', 'Helsinki'],
    ['Amsterdam, The Netherlands', 'NL', 'Amsterdam'],
    ['Potsdam, NY, USA', 'US', 'Potsdam'],
    ['South America, Brazil, São Paulo', 'BR', 'São Paulo'],
    ['Asia, Taiwan', 'TW', null],
    ['Australia', 'AU', null],
    ['Waterloo, Ontario, Canada', 'CA', 'Waterloo'],
    ['Umeå, Sweden', 'SE', 'Umeå'],
    ['Aachen, Germany', 'DE', 'Aachen'],
    ['Reykjavik, Iceland', 'IS', 'Reykjavík'],
    ['Aalborg, Denmark', 'DK', 'Aalborg'],
    ['Tsukuba, Japan', 'JP', 'Tsukuba'],
    ['Philippines', 'PH', null]
  ]
  for (const [text, country, city] of cases) {
    const p = placeFromText(text, null)
    t.equal(p?.country, country, `${text}: ${country}`)
    t.equal(p?.city, city, `${text}: ${city ?? 'centroid'}`)
    if (city === null) t.same(p, centroid(country), `${text}: at the centroid`)
  }
  t.same(placeFromText('Maidenhead, United Kingdom', null), { country: 'GB', latitude: 51.52, longitude: -0.72, city: 'Maidenhead' })
})

t.test('names from core/countries, aliases, case and accents', async (t) => {
  t.equal(placeFromText('Bosnia and Herzegovina', null)?.country, 'BA', 'a name with "and" in it')
  t.equal(placeFromText('Bonaire, Sint Eustatius and Saba', null)?.country, 'BQ', 'a name with a comma in it')
  t.equal(placeFromText('CÔTE D\'IVOIRE', null)?.country, 'CI')
  t.equal(placeFromText('Hanoi, Viet Nam', null)?.country, 'VN')
  t.equal(placeFromText('London, UK', null)?.city, 'London')
  t.equal(placeFromText('Brno, Czechia', null)?.country, 'CZ')
  t.equal(placeFromText('Seoul, Korea', null)?.country, 'KR')
  t.equal(placeFromText('Istanbul; Turkey', null)?.country, 'TR')
  t.equal(normalise('  The  Netherlands. '), 'netherlands')
})

t.test('the entry\'s own country code wins, and a city must be in it', async (t) => {
  t.same(placeFromText('Reykjavik, Iceland', 'IS')?.city, 'Reykjavík')
  t.same(placeFromText(null, 'IS'), centroid('IS'), 'a code without text: the centroid')
  t.same(placeFromText('Potsdam, Germany', null), centroid('DE'), 'Potsdam in the table is in the US: not used for Germany')
  t.equal(placeFromText('Amsterdam', null)?.country, 'NL', 'a known city alone names its country')
})

t.test('nothing recognisable: null', async (t) => {
  for (const text of ['GeoDNS', 'somewhere', 'Europe', 'Mars, Solar System', '', 'NY']) t.equal(placeFromText(text, null), null, text)
  t.equal(placeFromText(null, null), null)
})
