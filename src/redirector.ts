// The service's one decision, shared by every edge (HTTP redirect, explain, DNS):
// client address -> place -> ranked mirrors, read from the live state's current snapshot.
// Caches decisions per client network and scheme; the caches start cold whenever the
// snapshot's selection epoch moves (the table or some mirror's eligibility changed).
//
// Consistency rule ("packages follow the index"): a versioned file (a package) goes to the
// mirror the same client's index would go to right now, whenever one is fresh enough for
// indexes. Only when no such mirror exists for the client does the looser versioned lag
// bound apply. Both requests rank the same candidates by the same rendezvous hash, so an
// APKINDEX and the packages it lists come from one mirror, at one sync point.

import { LRUCache } from 'lru-cache'
import { networkId, networkKey, type Ip } from './core/ip.js'
import { NetworkCache } from './network-cache.js'
import type { PathClass } from './core/freshness.js'
import { orderForNetwork, rankForPlace, select, type PlaceRanking, type Ranked, type Selection, type SelectionPolicy } from './core/selection.js'
import type { Snapshot } from './core/snapshot.js'
import { baseFor } from './core/table.js'
import type { Client, Mirror, Place, Scheme } from './core/types.js'
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

/**
 * What the redirect needs. Shared: every client network whose place and rendezvous order
 * give the same targets gets the same object, so the cache holds a key and a pointer per network.
 */
export interface Decision {
  /** Best first; empty when no mirror is eligible. */
  readonly targets: readonly Target[]
  /** Pre-rendered continent label for metrics. */
  readonly continent: string
  /** Every target is known to be down: the fallback, where there is one, comes first. */
  readonly lastResort: boolean
}

export interface Explanation {
  readonly client: Client
  readonly selection: Selection
  /** The class whose freshness bound the choice was made under (see the consistency rule). */
  readonly appliedClass: PathClass
}

/** Places whose rankings are kept; a ranking costs about 20 µs to compute again. */
const PLACES_RANKED = 4096

/** Distinct decisions kept for sharing; far more than a table of a few hundred mirrors yields. */
const DECISIONS_SHARED = 100_000

/** Class x scheme x family as 0..7: an index into a place's rankings, a part of a decision key. */
function kindOf (cls: PathClass, scheme: Scheme, family: 4 | 6): number {
  return (cls === 'versioned' ? 4 : 0) + (scheme === 'https' ? 2 : 0) + (family === 6 ? 1 : 0)
}

export class Redirector {
  readonly #geoip: GeoIp
  readonly #policy: SelectionPolicy
  readonly #keep: number
  readonly #metrics: Metrics | null
  /** Decisions by client network and kind (see #decide). */
  readonly #cache: NetworkCache<Decision>
  /** The same for requests with a region hint, the rare case: keyed by hint too. */
  readonly #hinted: LRUCache<string, Decision>
  /**
   * Rankings by place (GeoIP hands out one Place object per location), by kind: most of a
   * selection's work, shared by every network at that place. Bounded: the busy places stay,
   * and a small live heap keeps garbage collection cheap under connection churn.
   */
  readonly #byPlace: LRUCache<Place, Array<PlaceRanking | undefined>>
  /** The distinct decisions of this table, by scheme, continent and target ids. */
  #decisions = new Map<string, Decision>()
  /** One Target per mirror and base URL. */
  #targets = new Map<string, Target>()
  /** Where the snapshot comes from (the Fleet), and the one the caches were filled from. */
  readonly #live: { readonly snapshot: Snapshot }
  #snapshot: Snapshot

  /** `placesRanked` bounds the per-place rankings (default PLACES_RANKED). */
  constructor (opts: { geoip: GeoIp, live: { readonly snapshot: Snapshot }, policy: SelectionPolicy, keep: number, cacheSize: number, placesRanked?: number, metrics?: Metrics }) {
    this.#geoip = opts.geoip
    this.#policy = opts.policy
    this.#keep = opts.keep
    this.#metrics = opts.metrics ?? null
    this.#live = opts.live
    this.#snapshot = opts.live.snapshot
    this.#cache = new NetworkCache(opts.cacheSize)
    this.#hinted = new LRUCache({ max: opts.cacheSize })
    this.#byPlace = new LRUCache({ max: opts.placesRanked ?? PLACES_RANKED })
  }

  /** The snapshot decisions are made from; the caches restart when its selection epoch moves. */
  #current (): Snapshot {
    const live = this.#live.snapshot
    if (live !== this.#snapshot) {
      if (live.epoch !== this.#snapshot.epoch) this.#restart()
      this.#snapshot = live
    }
    return live
  }

  /** Forgets every cached decision; a request in flight finishes with the decision it read. */
  #restart (): void {
    this.#cache.clear()
    this.#hinted.clear()
    this.#byPlace.clear()
    this.#decisions = new Map()
    this.#targets = new Map()
  }

  client (ip: Ip, scheme: Scheme, pinned: PinnedRegion | null = null): Client {
    return { place: pinned?.place ?? this.#geoip.locate(ip), family: ip.family, scheme, network: networkKey(ip) }
  }

  /** The ranked targets for this client: the first is the redirect, the rest the Link alternatives. */
  decide (ip: Ip, scheme: Scheme, cls: PathClass = 'volatile', pinned: PinnedRegion | null = null): Decision {
    this.#current()
    const id = networkId(ip)
    const volatile = this.#decide(ip, id, scheme, 'volatile', pinned)
    if (cls === 'volatile' || volatile.targets.length > 0) return volatile
    return this.#decide(ip, id, scheme, 'versioned', pinned)
  }

  #decide (ip: Ip, id: number, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null): Decision {
    // A number on the common path (no string to build or hash): network id x kind, below 2^52.
    const n = id * 8 + kindOf(cls, scheme, ip.family)
    const key = pinned === null ? n : `${pinned.hint}@${n}`
    const cached = typeof key === 'number' ? this.#cache.get(key) : this.#hinted.get(key)
    if (cached !== undefined) return cached
    const started = performance.now()
    const client = this.client(ip, scheme, pinned)
    const selection = orderForNetwork(this.#ranking(client, cls), client.network, this.#keep)
    const decision = this.#intern(selection.ranked, scheme, client.place.continent ?? 'unknown', selection.standing === 'down')
    this.#metrics?.selectionSeconds.observe((performance.now() - started) / 1000)
    if (typeof key === 'number') this.#cache.set(key, decision)
    else this.#hinted.set(key, decision)
    return decision
  }

  #ranking (client: Client, cls: PathClass): PlaceRanking {
    let kinds = this.#byPlace.get(client.place)
    if (kinds === undefined) this.#byPlace.set(client.place, kinds = [])
    const kind = kindOf(cls, client.scheme, client.family)
    let ranking = kinds[kind]
    if (ranking === undefined) {
      const full = rankForPlace(this.#snapshot.table, client, this.#policy, this.#snapshot.gates[cls], this.#keep)
      // Only what ordering needs: the exclusions (explain's business) would otherwise stay
      // in memory once per cached place.
      ranking = kinds[kind] = { group: full.group, alternatives: full.alternatives, excluded: [], groupReason: '', standing: full.standing }
    }
    return ranking
  }

  #intern (ranked: readonly Ranked[], scheme: Scheme, continent: string, lastResort: boolean): Decision {
    // One flat string (join), not a chain of concatenations kept alive as the map's key.
    const signature = [scheme, continent, lastResort ? '!' : '', ...ranked.map((r) => r.site.id)].join(' ')
    let decision = this.#decisions.get(signature)
    if (decision === undefined) {
      decision = Object.freeze({ targets: Object.freeze(ranked.map((r) => this.#target(r.site, scheme))), continent, lastResort })
      // Sharing is only an economy: past the bound, start over rather than grow.
      if (this.#decisions.size >= DECISIONS_SHARED) this.#decisions.clear()
      this.#decisions.set(signature, decision)
    }
    return decision
  }

  #target (mirror: Mirror, scheme: Scheme): Target {
    const base = baseFor(mirror, scheme) as string // the selection excluded mirrors without one
    const key = mirror.id + ' ' + base
    let t = this.#targets.get(key)
    if (t === undefined) this.#targets.set(key, t = Object.freeze({ id: mirror.id, base, geo: mirror.country.toLowerCase() }))
    return t
  }

  /** The full reasoning for one client and path class, uncached, for /api/v1/explain. */
  explain (ip: Ip, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null = null): Explanation {
    const { table, gates } = this.#current()
    const client = this.client(ip, scheme, pinned)
    const volatile = select(table, client, this.#policy, gates.volatile)
    if (cls === 'volatile' || volatile.ranked.length > 0) return { client, selection: volatile, appliedClass: 'volatile' }
    return { client, selection: select(table, client, this.#policy, gates.versioned), appliedClass: 'versioned' }
  }
}
