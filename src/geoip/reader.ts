// GeoIP at the edge: opens .mmdb files with maxmind and turns their records into a Place.
// Understands the MaxMind GeoIP2/GeoLite2 City, Country and ASN schemas and the flat
// ip-location-db schema (country_code, latitude, longitude).

import { readFileSync } from 'node:fs'
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

export function openDatabase (file: string): Database {
  let reader: Reader<Record<string, any>>
  try {
    // Decoded records are cached by their offset: one city's record serves all its networks,
    // so a cache miss on our side mostly costs a tree walk, not a record decode.
    reader = new Reader(readFileSync(file), { cache: new LRUCache<number, any>({ max: RECORD_CACHE }) })
  } catch (err) {
    throw new MgError('MG_ERR_GEOIP_OPEN', `${file}: ${(err as Error).message}`, { cause: err })
  }
  const m = reader.metadata
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

export class GeoIp {
  readonly databases: readonly DatabaseInfo[]
  /** Counters read by the metrics collector; plain numbers keep the hot path free of prom-client. */
  lookups = 0
  cacheHits = 0
  readonly #v4: Database[]
  readonly #v6: Database[]
  readonly #asn4: Database[]
  readonly #asn6: Database[]
  readonly #instance: Place
  readonly #cache: NetworkCache<Place>
  /**
   * One Place per location and ASN, so networks at the same place share the object: the
   * caches stay small and the redirector can cache rankings by place.
   */
  readonly #places = new Map<string, Place>()

  constructor (files: readonly string[], instance: InstanceConfig, cacheSize: number) {
    const dbs = files.map(openDatabase)
    this.databases = dbs.map((d) => d.info)
    // An IPv6 query must never reach an IPv4-only file: maxmind would answer it from the
    // address's first 32 bits. IPv6 files hold IPv4 space too, so they serve both.
    const byFamily = (kind: 'location' | 'asn', family: 4 | 6): Database[] => dbs
      .filter((d) => d.info.kind === kind && (family === 4 || d.info.ipVersion === 6))
      .sort((a, b) => (family === 4 ? a.info.ipVersion - b.info.ipVersion : 0))
    this.#v4 = byFamily('location', 4)
    this.#v6 = byFamily('location', 6)
    this.#asn4 = byFamily('asn', 4)
    this.#asn6 = byFamily('asn', 6)
    if (this.#v4.length === 0 && this.#v6.length === 0) {
      throw new MgError('MG_ERR_GEOIP_OPEN', `${files.join(', ')}: no location database (City, Country or ip-location-db) among them`)
    }
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
    for (const db of ip.family === 4 ? this.#v4 : this.#v6) {
      const rec = db.reader.get(text)
      if (rec !== null) {
        loc = readLocation(rec)
        if (loc.country !== null) break
      }
    }
    let asn: number | null = null
    for (const db of ip.family === 4 ? this.#asn4 : this.#asn6) {
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
