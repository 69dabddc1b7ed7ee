// The live state of the mirror network: the table in force, each mirror's health per scheme,
// drains, and the reference sync point. Turns them into the per-class gates the selection
// applies, and tells listeners only when some mirror's eligibility actually changed.
// Health and lag only demote a mirror (see Standing in core/selection.ts); drains exclude it.

import { applyProbe, UNKNOWN, type Health, type HysteresisPolicy, type ProbeResult } from './core/health.js'
import { lagMs, maxLagFor, type FreshnessPolicy, type PathClass } from './core/freshness.js'
import type { Gate, Verdict } from './core/selection.js'
import type { Mirror, MirrorTable, Scheme } from './core/types.js'
import type { ProbeConfig } from './config/schema.js'

export interface FleetPolicy extends HysteresisPolicy, FreshnessPolicy, Pick<ProbeConfig, 'enabled' | 'master'> {
  /**
   * Health is ignored (fail open) when fewer than this fraction of enabled mirrors is up and
   * the prober itself is the likely cause: its master fails too, or, without a master, every
   * one of at least FAIL_OPEN_MIN_MIRRORS mirrors fails at once.
   */
  readonly failOpenBelow: number
}

/** Without a master, fewer mirrors than this failing together say nothing about the prober. */
export const FAIL_OPEN_MIN_MIRRORS = 3

export interface Drain { readonly until: number | null, readonly reason: string }

export interface MirrorStatus {
  readonly mirror: Mirror
  readonly http: Health | null
  readonly https: Health | null
  readonly syncTime: number | null
  readonly lagMs: number | null
  readonly drain: Drain | null
  /** Whether it serves volatile / versioned files right now, per the client's scheme. */
  readonly serving: Readonly<Record<Scheme, Readonly<Record<PathClass, Verdict | null>>>>
}

export type Gates = Readonly<Record<PathClass, Gate>>

/** Everything the fleet knows beyond its table: what a cluster primary hands its workers. */
export interface FleetState {
  readonly health: ReadonlyArray<readonly [string, Health]>
  readonly master: Health
  readonly drains: ReadonlyArray<readonly [string, Drain]>
  /** Whether the state is known (first probe round answered, timed out, or restored). */
  readonly known: boolean
}

type VerdictTable = Record<Scheme, Record<PathClass, Map<string, Verdict>>>

const SCHEMES: readonly Scheme[] = ['http', 'https']

export class Fleet {
  readonly #policy: FleetPolicy
  readonly #now: () => number
  readonly #listeners: Array<(gates: Gates) => void> = []
  #table: MirrorTable
  #health = new Map<string, Health>() // key: `${scheme} ${id}`
  #master: Health = UNKNOWN
  #drains = new Map<string, Drain>()
  #verdicts: VerdictTable = emptyVerdicts()
  #signature = ''
  #failOpen = false
  #known: boolean
  #gates: Gates

  constructor (table: MirrorTable, policy: FleetPolicy, now: () => number = Date.now) {
    this.#table = table
    this.#policy = policy
    this.#now = now
    // Without probes nothing will ever be learnt: the table is all there is to know.
    this.#known = !policy.enabled
    this.#gates = this.#makeGates()
    this.refresh()
  }

  get table (): MirrorTable { return this.#table }
  get gates (): Gates { return this.#gates }
  get failOpen (): boolean { return this.#failOpen }
  get master (): Health { return this.#master }
  /** True once the first probe round has answered or timed out, or a saved state was restored. */
  get known (): boolean { return this.#known }

  /** Marks the state as known (readiness); tells listeners so cluster workers follow. */
  markKnown (): void {
    if (this.#known) return
    this.#known = true
    for (const l of this.#listeners) l(this.#gates)
  }

  /** The sync point mirrors are measured against: the master's, else the newest mirror's. */
  get reference (): number | null {
    if (this.#master.syncTime !== null) return this.#master.syncTime
    let newest: number | null = null
    for (const h of this.#health.values()) if (h.syncTime !== null && (newest === null || h.syncTime > newest)) newest = h.syncTime
    return newest
  }

  onChange (listener: (gates: Gates) => void): void { this.#listeners.push(listener) }

  /** Puts a new table in force, keeping what is known of mirrors that stay. */
  setTable (table: MirrorTable): void {
    const keep = new Map<string, Health>()
    for (const [key, h] of this.#health) if (table.byId.has(key.slice(key.indexOf(' ') + 1))) keep.set(key, h)
    this.#health = keep
    for (const id of this.#drains.keys()) if (!table.byId.has(id)) this.#drains.delete(id)
    this.#table = table
    this.refresh() // the signature carries the table version, so this always announces

  }

  health (id: string, scheme: Scheme): Health {
    return this.#health.get(`${scheme} ${id}`) ?? UNKNOWN
  }

  record (id: string, scheme: Scheme, result: ProbeResult): Health {
    const next = applyProbe(this.health(id, scheme), result, this.#policy)
    if (this.#table.byId.has(id)) this.#health.set(`${scheme} ${id}`, next)
    this.refresh()
    return next
  }

  recordMaster (result: ProbeResult): Health {
    this.#master = applyProbe(this.#master, result, this.#policy)
    this.refresh()
    return this.#master
  }

  drain (id: string, until: number | null, reason: string): void {
    this.#drains.set(id, { until, reason })
    this.refresh()
  }

  undrain (id: string): boolean {
    const had = this.#drains.delete(id)
    this.refresh()
    return had
  }

  /** The mirror's sync time: the newest either scheme has read from its canary. */
  syncTime (id: string): number | null {
    const a = this.health(id, 'http').syncTime
    const b = this.health(id, 'https').syncTime
    return a === null ? b : b === null ? a : Math.max(a, b)
  }

  exportState (): FleetState {
    return { health: [...this.#health], master: this.#master, drains: [...this.#drains], known: this.#known }
  }

  /**
   * Replaces health, master and drains with another fleet's (a cluster worker following its
   * primary, or a saved state at start); entries for mirrors not in the table are dropped.
   */
  importState (state: FleetState): void {
    const inTable = ([key]: readonly [string, unknown]): boolean => this.#table.byId.has(key.slice(key.indexOf(' ') + 1))
    this.#health = new Map(state.health.filter(inTable))
    this.#master = state.master
    this.#drains = new Map(state.drains.filter(([id]) => this.#table.byId.has(id)))
    this.#known ||= state.known
    this.refresh()
  }

  /** Re-evaluates every verdict (health, freshness, drain expiry); notifies on change. */
  refresh (): void {
    const now = this.#now()
    for (const [id, d] of this.#drains) if (d.until !== null && d.until <= now) this.#drains.delete(id)
    let enabled = 0
    let up = 0
    for (const m of this.#table.mirrors) {
      if (!m.enabled) continue
      enabled++
      if (SCHEMES.some((s) => this.#base(m, s) !== null && this.health(m.id, s).state !== 'down')) up++
    }
    const fewUp = enabled > 0 && up / enabled < this.#policy.failOpenBelow
    // A small fleet losing most of its mirrors is not evidence against the prober.
    const proberSuspect = this.#policy.master !== null ? this.#master.state === 'down' : up === 0 && enabled >= FAIL_OPEN_MIN_MIRRORS
    this.#failOpen = fewUp && proberSuspect
    const reference = this.reference
    const verdicts = emptyVerdicts()
    let signature = `v${this.#table.version}|${this.#failOpen ? 'open|' : ''}`
    for (const m of this.#table.mirrors) {
      for (const scheme of SCHEMES) {
        for (const cls of ['volatile', 'versioned'] as const) {
          const v = this.#verdict(m, scheme, cls, reference)
          if (v !== null) {
            verdicts[scheme][cls].set(m.id, v)
            // A lag changes only when a mirror or the master syncs; 'behind' groups depend on it.
            signature += `${scheme}/${cls}/${m.id}/${v.code}${v.lagMs ?? ''}|`
          }
        }
      }
    }
    this.#verdicts = verdicts
    if (signature === this.#signature) return
    this.#signature = signature
    for (const l of this.#listeners) l(this.#gates)
  }

  /** The base a client of this scheme would be sent to, whose health therefore counts. */
  #base (m: Mirror, scheme: Scheme): string | null {
    return scheme === 'http' ? (m.http ?? m.https) : m.https
  }

  #verdict (m: Mirror, scheme: Scheme, cls: PathClass, reference: number | null): Verdict | null {
    const drain = this.#drains.get(m.id)
    if (drain !== undefined) {
      return { code: 'draining', reason: `drained${drain.until === null ? '' : ` until ${new Date(drain.until).toISOString()}`}: ${drain.reason}` }
    }
    const base = this.#base(m, scheme)
    if (base === null) return null // the selection already excludes it for this scheme
    const probedScheme: Scheme = base.startsWith('https:') ? 'https' : 'http'
    const h = this.health(m.id, probedScheme)
    if (h.state === 'down' && !this.#failOpen) {
      return { code: 'down', standing: 'down', reason: `down: ${h.lastError?.reason ?? 'probe failed'}${h.lastError?.message ? ` (${h.lastError.message})` : ''}` }
    }
    if (h.state === 'unknown' && this.#policy.enabled) {
      return { code: 'unprobed', standing: 'unprobed', reason: 'not probed yet: mirrors known to be fresh come first' }
    }
    const lag = lagMs(this.syncTime(m.id), reference)
    const max = maxLagFor(cls, this.#policy)
    if (lag !== null && lag > max) {
      return {
        code: 'stale',
        standing: 'behind',
        lagMs: lag,
        allowedMs: max,
        reason: `${Math.round(lag / 60000)} min behind the reference sync point; ${cls} files allow ${Math.round(max / 60000)} min`
      }
    }
    return null
  }

  #makeGates (): Gates {
    // The gates read the current verdict table, so they never need replacing.
    return {
      volatile: (m, client) => this.#verdicts[client.scheme].volatile.get(m.id) ?? null,
      versioned: (m, client) => this.#verdicts[client.scheme].versioned.get(m.id) ?? null
    }
  }

  status (): MirrorStatus[] {
    const reference = this.reference
    return this.#table.mirrors.map((m) => {
      const syncTime = this.syncTime(m.id)
      return {
        mirror: m,
        http: m.http === null ? null : this.health(m.id, 'http'),
        https: m.https === null ? null : this.health(m.id, 'https'),
        syncTime,
        lagMs: lagMs(syncTime, reference),
        drain: this.#drains.get(m.id) ?? null,
        serving: {
          http: { volatile: this.#verdicts.http.volatile.get(m.id) ?? null, versioned: this.#verdicts.http.versioned.get(m.id) ?? null },
          https: { volatile: this.#verdicts.https.volatile.get(m.id) ?? null, versioned: this.#verdicts.https.versioned.get(m.id) ?? null }
        }
      }
    })
  }
}

function emptyVerdicts (): VerdictTable {
  return {
    http: { volatile: new Map(), versioned: new Map() },
    https: { volatile: new Map(), versioned: new Map() }
  }
}
