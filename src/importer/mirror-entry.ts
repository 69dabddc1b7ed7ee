// One entry of Alpine's list as a mirrorgate table entry (the table file's document form):
// placed by its addresses where GeoIP knows them, else by the list's location text, else not
// at all (disabled). Whatever was not certain goes in a note starting "review:".

import { COUNTRIES } from '../core/countries.js'
import type { GeoIp } from '../geoip/reader.js'
import type { AlpineEntry } from './alpine-list.js'
import { parseBandwidth } from './bandwidth.js'
import { placeFromText } from './location-text.js'
import { placeByAddresses } from './placement.js'
import type { Resolution } from './resolve.js'

/** A table entry as it appears in the file: validated later by the table's own validator. */
export type MirrorDoc = Record<string, unknown>

export type Placement = 'geoip' | 'location' | 'unplaced'

export interface ImportedMirror {
  readonly entry: AlpineEntry
  readonly id: string
  readonly doc: MirrorDoc
  readonly placement: Placement
  /** Why a person should look at this entry; empty when nothing is uncertain. */
  readonly review: readonly string[]
}

/** Where an entry nobody can place is put while disabled: a valid place, never a claim. */
export interface Placeholder { readonly country: string, readonly latitude: number, readonly longitude: number }

/** Imported mirrors all start equal; the operator's weights go in the overrides file. */
export const IMPORTED_WEIGHT = 10

/** A table id from a host name: lowercase, dots (and anything else) to dashes, at most 63 characters. */
export function idOf (host: string): string {
  const id = host.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 63).replace(/^-+|-+$/g, '')
  return id === '' ? 'mirror' : id
}

/** Ids for the entries in order, made unique with -2, -3…; the second of a pair says so. */
export function uniqueIds (entries: readonly AlpineEntry[]): Array<{ id: string, note: string | null }> {
  const taken = new Map<string, number>()
  return entries.map((e) => {
    const base = idOf(e.host)
    const first = taken.get(base)
    if (first === undefined) {
      taken.set(base, e.index)
      return { id: base, note: null }
    }
    let n = 2
    while (taken.has(`${base.slice(0, 60)}-${n}`)) n++
    const id = `${base.slice(0, 60)}-${n}`
    taken.set(id, e.index)
    return { id, note: `same host as entry [${first}]; id ${id}` }
  })
}

export function importMirror (entry: AlpineEntry, id: string, resolution: Resolution | undefined, geoip: GeoIp, placeholder: Placeholder): ImportedMirror {
  const review: string[] = [...entry.notes]
  const text = placeFromText(entry.location, entry.country)
  const addresses = resolution !== undefined && 'addresses' in resolution ? resolution.addresses : []
  const byAddress = addresses.length > 0 ? placeByAddresses(addresses, geoip) : null
  const families = addresses.some((a) => a.includes(':')) ? ['ipv4', 'ipv6'] : ['ipv4']
  let placement: Placement
  let place: { country: string, latitude: number, longitude: number }
  let asns: readonly number[] = []
  if (byAddress !== null && 'country' in byAddress) {
    placement = 'geoip'
    place = byAddress
    asns = byAddress.asns
    review.push(...byAddress.notes)
    if (text !== null && text.country !== byAddress.country) {
      review.push(`the list's location (${entry.location ?? entry.country ?? ''}) says ${text.country}, GeoIP of ${byAddress.by} says ${byAddress.country}`)
    }
  } else {
    const why = byAddress !== null && 'problem' in byAddress
      ? `${entry.host}: ${byAddress.problem}`
      : `${entry.host} did not resolve (${resolution !== undefined && 'error' in resolution ? resolution.error : 'not asked'})`
    if (text !== null) {
      placement = 'location'
      place = text
      const where = text.city === null ? `${text.country}, country centroid` : `${text.country}, ${text.city}`
      review.unshift(`placed from the list's location text (${entry.location ?? `country: ${entry.country ?? ''}`} → ${where}); ${why}`)
    } else {
      placement = 'unplaced'
      place = placeholder
      const location = entry.location === null ? 'the list gives no location' : `the list's location (${entry.location}) names no country we know`
      review.unshift(`not placed, disabled: ${why}, and ${location}; ` +
        `country ${placeholder.country} is a placeholder until the overrides set country, latitude and longitude`)
    }
  }
  let budget: { megabitsPerSecond: number } | undefined
  if (entry.bandwidth !== null) {
    const b = typeof entry.bandwidth === 'string'
      ? parseBandwidth(entry.bandwidth)
      : { problem: `bandwidth ${entry.bandwidth} has no unit` }
    if ('problem' in b) review.push(`${b.problem}; no budget`)
    else {
      budget = { megabitsPerSecond: b.megabitsPerSecond }
      if (b.note !== undefined) review.push(b.note)
    }
  }
  const doc: MirrorDoc = {
    id,
    name: entry.name,
    tier: 'community',
    urls: [...entry.urls],
    country: place.country,
    latitude: place.latitude,
    longitude: place.longitude,
    ...(asns.length > 0 ? { asns: [...asns] } : {}),
    weight: IMPORTED_WEIGHT,
    families,
    enabled: placement !== 'unplaced',
    ...(review.length > 0 ? { note: `review: ${review.join('; ')}` } : {}),
    ...(budget !== undefined ? { budget } : {})
  }
  return { entry, id, doc, placement, review }
}

/** The placeholder for unplaced entries: this instance's region, or Germany's centroid without one. */
export function placeholderOf (instance: { country: string | null, latitude: number, longitude: number }): Placeholder {
  if (instance.country !== null && COUNTRIES.has(instance.country)) return { country: instance.country, latitude: instance.latitude, longitude: instance.longitude }
  const de = COUNTRIES.get('DE') as NonNullable<ReturnType<typeof COUNTRIES.get>>
  return { country: 'DE', latitude: de.latitude, longitude: de.longitude }
}
