// GeoIP at the edge: opens .mmdb files with maxmind and turns their records into a Place.
// Understands the MaxMind GeoIP2/GeoLite2 City, Country and ASN schemas and the flat
// ip-location-db schema (country_code, latitude, longitude).
//
// Files are replaced in place by their updaters (geoipupdate, the ip-location-db packages):
// reload() reads the changed ones, checks each fully against the one in force (it opens, its
// type is one we read, its tree fits the file, it still places the addresses the old one
// placed) and only then swaps the whole set in one assignment, clearing the per-network and
// per-place caches. A bad file is rejected and the set in force stays.

import { closeSync, fstatSync, openSync, readFileSync, type Stats } from 'node:fs'
import { open } from 'node:fs/promises'
import { LRUCache } from 'lru-cache'
import { Reader } from 'maxmind'
import { COUNTRIES, CONTINENTS, type Continent } from '../core/countries.js'
import { formatIp, isNonPublic, networkId, type Ip } from '../core/ip.js'
import { NetworkCache } from '../network-cache.js'
import type { Place } from '../core/types.js'
import type { InstanceConfig } from '../config/schema.js'
import { MgError } from '../errors.js'

export interface DatabaseInfo {
  readonly file: string
  readonly type: string
  readonly kind: 'location' | 'asn'
  readonly ipVersion: 4 | 6
  readonly builtAt: string
}

interface Database { readonly info: DatabaseInfo, readonly reader: Reader<Record<string, any>> }

/** The databases in force, by role: replaced whole, never changed in place. */
interface DatabaseSet {
  readonly all: readonly Database[]
  readonly infos: readonly DatabaseInfo[]
  readonly v4: readonly Database[]
  readonly v6: readonly Database[]
  readonly asn4: readonly Database[]
  readonly asn6: readonly Database[]
  /** Each file's identity when read (device, inode, size, mtime): an unchanged file is not read again. */
  readonly stamps: readonly string[]
}

/** What a reload did: swapped in new files, found nothing changed, or rejected a file (the old set stays). */
export type GeoIpReload =
  | { readonly outcome: 'ok', readonly databases: readonly DatabaseInfo[] }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'rejected', readonly reason: string }

/** Types of the databases this reader understands (MaxMind's, DB-IP's, ip-location-db's). */
const KNOWN_TYPE = /city|country|asn|enterprise/i

/**
 * Addresses every real location or ASN database places (Google's and Cloudflare's resolvers): a
 * new file must place each one the file in force placed.
 */
const CHECK_ADDRESSES = ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '2606:4700:4700::1111']

const KIND_NAMES = { location: 'a location', asn: 'an ASN' } as const

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex')

// Decoded records by offset: the busiest cities' records, so most GeoIP misses skip decoding.
// Kept small: a decoded city record is a tree of a dozen objects, and we keep only a Place.
const RECORD_CACHE = 5_000
/** Places interned by value; past this many distinct ones the table starts over. */
const PLACE_TABLE = 200_000

interface Location {
  readonly country: string | null
  readonly continent: Continent | null
  readonly latitude: number | null
  readonly longitude: number | null
}

function readLocation (rec: Record<string, any>): Location {
  const country = rec.country?.iso_code ?? rec.registered_country?.iso_code ?? rec.country_code ?? null
  const continent = rec.continent?.code ?? null
  const lat = rec.location?.latitude ?? rec.latitude
  const lon = rec.location?.longitude ?? rec.longitude
  return {
    country: typeof country === 'string' && COUNTRIES.has(country) ? country : null,
    continent: CONTINENTS.has(continent) ? continent : null,
    latitude: typeof lat === 'number' ? lat : null,
    longitude: typeof lon === 'number' ? lon : null
  }
}

const stampOf = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`

export function openDatabase (file: string): Database {
  return readDatabase(file).db
}

/** Opens a file at start (synchronously), with its identity read from the same descriptor. */
function readDatabase (file: string): { db: Database, stamp: string } {
  let buffer: Buffer
  let stamp: string
  try {
    const fd = openSync(file, 'r')
    try {
      stamp = stampOf(fstatSync(fd))
      buffer = readFileSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: ${(err as Error).message}`, { cause: err })
  }
  return { db: databaseOf(file, buffer), stamp }
}

/** Reads a file for a reload without blocking requests; null when it has not changed since `stamp`. */
async function readChanged (file: string, stamp: string): Promise<{ buffer: Buffer, stamp: string } | null> {
  const handle = await open(file, 'r')
  try {
    const now = stampOf(await handle.stat())
    return now === stamp ? null : { buffer: await handle.readFile(), stamp: now }
  } finally {
    await handle.close()
  }
}

/** A database over a file's bytes, checked for the damage a truncated or foreign file shows. */
function databaseOf (file: string, buffer: Buffer): Database {
  // The metadata is at the end: a file cut short has none (maxmind would decode from byte 0).
  const metadata = buffer.lastIndexOf(METADATA_MARKER)
  if (metadata < 0) throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: no MaxMind DB metadata (truncated, or not a .mmdb file)`)
  let reader: Reader<Record<string, any>>
  try {
    // Decoded records are cached by their offset: one city's record serves all its networks,
    // so a cache miss on our side mostly costs a tree walk, not a record decode.
    reader = new Reader(buffer, { cache: new LRUCache<number, any>({ max: RECORD_CACHE }) })
  } catch (err) {
    throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: ${(err as Error).message}`, { cause: err })
  }
  const m = reader.metadata
  // maxmind trusts the metadata; a tree that runs past the data separator is a damaged file.
  const tree = m.searchTreeSize
  const separator = buffer.subarray(tree, tree + 16)
  if (![24, 28, 32].includes(m.recordSize) || tree + 16 > metadata || separator.some((b) => b !== 0)) {
    throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: the search tree does not fit the file (damaged or truncated)`)
  }
  const epoch = Number(m.buildEpoch)
  // maxmind hands build_epoch back as a Date or as seconds, depending on version.
  const builtAt = m.buildEpoch instanceof Date ? m.buildEpoch : new Date((epoch > 1e11 ? epoch : epoch * 1000))
  return {
    reader,
    info: {
      file,
      type: m.databaseType,
      kind: /asn/i.test(m.databaseType) ? 'asn' : 'location',
      ipVersion: m.ipVersion === 4 ? 4 : 6,
      builtAt: Number.isNaN(builtAt.getTime()) ? 'unknown' : builtAt.toISOString()
    }
  }
}

/** Which of the check addresses a database places: a known country, or an AS number. */
function placed (db: Database): Set<string> {
  const out = new Set<string>()
  for (const address of CHECK_ADDRESSES) {
    // An IPv4-only file is never asked about IPv6 (see byFamily).
    if (db.info.ipVersion === 4 && address.includes(':')) continue
    const rec = db.reader.get(address)
    if (rec === null) continue
    if (db.info.kind === 'asn' ? typeof rec.autonomous_system_number === 'number' : readLocation(rec).country !== null) out.add(address)
  }
  return out
}

/** Why `next` may not replace `current` (same file, read again), or null when it may. */
export function replacementProblem (next: Database, current: Database): string | null {
  const { type, kind, ipVersion } = next.info
  if (!KNOWN_TYPE.test(type) && type !== current.info.type) return `database type "${type}" is not a City, Country or ASN database, nor the type of the file in force`
  if (kind !== current.info.kind) return `${KIND_NAMES[kind]} database where ${KIND_NAMES[current.info.kind]} one was`
  if (ipVersion < current.info.ipVersion) return 'an IPv4-only database where an IPv6 one was'
  let now: Set<string>
  try {
    now = placed(next)
  } catch (err) {
    return `a lookup failed: ${(err as Error).message}`
  }
  const lost = [...placed(current)].filter((a) => !now.has(a))
  return lost.length === 0 ? null : `it no longer places ${lost.join(', ')}, which the file in force places`
}

/** The databases by role; throws unless at least one can place a client. */
function databaseSet (dbs: readonly Database[], stamps: readonly string[], files: readonly string[]): DatabaseSet {
  // An IPv6 query must never reach an IPv4-only file: maxmind would answer it from the
  // address's first 32 bits. IPv6 files hold IPv4 space too, so they serve both.
  const byFamily = (kind: 'location' | 'asn', family: 4 | 6): Database[] => dbs
    .filter((d) => d.info.kind === kind && (family === 4 || d.info.ipVersion === 6))
    .sort((a, b) => (family === 4 ? a.info.ipVersion - b.info.ipVersion : 0))
  const set = { all: dbs, infos: dbs.map((d) => d.info), v4: byFamily('location', 4), v6: byFamily('location', 6), asn4: byFamily('asn', 4), asn6: byFamily('asn', 6), stamps }
  if (set.v4.length === 0 && set.v6.length === 0) {
    throw new MgError('MG_ERR_GEOIP_OPEN', `${files.join(', ')}: no location database (City, Country or ip-location-db) among them`)
  }
  return set
}

export class GeoIp {
  /** Counters read by the metrics collector; plain numbers keep the hot path free of prom-client. */
  lookups = 0
  cacheHits = 0
  /** Reloads that swapped new files in, and those that rejected one. */
  readonly reloads = { ok: 0, rejected: 0 }
  /**
   * Moves at every swap of the databases: whoever keeps anything derived from places (the
   * redirector's decisions and rankings) starts afresh when it changes.
   */
  generation = 0
  readonly files: readonly string[]
  #set: DatabaseSet
  #reloading: Promise<GeoIpReload> = Promise.resolve({ outcome: 'unchanged' })
  readonly #instance: Place
  readonly #cache: NetworkCache<Place>
  /**
   * One Place per location and ASN, so networks at the same place share the object: the
   * caches stay small and the redirector can cache rankings by place.
   */
  readonly #places = new Map<string, Place>()

  constructor (files: readonly string[], instance: InstanceConfig, cacheSize: number) {
    this.files = Object.freeze([...files])
    const read = files.map(readDatabase)
    this.#set = databaseSet(read.map((r) => r.db), read.map((r) => r.stamp), files)
    this.#instance = Object.freeze({
      country: instance.country,
      continent: instance.country === null ? null : (COUNTRIES.get(instance.country)?.continent ?? null),
      latitude: instance.latitude,
      longitude: instance.longitude,
      asn: null,
      source: 'instance-region'
    })
    this.#cache = new NetworkCache(cacheSize)
  }

  /** The databases in force (after a reload, the new ones). */
  get databases (): readonly DatabaseInfo[] { return this.#set.infos }

  /**
   * Reads again every file that changed since it was read, and swaps the new set in if each
   * passes replacementProblem; a file that cannot be read or used is rejected and nothing
   * changes. Reloads run one at a time. Lookups go on meanwhile, from the set in force.
   */
  reload (): Promise<GeoIpReload> {
    const next = (): Promise<GeoIpReload> => this.#reload()
    this.#reloading = this.#reloading.then(next, next)
    return this.#reloading
  }

  async #reload (): Promise<GeoIpReload> {
    const current = this.#set
    const dbs: Database[] = []
    const stamps: string[] = []
    let changed = false
    for (const [i, file] of this.files.entries()) {
      const old = current.all[i] as Database
      try {
        const read = await readChanged(file, current.stamps[i] as string)
        if (read === null) {
          dbs.push(old)
          stamps.push(current.stamps[i] as string)
          continue
        }
        const next = databaseOf(file, read.buffer)
        const problem = replacementProblem(next, old)
        if (problem !== null) throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: ${problem}`)
        dbs.push(next)
        stamps.push(read.stamp)
        changed = true
      } catch (err) {
        this.reloads.rejected++
        return { outcome: 'rejected', reason: err instanceof MgError ? err.message : `${file}: ${(err as Error).message}` }
      }
    }
    if (!changed) return { outcome: 'unchanged' }
    this.#set = databaseSet(dbs, stamps, this.files)
    // Places found in the old files must not outlive them.
    this.#cache.clear()
    this.#places.clear()
    this.generation++
    this.reloads.ok++
    return { outcome: 'ok', databases: this.#set.infos }
  }

  /** This instance's own region: the place of clients no database can place. */
  get instancePlace (): Place { return this.#instance }

  /** The client's place, cached per client network (/24, /48). */
  locate (ip: Ip): Place {
    this.lookups++
    const key = networkId(ip)
    const cached = this.#cache.get(key)
    if (cached !== undefined) {
      this.cacheHits++
      return cached
    }
    const place = this.#lookup(ip)
    this.#cache.set(key, place)
    return place
  }

  #lookup (ip: Ip): Place {
    if (isNonPublic(ip)) return this.#instance
    const text = formatIp(ip)
    let loc: Location | null = null
    const set = this.#set
    for (const db of ip.family === 4 ? set.v4 : set.v6) {
      const rec = db.reader.get(text)
      if (rec !== null) {
        loc = readLocation(rec)
        if (loc.country !== null) break
      }
    }
    let asn: number | null = null
    for (const db of ip.family === 4 ? set.asn4 : set.asn6) {
      const n = db.reader.get(text)?.autonomous_system_number
      if (typeof n === 'number') { asn = n; break }
    }
    if (loc === null || loc.country === null) return asn === null ? this.#instance : { ...this.#instance, asn }
    // join() builds one flat string; a template would keep a tree of pieces per place.
    const key = [loc.country, loc.latitude, loc.longitude, asn].join(' ')
    let place = this.#places.get(key)
    if (place === undefined) {
      if (this.#places.size >= PLACE_TABLE) this.#places.clear()
      this.#places.set(key, place = this.#place(loc, asn))
    }
    return place
  }

  #place (loc: Location, asn: number | null): Place {
    const info = COUNTRIES.get(loc.country as string)
    const continent = loc.continent ?? info?.continent ?? null
    if (loc.latitude !== null && loc.longitude !== null) {
      return Object.freeze({ country: loc.country, continent, latitude: loc.latitude, longitude: loc.longitude, asn, source: 'geoip' })
    }
    return Object.freeze({
      country: loc.country,
      continent,
      latitude: info?.latitude ?? this.#instance.latitude,
      longitude: info?.longitude ?? this.#instance.longitude,
      asn,
      source: 'country-centroid'
    })
  }
}
