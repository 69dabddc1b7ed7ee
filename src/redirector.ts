// The service's one decision, shared by every edge (HTTP redirect, explain, DNS):
// client address -> place -> ranked mirrors. Caches decisions per client network and scheme;
// the cache starts cold whenever the table or any mirror's eligibility changes.
//
// Consistency rule ("packages follow the index"): a versioned file (a package) goes to the
// mirror the same client's index would go to right now, whenever one is fresh enough for
// indexes. Only when no such mirror exists for the client does the looser versioned lag
// bound apply. Both requests rank the same candidates by the same rendezvous hash, so an
// APKINDEX and the packages it lists come from one mirror, at one sync point.

import { LRUCache } from 'lru-cache'
import { networkKey, type Ip } from './core/ip.js'
import type { PathClass } from './core/freshness.js'
import { orderForNetwork, rankForPlace, select, type PlaceRanking, type Ranked, type Selection, type SelectionPolicy } from './core/selection.js'
import type { Client, MirrorTable, Place, Scheme } from './core/types.js'
import type { Gates } from './fleet.js'
import type { GeoIp } from './geoip/reader.js'
import type { Metrics } from './metrics.js'

/** One mirror the client may go to, reduced to what a response needs. */
export interface Target {
  readonly id: string
  readonly base: string
  /** Lowercase ISO country, as RFC 6249's geo= parameter wants it. */
  readonly geo: string
}

/** A region the client pinned with a hint: its place replaces the GeoIP one. */
export interface PinnedRegion { readonly hint: string, readonly place: Place }

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
  /** The class whose freshness bound the choice was made under (see the consistency rule). */
  readonly appliedClass: PathClass
}

export class Redirector {
  readonly #geoip: GeoIp
  readonly #policy: SelectionPolicy
  readonly #keep: number
  readonly #metrics: Metrics | null
  readonly #cache: LRUCache<string, Decision>
  /**
   * Rankings by place (GeoIP hands out one Place object per location record), then by class,
   * scheme and family: most of a selection's work, shared by every network at that place.
   */
  #byPlace = new WeakMap<Place, Map<string, PlaceEntry>>()
  #table: MirrorTable
  #gates: Gates | undefined

  constructor (opts: { geoip: GeoIp, table: MirrorTable, gates?: Gates, policy: SelectionPolicy, keep: number, cacheSize: number, metrics?: Metrics }) {
    this.#geoip = opts.geoip
    this.#policy = opts.policy
    this.#keep = opts.keep
    this.#metrics = opts.metrics ?? null
    this.#table = opts.table
    this.#gates = opts.gates
    this.#cache = new LRUCache({ max: opts.cacheSize })
  }

  get table (): MirrorTable { return this.#table }

  /** Swaps in a new table and gates; a request in flight finishes with the decision it read. */
  update (table: MirrorTable, gates?: Gates): void {
    this.#table = table
    this.#gates = gates
    this.#cache.clear()
    this.#byPlace = new WeakMap()
  }

  client (ip: Ip, scheme: Scheme, pinned: PinnedRegion | null = null): Client {
    return { place: pinned?.place ?? this.#geoip.locate(ip), family: ip.family, scheme, network: networkKey(ip) }
  }

  /** The ranked targets for this client: the first is the redirect, the rest the Link alternatives. */
  decide (ip: Ip, scheme: Scheme, cls: PathClass = 'volatile', pinned: PinnedRegion | null = null): Decision {
    const network = networkKey(ip)
    const volatile = this.#decide(ip, scheme, network, 'volatile', pinned)
    if (cls === 'volatile' || volatile.targets.length > 0) return volatile
    return this.#decide(ip, scheme, network, 'versioned', pinned)
  }

  #decide (ip: Ip, scheme: Scheme, network: string, cls: PathClass, pinned: PinnedRegion | null): Decision {
    const key = (cls === 'volatile' ? 'i' : 'p') + (scheme === 'https' ? 's' : 'h') + (pinned === null ? '' : pinned.hint + '@') + network
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const started = performance.now()
    const client: Client = { place: pinned?.place ?? this.#geoip.locate(ip), family: ip.family, scheme, network }
    const entry = this.#placeEntry(client, cls)
    const targets = orderForNetwork(entry.ranking, network, this.#keep).ranked.map((r) => entry.target(r))
    const decision: Decision = { place: client.place, targets, continent: client.place.continent ?? 'unknown' }
    this.#metrics?.selectionSeconds.observe((performance.now() - started) / 1000)
    this.#cache.set(key, decision)
    return decision
  }

  #placeEntry (client: Client, cls: PathClass): PlaceEntry {
    let byKind = this.#byPlace.get(client.place)
    if (byKind === undefined) this.#byPlace.set(client.place, byKind = new Map())
    const kind = `${cls} ${client.scheme} ${client.family}`
    let entry = byKind.get(kind)
    if (entry === undefined) {
      entry = new PlaceEntry(rankForPlace(this.#table, client, this.#policy, this.#gates?.[cls], this.#keep))
      byKind.set(kind, entry)
    }
    return entry
  }

  /** The full reasoning for one client and path class, uncached, for /api/v1/explain. */
  explain (ip: Ip, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null = null): Explanation {
    const client = this.client(ip, scheme, pinned)
    const volatile = select(this.#table, client, this.#policy, this.#gates?.volatile)
    if (cls === 'volatile' || volatile.ranked.length > 0) return { client, selection: volatile, appliedClass: 'volatile' }
    return { client, selection: select(this.#table, client, this.#policy, this.#gates?.versioned), appliedClass: 'versioned' }
  }
}

/** A cached place ranking, with one shared Target per mirror it names. */
class PlaceEntry {
  readonly ranking: PlaceRanking
  readonly #targets = new Map<string, Target>()

  // Only what ordering needs is kept: the exclusions (explain's business) would otherwise
  // stay in memory once per cached place.
  constructor (ranking: PlaceRanking) {
    this.ranking = { group: ranking.group, alternatives: ranking.alternatives, excluded: [], groupReason: ranking.groupReason }
  }

  target (r: Ranked): Target {
    let t = this.#targets.get(r.mirror.id)
    if (t === undefined) {
      t = Object.freeze({ id: r.mirror.id, base: r.base, geo: r.mirror.country.toLowerCase() })
      this.#targets.set(r.mirror.id, t)
    }
    return t
  }
}
