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
//
// Where the files are known (core/coverage.ts), route() refines that per request: a package goes
// to the first mirror in that same order whose copy of the index lists it, an index to a copy
// within the bound (the current one, where the comparably-near group has it), and a folder a
// mirror lacks is never sent there. Only when none of the ranked mirrors qualifies does a full
// selection over what is known runs (core/file-routing.ts); that is uncached and rare.
//
// Under budgets (budget-placement.ts), route() first places the network: it keeps the mirror it
// was given while that mirror has room, else takes the next in its order that has; the network's
// index and its packages go through the same placement, so they stay on one mirror.

import { LRUCache } from 'lru-cache'
import { BudgetPlacement, type BudgetFacts } from './budget-placement.js'
import type { Decision, Target } from './decision.js'
import { networkId, networkKey, type Ip } from './core/ip.js'
import { NetworkCache } from './network-cache.js'
import { holds, holding, indexLagMs, mirrorIndex, pathFacts, type Coverage, type PathFacts } from './core/coverage.js'
import { findFile, lists, type IndexVersion } from './core/file-set.js'
import { fileGate } from './core/file-routing.js'
import type { FreshnessPolicy, PathClass } from './core/freshness.js'
import { orderForNetwork, rankForPlace, select, type PlaceRanking, type Ranked, type Selection, type SelectionPolicy } from './core/selection.js'
import type { Snapshot } from './core/snapshot.js'
import { baseFor } from './core/table.js'
import type { Client, Mirror, MirrorTable, Place, Scheme } from './core/types.js'
import type { GeoIp } from './geoip/reader.js'
import type { LoadMeter } from './live/load.js'
import type { Metrics } from './metrics.js'

/** A region the client pinned with a hint: its place replaces the GeoIP one. */
export interface PinnedRegion { readonly hint: string, readonly place: Place }

/** Where the live state and what is known of the files come from (the Fleet). */
export interface LiveSource {
  readonly snapshot: Snapshot
  readonly coverage: Coverage
}

export interface Explanation {
  readonly client: Client
  readonly selection: Selection
  /** The class whose freshness bound the choice was made under (see the consistency rule). */
  readonly appliedClass: PathClass
  /** What is known of the requested file, when its folder's index is followed. */
  readonly file: FileFacts | null
  /** Where budgets place this network, when some mirror has one. */
  readonly budget: BudgetFacts | null
}

export interface FileFacts {
  readonly facts: PathFacts
  /** The redirect's choice for this path (route()), best first. */
  readonly route: Decision
  /** Some mirror this client may be sent to is known to hold the file. */
  readonly held: boolean
}

/** Places whose rankings are kept; a ranking costs about 20 µs to compute again. */
const PLACES_RANKED = 4096

/** Distinct decisions kept for sharing; far more than a table of a few hundred mirrors yields. */
const DECISIONS_SHARED = 100_000

/** Under budgets, this many more mirrors are ranked per client: where full mirrors' networks go. */
const OVERFLOW_EXTRA = 8

/** Request paths whose folder and file hash are remembered: apk asks for the same few thousand. */
const PATHS_REMEMBERED = 10_000

/** The file is one only older versions of its index list: the master (and the fallback) no longer has it. */
function onlyOlder (coverage: Coverage, facts: PathFacts | null): boolean {
  const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
  if (history === undefined || facts === null || facts.name === history.name) return false
  const file = findFile(history, facts.hash)
  return file >= 0 && !lists(history.versions[0] as IndexVersion, file)
}

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
  readonly #live: LiveSource
  #snapshot: Snapshot
  /** The GeoIP generation the caches were filled from: new databases mean new places. */
  #geoipGeneration: number
  readonly #volatileMaxLagMs: number
  readonly #now: () => number
  readonly #paths = new Map<string, PathFacts | null>()
  #declaring: { table: MirrorTable, any: boolean } | null = null
  /** Where networks go under budgets; null without a load meter. */
  readonly #budgets: BudgetPlacement | null

  /** `placesRanked` bounds the per-place rankings (default PLACES_RANKED). */
  constructor (opts: { geoip: GeoIp, live: LiveSource, policy: SelectionPolicy, keep: number, cacheSize: number, placesRanked?: number, metrics?: Metrics,
    freshness?: Pick<FreshnessPolicy, 'volatileMaxLagMs'>, now?: () => number, load?: LoadMeter }) {
    this.#geoip = opts.geoip
    this.#geoipGeneration = opts.geoip.generation
    this.#policy = opts.policy
    this.#volatileMaxLagMs = opts.freshness?.volatileMaxLagMs ?? Infinity
    this.#now = opts.now ?? Date.now
    this.#keep = opts.keep
    this.#metrics = opts.metrics ?? null
    this.#live = opts.live
    this.#snapshot = opts.live.snapshot
    this.#budgets = opts.load === undefined
      ? null
      : new BudgetPlacement({ load: opts.load, table: () => this.#snapshot.table, cacheSize: opts.cacheSize, metrics: this.#metrics })
    this.#cache = new NetworkCache(opts.cacheSize)
    this.#hinted = new LRUCache({ max: opts.cacheSize })
    this.#byPlace = new LRUCache({ max: opts.placesRanked ?? PLACES_RANKED })
  }

  /** The snapshot decisions are made from; the caches restart when its selection epoch moves, or GeoIP's databases do. */
  #current (): Snapshot {
    const live = this.#live.snapshot
    if (live !== this.#snapshot) {
      if (live.epoch !== this.#snapshot.epoch) this.#restart()
      this.#snapshot = live
    }
    if (this.#geoip.generation !== this.#geoipGeneration) {
      this.#geoipGeneration = this.#geoip.generation
      this.#restart()
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
    return this.#decideFor(ip, networkId(ip), scheme, cls, pinned)
  }

  #decideFor (ip: Ip, id: number, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null): Decision {
    this.#current()
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
    const selection = orderForNetwork(this.#ranking(client, cls), client.network, this.#keepFor(this.#snapshot.table))
    const decision = this.#intern(selection, scheme, client.place.continent ?? 'unknown', selection.standing === 'down')
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
      const full = rankForPlace(this.#snapshot.table, client, this.#policy, this.#snapshot.gates[cls], this.#keepFor(this.#snapshot.table))
      // Only what ordering needs: the exclusions (explain's business) would otherwise stay
      // in memory once per cached place.
      ranking = kinds[kind] = { group: full.group, alternatives: full.alternatives, excluded: [], groupReason: '', standing: full.standing }
    }
    return ranking
  }

  #intern (selection: Selection, scheme: Scheme, continent: string, lastResort: boolean): Decision {
    const ranked = selection.ranked
    let group = 0
    while (group < ranked.length && (ranked[group] as Ranked).inGroup) group++
    // One flat string (join), not a chain of concatenations kept alive as the map's key.
    const signature = [scheme, continent, lastResort ? '!' : '', group, ...ranked.map((r) => r.site.id)].join(' ')
    let decision = this.#decisions.get(signature)
    if (decision === undefined) {
      decision = Object.freeze({ targets: Object.freeze(ranked.map((r) => this.#target(r.site, scheme))), continent, lastResort, group })
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
    if (t === undefined) this.#targets.set(key, t = Object.freeze({ id: mirror.id, base, geo: mirror.country.toLowerCase(), seed: mirror.seed }))
    return t
  }

  /** Whether the table in force has budgets (then each redirect's load is counted). */
  get budgeted (): boolean {
    return this.#live.snapshot.table.budgeted
  }

  /** How many mirrors to rank per client: more under budgets, for networks to overflow to. */
  #keepFor (table: MirrorTable): number {
    return table.budgeted ? this.#keep + OVERFLOW_EXTRA : this.#keep
  }

  /**
   * The targets for one request path (`rest`, below the prefix): decide(), refined by what each
   * mirror is known to hold. Without anything known about the path, decide()'s own answer.
   */
  route (ip: Ip, scheme: Scheme, cls: PathClass, rest: string, pinned: PinnedRegion | null = null, commit = true): Decision {
    const network = networkId(ip)
    let decision = this.#decideFor(ip, network, scheme, cls, pinned)
    let everyFull = false
    if (this.#budgets !== null && this.#snapshot.table.budgeted && !decision.lastResort && decision.targets.length > 0) {
      decision = this.#budgets.apply(decision, network, cls, commit)
      everyFull = decision.lastResort
    }
    const coverage = this.#live.coverage
    const declares = this.#declares(this.#snapshot.table)
    if (coverage.indexes.size === 0 && !declares) return decision
    const facts = this.#facts(rest)
    if (!declares && (facts === null || !coverage.indexes.has(facts.dir))) return decision
    if (everyFull) {
      // Every mirror is at its budget: the fallback, unless it has dropped this file (only older
      // versions of the index list it): then a mirror holding it, over budget or not.
      if (!onlyOlder(coverage, facts)) return decision
      decision = { ...decision, lastResort: false }
    }
    const pick = decision.lastResort ? -1 : this.#firstFit(decision, coverage, facts, rest)
    if (pick === 0) return decision
    if (pick > 0) return this.#reorder(decision, pick, coverage, facts, rest)
    // Interned decisions are shared with decide()'s: the reason goes on a copy (a rare path).
    return { ...this.#routeByFiles(ip, scheme, cls, rest, facts, pinned).route, reason: 'file-routing' }
  }

  /** Whether some mirror of the table declares what it carries (then every path is checked). */
  #declares (table: MirrorTable): boolean {
    if (this.#declaring?.table !== table) this.#declaring = { table, any: table.mirrors.some((m) => m.coverage !== null) }
    return this.#declaring.any
  }

  #facts (rest: string): PathFacts | null {
    let facts = this.#paths.get(rest)
    if (facts === undefined) {
      facts = pathFacts(rest)
      if (this.#paths.size >= PATHS_REMEMBERED) this.#paths.clear()
      this.#paths.set(rest, facts)
    }
    return facts
  }

  /**
   * The first target that may serve this path as it is: one known to hold the file, or, for a
   * file no index lists, one not known to lack its folder. For an index: a copy within the
   * bound, the current one where the group has it. -1: none of the targets.
   */
  #firstFit (decision: Decision, coverage: Coverage, facts: PathFacts | null, rest: string): number {
    const snapshot = this.#snapshot
    const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
    const isIndex = history !== undefined && facts?.name === history.name
    // A file some kept version lists, in a folder some mirror's copy is known of: mirrors known
    // to hold it come first, so 'unknown' does not fit. With nothing checked yet, it does.
    // Worked out at the first 'unknown' only: most requests never meet one.
    let listed: boolean | null = null
    const isListed = (): boolean => (listed ??= history !== undefined && !isIndex && (coverage.checks.get(history.dir)?.size ?? 0) > 0 &&
      findFile(history, (facts as PathFacts).hash) >= 0)
    let inGroup = -1
    for (let i = 0; i < decision.targets.length; i++) {
      const id = (decision.targets[i] as Target).id
      const mirror = snapshot.table.byId.get(id) as Mirror
      const answer = holds(coverage, mirror, facts, rest, snapshot.byId.get(id)?.syncTime ?? null)
      if (answer === 'no' || (answer === 'unknown' && isListed())) continue
      if (!isIndex) return i
      let current = false
      if (answer === 'yes') {
        const lag = indexLagMs(coverage, (facts as PathFacts).dir, mirrorIndex(coverage, (facts as PathFacts).dir, id), this.#now())
        if (lag !== null && lag > this.#volatileMaxLagMs) continue
        current = lag === 0
      }
      if (i >= decision.group) return inGroup >= 0 ? inGroup : i
      if (current) return i
      if (inGroup < 0) inGroup = i
    }
    return inGroup
  }

  /** The decision with target `pick` first, and targets known to lack the path left out. */
  #reorder (decision: Decision, pick: number, coverage: Coverage, facts: PathFacts | null, rest: string): Decision {
    const snapshot = this.#snapshot
    const first = decision.targets[pick] as Target
    const others = decision.targets.filter((t, i) => i !== pick &&
      holds(coverage, snapshot.table.byId.get(t.id) as Mirror, facts, rest, snapshot.byId.get(t.id)?.syncTime ?? null) !== 'no')
    return { targets: [first, ...others], continent: decision.continent, lastResort: false, group: pick < decision.group ? decision.group : 1, reason: 'file-holder' }
  }

  /** The full selection for one path over what is known of the files: for route()'s rare case and explain. */
  #routeByFiles (ip: Ip, scheme: Scheme, cls: PathClass, rest: string, facts: PathFacts | null, pinned: PinnedRegion | null): { route: Decision, selection: Selection, held: boolean } {
    const snapshot = this.#snapshot
    const coverage = this.#live.coverage
    const client = this.client(ip, scheme, pinned)
    const syncTime = (id: string): number | null => snapshot.byId.get(id)?.syncTime ?? null
    const gate = fileGate(snapshot.gates[cls], coverage, facts, rest, syncTime, this.#volatileMaxLagMs, this.#now())
    const selection = select(snapshot.table, client, this.#policy, gate, this.#keepFor(snapshot.table))
    const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
    const newest = history?.versions[0]
    const file = facts === null || history === undefined || facts.name === history.name ? -1 : findFile(history, facts.hash)
    const inNewest = newest !== undefined && lists(newest, file)
    const held = selection.ranked.some((r) => holds(coverage, r.site, facts, rest, syncTime(r.site.id)) === 'yes')
    // The fallback (in step with the master) first: when every candidate is down, unless the file
    // is one only older versions list (the fallback has dropped it; a dead-looking mirror that
    // holds it may still serve it); and when no mirror both live and fresh enough is known to
    // hold a file the master's newest index lists (only drained ones, or ones far behind).
    const lastResort = selection.standing === 'down'
      ? !(file >= 0 && !inNewest)
      : inNewest && (selection.standing === 'behind' || selection.standing === 'drained')
    return { route: this.#intern(selection, scheme, client.place.continent ?? 'unknown', lastResort), selection, held }
  }

  /** The full reasoning for one client and path, uncached, for /api/v1/explain. */
  explain (ip: Ip, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null = null, rest: string | null = null): Explanation {
    const { table, gates } = this.#current()
    const client = this.client(ip, scheme, pinned)
    const facts = rest === null ? null : this.#facts(rest)
    let file: FileFacts | null = null
    const budget = this.#budgetFacts(ip, scheme, cls, pinned)
    if (rest !== null && facts !== null && this.#live.coverage.indexes.has(facts.dir)) {
      const byFiles = this.#routeByFiles(ip, scheme, cls, rest, facts, pinned)
      file = { facts, route: this.route(ip, scheme, cls, rest, pinned, false), held: byFiles.held }
      return { client, selection: byFiles.selection, appliedClass: cls, file, budget }
    }
    const volatile = select(table, client, this.#policy, gates.volatile)
    if (cls === 'volatile' || volatile.ranked.length > 0) return { client, selection: volatile, appliedClass: 'volatile', file, budget }
    return { client, selection: select(table, client, this.#policy, gates.versioned), appliedClass: 'versioned', file, budget }
  }

  /** The network's placement under budgets, as route() would make it (nothing is remembered). */
  #budgetFacts (ip: Ip, scheme: Scheme, cls: PathClass, pinned: PinnedRegion | null): BudgetFacts | null {
    if (this.#budgets === null || !this.#snapshot.table.budgeted) return null
    const decision = this.decide(ip, scheme, cls, pinned)
    // Every candidate down: the fallback first, and budgets play no part (as in route()).
    if (decision.lastResort || decision.targets.length === 0) return null
    return this.#budgets.facts(decision, networkId(ip), cls)
  }
}
