// A place from the free text of Alpine's `location` field ("Europe, Netherlands", "Maidenhead,
// United Kingdom", "Potsdam, NY, USA"), for mirrors whose host cannot be placed by its addresses.
// Country names come from core/countries and a few aliases; cities from a small table of those in
// Alpine's list. What is not recognised gives null: the caller says so, it never guesses.

import { COUNTRIES } from '../core/countries.js'

export interface TextPlace {
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  /** The city whose coordinates are used, or null for the country's centroid. */
  readonly city: string | null
}

/** Lowercase, without accents, dots or a leading "the", single spaces: "The Netherlands" → "netherlands". */
export function normalise (text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\./g, '')
    .replace(/[^a-z0-9'() -]/g, ' ').replace(/\s+/g, ' ').trim().replace(/^the /, '')
}

/** Names people write for countries besides the names in core/countries. */
const ALIASES: Readonly<Record<string, string>> = {
  usa: 'US', us: 'US', 'united states of america': 'US', america: 'US',
  uk: 'GB', 'great britain': 'GB', britain: 'GB', england: 'GB', scotland: 'GB', wales: 'GB', 'northern ireland': 'GB',
  holland: 'NL',
  'czech republic': 'CZ',
  'russian federation': 'RU',
  korea: 'KR', 'republic of korea': 'KR',
  'republic of china': 'TW',
  'peoples republic of china': 'CN', prc: 'CN',
  'hong kong sar': 'HK', macau: 'MO',
  'viet nam': 'VN',
  turkey: 'TR',
  macedonia: 'MK',
  'republic of moldova': 'MD',
  swaziland: 'SZ',
  'cape verde': 'CV',
  'ivory coast': 'CI',
  uae: 'AE',
  'islamic republic of iran': 'IR'
}

const NAMES: ReadonlyMap<string, string> = new Map([
  ...[...COUNTRIES].map(([code, info]) => [normalise(info.name), code] as const),
  ...Object.entries(ALIASES)
])

interface City { readonly name: string, readonly country: string, readonly latitude: number, readonly longitude: number }

/** Cities named in Alpine's mirror lists, at about 1 km, by normalised name. */
const CITIES: ReadonlyMap<string, City> = new Map(Object.entries({
  maidenhead: { name: 'Maidenhead', country: 'GB', latitude: 51.52, longitude: -0.72 },
  london: { name: 'London', country: 'GB', latitude: 51.51, longitude: -0.13 },
  amsterdam: { name: 'Amsterdam', country: 'NL', latitude: 52.37, longitude: 4.90 },
  prague: { name: 'Prague', country: 'CZ', latitude: 50.08, longitude: 14.42 },
  helsinki: { name: 'Helsinki', country: 'FI', latitude: 60.17, longitude: 24.94 },
  potsdam: { name: 'Potsdam', country: 'US', latitude: 44.67, longitude: -74.98 },
  'sao paulo': { name: 'São Paulo', country: 'BR', latitude: -23.55, longitude: -46.63 },
  waterloo: { name: 'Waterloo', country: 'CA', latitude: 43.47, longitude: -80.54 },
  umea: { name: 'Umeå', country: 'SE', latitude: 63.83, longitude: 20.26 },
  aachen: { name: 'Aachen', country: 'DE', latitude: 50.78, longitude: 6.08 },
  esslingen: { name: 'Esslingen', country: 'DE', latitude: 48.74, longitude: 9.30 },
  reykjavik: { name: 'Reykjavík', country: 'IS', latitude: 64.15, longitude: -21.94 },
  aalborg: { name: 'Aalborg', country: 'DK', latitude: 57.05, longitude: 9.92 },
  tsukuba: { name: 'Tsukuba', country: 'JP', latitude: 36.08, longitude: 140.11 },
  tokyo: { name: 'Tokyo', country: 'JP', latitude: 35.68, longitude: 139.69 },
  taipei: { name: 'Taipei', country: 'TW', latitude: 25.03, longitude: 121.57 },
  sydney: { name: 'Sydney', country: 'AU', latitude: -33.87, longitude: 151.21 },
  moscow: { name: 'Moscow', country: 'RU', latitude: 55.76, longitude: 37.62 },
  chicago: { name: 'Chicago', country: 'US', latitude: 41.88, longitude: -87.63 }
}))

/** The country named in the text, or by the list's own `country` code, with a city where one is known. */
export function placeFromText (location: string | null, countryCode: string | null): TextPlace | null {
  const parts = location === null ? [] : location.split(/[,;/]/).map(normalise).filter((p) => p !== '')
  // The whole text first ("Bosnia and Herzegovina"), then its parts from the last: lists write
  // "city, country" or "continent, country, city".
  const named = [normalise(location ?? ''), ...parts.reverse()].map((p) => NAMES.get(p)).find((c) => c !== undefined)
  const country = countryCode ?? named ?? null
  const city = parts.map((p) => [p, CITIES.get(p)] as const)
    .find(([, c]) => c !== undefined && (country === null || c.country === country))
  if (city !== undefined) {
    const c = city[1] as City
    return { country: c.country, latitude: c.latitude, longitude: c.longitude, city: c.name }
  }
  const info = country === null ? undefined : COUNTRIES.get(country)
  if (country === null || info === undefined) return null
  return { country, latitude: info.latitude, longitude: info.longitude, city: null }
}
