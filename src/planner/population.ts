// The clients a plan is made for: client networks, each placed by GeoIP and given a request
// rate. From a country CSV: random public IPv4 /24s (uniform over public unicast space, so a
// country gets networks as it holds address space), each country's demand split evenly among
// its sampled networks. From an address list: its own networks, each at the rate of its lines.

import type { Continent } from '../core/countries.js'
import { isNonPublic, type Ip } from '../core/ip.js'
import type { GeoIp } from '../geoip/reader.js'
import { networkAddress, type Demand } from './demand.js'
import { PlanError } from './errors.js'
import type { Random } from './random.js'

export interface Network {
  readonly ip: Ip
  /** null: the database places it nowhere (the service then uses the instance's own region). */
  readonly country: string | null
  readonly continent: Continent | null
  /** Requests a second. */
  readonly rate: number
}

export interface Population {
  /** Only networks with demand (rate above 0). */
  readonly networks: readonly Network[]
  /** Networks sampled or listed, before those without demand were left out. */
  readonly sampled: number
  /** Sampled networks placed in no country, and in a country the CSV gives no weight. */
  readonly unplaced: number
  readonly undemanded: number
  /** Countries with demand but no sampled network, and their share of the demand (left out). */
  readonly missing: ReadonlyArray<{ readonly country: string, readonly share: number }>
}

/** About 14.5 million of the 16.8 million /24s are public; a sample draws from them without repeats, at most this many (memory). */
export const MAX_NETWORKS = 2_000_000

/** `count` distinct random public IPv4 /24s. */
export function sampleNetworks (count: number, random: Random): Ip[] {
  if (count > MAX_NETWORKS) throw new PlanError(`--networks: at most ${MAX_NETWORKS}`)
  const seen = new Set<number>()
  const out: Ip[] = []
  while (out.length < count) {
    const n = random.int(1 << 24)
    if (seen.has(n)) continue
    seen.add(n)
    const ip = networkAddress(n)
    if (!isNonPublic(ip)) out.push(ip)
  }
  return out
}

export function populationOf (demand: Demand, geoip: GeoIp, volume: number, count: number, random: Random): Population {
  return demand.kind === 'countries'
    ? fromCountries(demand.weights, sampleNetworks(count, random), geoip, volume)
    : fromAddresses(demand.networks, geoip, volume)
}

function fromCountries (weights: ReadonlyMap<string, number>, sample: readonly Ip[], geoip: GeoIp, volume: number): Population {
  const byCountry = new Map<string, Array<{ ip: Ip, continent: Continent | null }>>()
  let unplaced = 0
  let undemanded = 0
  for (const ip of sample) {
    const place = geoip.locate(ip)
    if (place.source === 'instance-region' || place.country === null) { unplaced++; continue }
    if ((weights.get(place.country) ?? 0) <= 0) { undemanded++; continue }
    let list = byCountry.get(place.country)
    if (list === undefined) byCountry.set(place.country, list = [])
    list.push({ ip, continent: place.continent })
  }
  let total = 0
  let present = 0
  for (const [cc, w] of weights) {
    total += w
    if (byCountry.has(cc)) present += w
  }
  const missing = [...weights].filter(([cc, w]) => w > 0 && !byCountry.has(cc))
    .map(([country, w]) => ({ country, share: w / total })).sort((a, b) => b.share - a.share || (a.country < b.country ? -1 : 1))
  if (present === 0) throw new PlanError('no sampled network is in a country the demand file weighs: sample more networks (--networks)')
  // The countries sampled carry the whole volume: the missing ones are reported, not lost.
  const networks: Network[] = []
  for (const [country, list] of byCountry) {
    const rate = volume * (weights.get(country) as number) / present / list.length
    for (const n of list) networks.push({ ip: n.ip, country, continent: n.continent, rate })
  }
  return { networks, sampled: sample.length, unplaced, undemanded, missing }
}

function fromAddresses (listed: ReadonlyMap<number, { ip: Ip, count: number }>, geoip: GeoIp, volume: number): Population {
  let lines = 0
  for (const n of listed.values()) lines += n.count
  let unplaced = 0
  const networks: Network[] = []
  for (const { ip, count } of listed.values()) {
    const place = geoip.locate(ip)
    const placed = place.source !== 'instance-region' && place.country !== null
    if (!placed) unplaced++
    // Unplaced clients still ask: the service sends them by the instance's region, and so does the plan.
    networks.push({ ip, country: placed ? place.country : null, continent: place.continent, rate: volume * count / lines })
  }
  return { networks, sampled: listed.size, unplaced, undemanded: 0, missing: [] }
}
