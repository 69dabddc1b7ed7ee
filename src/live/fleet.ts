// The one owner of the live state: the table in force, each mirror's health per scheme, the
// master's, drains (the table's, and the local ones set through the admin API), and whether
// the state is known yet. Every change builds a new immutable Snapshot (src/core/snapshot.ts)
// and swaps it in; readers take `fleet.snapshot` and see one consistent state, subscribers
// hear of every new one. Timed drains end on time by themselves, the table's too.
// What each mirror holds (core/coverage.ts) is kept here too, as its own immutable value: it
// changes far more often than any verdict and never invalidates a cached decision.

import { EMPTY_COVERAGE, type Coverage, type IndexCheck } from '../core/coverage.js'
import type { IndexHistory } from '../core/file-set.js'
import { applyProbe, UNKNOWN, type Health, type HysteresisPolicy, type ProbeResult } from '../core/health.js'
import { buildSnapshot, healthKey, type Drain, type LivePolicy, type MirrorStatus, type Snapshot } from '../core/snapshot.js'
import type { Family, MirrorTable, Scheme } from '../core/types.js'
import { Listeners } from '../listeners.js'

export type { Drain, Gates, MirrorStatus, Snapshot } from '../core/snapshot.js'

export interface FleetPolicy extends HysteresisPolicy, LivePolicy {}

/** Everything the fleet knows beyond its table: what a cluster primary hands its workers. */
export interface FleetState {
  readonly health: ReadonlyArray<readonly [string, Health]>
  readonly master: Health
  readonly endpoints: ReadonlyArray<readonly [string, Health]>
  /** The local drains only: the table's come with the table. */
  readonly drains: ReadonlyArray<readonly [string, Drain]>
  /** Whether the state is known (first probe round answered, timed out, or restored). */
  readonly known: boolean
  /** The last check of each index on each mirror, by folder (absent in states saved before). */
  readonly checks?: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, IndexCheck]>]>
}

/** One change to what is known of the files: a cluster primary forwards each to its workers. */
export type CoverageChange =
  | { readonly kind: 'index', readonly history: IndexHistory }
  | { readonly kind: 'drop', readonly dir: string }
  | { readonly kind: 'check', readonly id: string, readonly dir: string, readonly check: IndexCheck }

export type SnapshotListener = (next: Snapshot, previous: Snapshot) => void

export class Fleet {
  readonly #policy: FleetPolicy
  readonly #now: () => number
  readonly #listeners = new Listeners<[next: Snapshot, previous: Snapshot]>()
  #table: MirrorTable
  // Replaced, never changed in place: snapshots hold on to them.
  #health: ReadonlyMap<string, Health> = new Map() // key: healthKey(id, scheme, family)
  #master: Health = UNKNOWN
  #endpoints: ReadonlyMap<string, Health> = new Map() // DNS endpoints' health URLs, by endpoint id
  #drains: ReadonlyMap<string, Drain> = new Map() // local: the admin API's, by mirror id
  #tableDrains: ReadonlyMap<string, Drain> // declared in the table, ended ones too (the table keeps them)
  #known: boolean
  #snapshot: Snapshot
  #drainTimer: NodeJS.Timeout | undefined
  #coverage: Coverage = EMPTY_COVERAGE
  readonly #coverageListeners = new Listeners<[change: CoverageChange]>()

  constructor (table: MirrorTable, policy: FleetPolicy, now: () => number = Date.now) {
    this.#table = table
    this.#tableDrains = tableDrains(table)
    this.#policy = policy
    this.#now = now
    // Without probes nothing will ever be learnt: the table is all there is to know.
    this.#known = !policy.enabled
    this.#snapshot = this.#build(null)
  }

  /** The live state now. Immutable: hold on to it for as long as one decision takes. */
  get snapshot (): Snapshot { return this.#snapshot }

  // Shorthands for the snapshot's most read parts.
  get table (): MirrorTable { return this.#snapshot.table }
  get failOpen (): boolean { return this.#snapshot.failOpen }
  get master (): Health { return this.#snapshot.master }
  get known (): boolean { return this.#snapshot.known }
  get reference (): number | null { return this.#snapshot.reference }
  health (id: string, scheme: Scheme, family: Family = 4): Health { return this.#snapshot.health(id, scheme, family) }
  status (): readonly MirrorStatus[] { return this.#snapshot.mirrors }

  /** What each mirror is known to hold: the master's indexes and each mirror's copies. */
  get coverage (): Coverage { return this.#coverage }

  /** Called with every change to the coverage; returns the unsubscribe. */
  onCoverage (listener: (change: CoverageChange) => void): () => void {
    return this.#coverageListeners.add(listener)
  }

  /** The master serves a new version of an index (the history holds it and the ones before). */
  setIndex (history: IndexHistory): void {
    this.#coverage = { ...this.#coverage, indexes: new Map(this.#coverage.indexes).set(history.dir, history) }
    this.#coverageListeners.emit({ kind: 'index', history })
  }

  /** An index is no longer followed (gone from the master, or no longer configured). */
  dropIndex (dir: string): void {
    if (!this.#coverage.indexes.has(dir) && !this.#coverage.checks.has(dir)) return
    const indexes = new Map(this.#coverage.indexes)
    const checks = new Map(this.#coverage.checks)
    indexes.delete(dir)
    checks.delete(dir)
    this.#coverage = { indexes, checks }
    this.#coverageListeners.emit({ kind: 'drop', dir })
  }

  /** What a HEAD of one index on one mirror answered. */
  recordIndexCheck (id: string, dir: string, check: IndexCheck): void {
    if (!this.#table.byId.has(id)) return
    const mirrors = new Map(this.#coverage.checks.get(dir)).set(id, check)
    this.#coverage = { ...this.#coverage, checks: new Map(this.#coverage.checks).set(dir, mirrors) }
    this.#coverageListeners.emit({ kind: 'check', id, dir, check })
  }

  /** Called with every new snapshot (and the one it replaces); returns the unsubscribe. */
  subscribe (listener: SnapshotListener): () => void {
    return this.#listeners.add(listener)
  }

  /** Puts a new table in force, keeping what is known of mirrors that stay. */
  setTable (table: MirrorTable): void {
    this.#table = table
    this.#tableDrains = tableDrains(table)
    this.#health = new Map([...this.#health].filter(([key]) => inTable(table, key)))
    this.#drains = new Map([...this.#drains].filter(([id]) => table.byId.has(id)))
    this.#coverage = { ...this.#coverage, checks: keepMirrors(this.#coverage.checks, table) }
    this.#update()
  }

  /** A probe of a mirror's base over one scheme, reached over one IP family (default IPv4). */
  record (id: string, scheme: Scheme, result: ProbeResult, family: Family = 4): Health {
    const next = applyProbe(this.#health.get(healthKey(id, scheme, family)) ?? UNKNOWN, result, this.#policy)
    if (this.#table.byId.has(id)) this.#health = new Map(this.#health).set(healthKey(id, scheme, family), next)
    this.#update()
    return next
  }

  recordMaster (result: ProbeResult): Health {
    this.#master = applyProbe(this.#master, result, this.#policy)
    this.#update()
    return this.#master
  }

  recordEndpoint (id: string, result: ProbeResult): Health {
    const next = applyProbe(this.#snapshot.endpointHealth(id), result, this.#policy)
    this.#endpoints = new Map(this.#endpoints).set(id, next)
    this.#update()
    return next
  }

  /** A local drain (this instance's, or its cluster's); it replaces the mirror's local drain, if any. */
  drain (id: string, until: number | null, reason: string): void {
    this.#drains = new Map(this.#drains).set(id, { until, reason, source: 'local' })
    this.#update()
  }

  /** Lifts the mirror's local drain; a drain in the table stays (see tableDrain). */
  undrain (id: string): boolean {
    const had = this.#drains.has(id)
    this.#drains = new Map([...this.#drains].filter(([d]) => d !== id))
    this.#update()
    return had
  }

  /** The local drains, as a map replaced on every change (what a restart must keep). */
  get localDrains (): ReadonlyMap<string, Drain> { return this.#drains }

  /** The table's drain of a mirror while it is in force, else null. */
  tableDrain (id: string): Drain | null {
    const d = this.#tableDrains.get(id)
    return d === undefined || ended(d, this.#now()) ? null : d
  }

  /** Every drain in force, in table order, the table's before the local one (a mirror may have both). */
  drainsInForce (): Array<readonly [string, Drain]> {
    const now = this.#now()
    const out: Array<readonly [string, Drain]> = []
    for (const m of this.#table.mirrors) {
      for (const d of [this.#tableDrains.get(m.id), this.#drains.get(m.id)]) if (d !== undefined && !ended(d, now)) out.push([m.id, d])
    }
    return out
  }

  /** Puts back the local drains saved before a restart; ended ones and mirrors not in the table are left out. */
  restoreDrains (drains: FleetState['drains']): void {
    this.#drains = localDrains(drains, this.#table)
    this.#update()
  }

  /** Marks the state as known (readiness). */
  markKnown (): void {
    if (this.#known) return
    this.#known = true
    this.#update()
  }

  exportState (): FleetState {
    const checks = [...this.#coverage.checks].map(([dir, byMirror]) => [dir, [...byMirror]] as const)
    return { health: [...this.#health], master: this.#master, endpoints: [...this.#endpoints], drains: [...this.#drains], known: this.#known, checks }
  }

  /**
   * Replaces health, master and drains with another fleet's (a cluster worker following its
   * primary, or a saved state at start); entries for mirrors not in the table are dropped.
   */
  importState (state: FleetState): void {
    this.#health = new Map(state.health.filter(([key]) => inTable(this.#table, key)))
    this.#master = state.master
    this.#endpoints = new Map(state.endpoints)
    this.#drains = localDrains(state.drains, this.#table)
    this.#known ||= state.known
    if (state.checks !== undefined) {
      const checks = new Map(state.checks.map(([dir, byMirror]) => [dir, new Map(byMirror)]))
      this.#coverage = { ...this.#coverage, checks: keepMirrors(checks, this.#table) }
    }
    this.#update()
  }

  /** Stops the timer that ends timed drains (the process is shutting down). */
  close (): void {
    clearTimeout(this.#drainTimer)
  }

  #update (): void {
    const previous = this.#snapshot
    this.#snapshot = this.#build(previous)
    this.#listeners.emit(this.#snapshot, previous)
  }

  /** Ends drains whose time has come, builds the snapshot, and arms a timer for the next drain to end. */
  #build (previous: Snapshot | null): Snapshot {
    const now = this.#now()
    // Replaced only when a drain ended: most builds follow a probe result and change no drain.
    if ([...this.#drains.values()].some((d) => ended(d, now))) this.#drains = new Map([...this.#drains].filter(([, d]) => !ended(d, now)))
    let next = Infinity
    for (const d of this.#drains.values()) if (d.until !== null) next = Math.min(next, d.until)
    for (const d of this.#tableDrains.values()) if (d.until !== null && d.until > now) next = Math.min(next, d.until)
    clearTimeout(this.#drainTimer)
    // A drain with an end must end then, whether or not anything else happens.
    if (next !== Infinity) this.#drainTimer = setTimeout(() => this.#update(), Math.min(next - now, MAX_TIMER_MS)).unref()
    const drains = inForce(this.#drains, this.#tableDrains, now)
    const inputs = { table: this.#table, health: this.#health, master: this.#master, endpoints: this.#endpoints, drains, known: this.#known }
    return buildSnapshot(inputs, this.#policy, previous)
  }
}

/** setTimeout's limit (about 24.8 days); a later end is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

const ended = (d: Drain, now: number): boolean => d.until !== null && d.until <= now

/** The drains the table declares, by mirror id. */
function tableDrains (table: MirrorTable): ReadonlyMap<string, Drain> {
  const out = new Map<string, Drain>()
  for (const m of table.mirrors) if (m.drain !== null) out.set(m.id, Object.freeze({ until: m.drain.until, reason: m.drain.reason, source: 'table' }))
  return out
}

/** Local drains from a saved or forwarded state, for mirrors of this table. */
function localDrains (drains: FleetState['drains'], table: MirrorTable): ReadonlyMap<string, Drain> {
  return new Map(drains.filter(([id]) => table.byId.has(id)).map(([id, d]) => [id, { until: d.until, reason: d.reason, source: 'local' }]))
}

/**
 * One drain per drained mirror, the one that lasts longer where the table and the admin API both
 * drain it (the table's on a tie): that is the drain a client's verdict shows.
 */
function inForce (local: ReadonlyMap<string, Drain>, table: ReadonlyMap<string, Drain>, now: number): ReadonlyMap<string, Drain> {
  if (table.size === 0) return local
  const out = new Map(local)
  for (const [id, d] of table) {
    if (ended(d, now)) continue
    const mine = out.get(id)
    const outlasts = mine !== undefined && d.until !== null && (mine.until === null || mine.until > d.until)
    if (!outlasts) out.set(id, d)
  }
  return out
}

function keepMirrors (checks: Coverage['checks'], table: MirrorTable): Coverage['checks'] {
  return new Map([...checks].map(([dir, byMirror]) => [dir, new Map([...byMirror].filter(([id]) => table.byId.has(id)))]))
}

function inTable (table: MirrorTable, key: string): boolean {
  return table.byId.has(key.slice(key.indexOf(' ') + 1))
}
