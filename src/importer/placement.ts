// Where a mirror is, from the GeoIP records of its addresses (and their ASNs where an ASN
// database is configured). Addresses the databases do not place (non-public, unknown) count for
// nothing; addresses placed in different countries are placed by the first, IPv4 first, and said.

import { parseIp } from '../core/ip.js'
import type { GeoIp } from '../geoip/reader.js'

export type AddressPlace = {
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  readonly asns: readonly number[]
  /** The address whose record gave the place. */
  readonly by: string
  readonly notes: readonly string[]
} | { readonly problem: string }

/** City-level coordinates (about 1 km): GeoIP is no more precise, and short numbers diff well. */
export const round = (x: number): number => Math.round(x * 100) / 100

export function placeByAddresses (addresses: readonly string[], geoip: GeoIp): AddressPlace {
  const ips = addresses.map((a) => ({ text: a, ip: parseIp(a) }))
    .filter((a) => a.ip !== null)
    .sort((a, b) => (a.ip?.family ?? 4) - (b.ip?.family ?? 4))
  const placed = ips.map((a) => ({ text: a.text, place: geoip.locate(a.ip as NonNullable<typeof a.ip>) }))
  const asns = [...new Set(placed.map((p) => p.place.asn).filter((n): n is number => n !== null))].sort((a, b) => a - b)
  // The instance region is GeoIp's answer for what no database places: not a place of the mirror.
  const found = placed.filter((p) => p.place.source !== 'instance-region' && p.place.country !== null)
  const first = found[0]
  if (first === undefined) {
    return { problem: `its addresses (${addresses.join(', ')}) are ${ips.length === 0 ? 'not IP addresses' : 'in no GeoIP record (non-public or unknown)'}` }
  }
  const countries = [...new Set(found.map((p) => p.place.country))]
  const notes = countries.length > 1
    ? [`its addresses are placed in ${countries.join(', ')}; placed by ${first.text}`]
    : []
  return {
    country: first.place.country as string,
    latitude: round(first.place.latitude),
    longitude: round(first.place.longitude),
    asns,
    by: first.text,
    notes
  }
}
