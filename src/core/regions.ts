// Region hints: a client behind a far-away resolver (or anyone testing) can pin its region
// with a host label (eu.dl-cdn.example.org) or a path prefix (/_r/eu/alpine/...). A hint is
// a continent code or an ISO country code, lowercase; it becomes the client's place.

import { COUNTRIES, type Continent } from './countries.js'
import type { Place } from './types.js'

/** Rough population-weighted centres: what "a client somewhere in this continent" means. */
const CONTINENT_CENTRES: Readonly<Record<Continent, readonly [number, number]>> = {
  AF: [5.0, 20.0],
  AN: [-80.0, 0.0],
  AS: [30.0, 100.0],
  EU: [50.0, 10.0],
  NA: [40.0, -95.0],
  OC: [-25.0, 140.0],
  SA: [-15.0, -60.0]
}

const places = new Map<string, Place>()
for (const [code, [latitude, longitude]] of Object.entries(CONTINENT_CENTRES)) {
  places.set(code.toLowerCase(), Object.freeze({ country: null, continent: code as Continent, latitude, longitude, asn: null, source: 'region-hint' }))
}
for (const [code, c] of COUNTRIES) {
  // Continent codes win where they clash with a country code: af, as, na and sa name
  // continents, so Afghanistan, American Samoa, Namibia and Saudi Arabia have no hint.
  if (!places.has(code.toLowerCase())) {
    places.set(code.toLowerCase(), Object.freeze({ country: code, continent: c.continent, latitude: c.latitude, longitude: c.longitude, asn: null, source: 'region-hint' }))
  }
}

/** The place a hint pins, or null when the hint names no continent or country. */
export function regionPlace (hint: string): Place | null {
  return places.get(hint) ?? null
}
