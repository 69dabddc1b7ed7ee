// The service's one decision, shared by every edge (HTTP redirect, explain, later DNS):
// client address -> place -> ranked mirrors. Caches decisions per client network and scheme;
// the cache starts cold whenever the table changes.

import { LRUCache } from 'lru-cache'
import { networkKey, type Ip } from './core/ip.js'
import { select, type Gate, type Selection, type SelectionPolicy } from './core/selection.js'
import type { Client, MirrorTable, Place, Scheme } from './core/types.js'
import type { GeoIp } from './geoip/reader.js'
import type { Metrics } from './metrics.js'

/** One mirror the client may go to, reduced to what a response needs. */
export interface Target {
  readonly id: string
  readonly base: string
  /** Lowercase ISO country, as RFC 6249's geo= parameter wants it. */
  readonly geo: string
}

export interface Decision {
  readonly place: Place
  /** Best first; empty when no mirror is eligible. */
  readonly targets: readonly Target[]
  /** Pre-rendered continent label for metrics. */
  readonly continent: string
}

export interface Explanation {
  readonly client: Client
  readonly selection: Selection
}

export class Redirector {
  readonly #geoip: GeoIp
  readonly #policy: SelectionPolicy
  readonly #keep: number
  readonly #metrics: Metrics | null
  readonly #cache: LRUCache<string, Decision>
  #table: MirrorTable
  #gate: Gate | undefined

  constructor (opts: { geoip: GeoIp, table: MirrorTable, policy: SelectionPolicy, keep: number, cacheSize: number, metrics?: Metrics }) {
    this.#geoip = opts.geoip
    this.#policy = opts.policy
    this.#keep = opts.keep
    this.#metrics = opts.metrics ?? null
    this.#table = opts.table
    this.#gate = undefined
    this.#cache = new LRUCache({ max: opts.cacheSize })
  }

  get table (): MirrorTable { return this.#table }

  /** Swaps in a new table (and eligibility gate); requests in flight keep the one they read. */
  update (table: MirrorTable, gate?: Gate): void {
    this.#table = table
    this.#gate = gate
    this.#cache.clear()
  }

  client (ip: Ip, scheme: Scheme): Client {
    return { place: this.#geoip.locate(ip), family: ip.family, scheme, network: networkKey(ip) }
  }

  /** The ranked targets for this client: the first is the redirect, the rest the Link alternatives. */
  decide (ip: Ip, scheme: Scheme): Decision {
    const network = networkKey(ip)
    const key = scheme === 'https' ? 's' + network : network
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const started = performance.now()
    const client: Client = { place: this.#geoip.locate(ip), family: ip.family, scheme, network }
    const selection = select(this.#table, client, this.#policy, this.#gate)
    const targets = selection.ranked.slice(0, this.#keep).map((r) => ({ id: r.mirror.id, base: r.base, geo: r.mirror.country.toLowerCase() }))
    const decision: Decision = { place: client.place, targets, continent: client.place.continent ?? 'unknown' }
    this.#metrics?.selectionSeconds.observe((performance.now() - started) / 1000)
    this.#cache.set(key, decision)
    return decision
  }

  /** The full reasoning for one client, uncached, for /api/v1/explain. */
  explain (ip: Ip, scheme: Scheme): Explanation {
    const client = this.client(ip, scheme)
    return { client, selection: select(this.#table, client, this.#policy, this.#gate) }
  }
}
