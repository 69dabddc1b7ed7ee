// The live state as one immutable value: the table in force, what the probes know of each
// mirror, the drains, and what follows from them: the reference sync point, each mirror's lag,
// whether health is being ignored (fail open), and each mirror's verdict per IP family, scheme and path
// class. Built by one pure function from its inputs; its owner (src/live/fleet.ts) builds a new one
// on every change and swaps it by reference, so a reader always sees one consistent state.

import { lagMs, maxLagFor, type FreshnessPolicy, type PathClass } from './freshness.js'
import { UNKNOWN, type Health } from './health.js'
import type { Gate, Verdict } from './selection.js'
import { baseFor, schemeOf } from './table.js'
import type { Family, Mirror, MirrorTable, Scheme } from './types.js'

/** Where a drain was set: the table (every instance reading it) or this instance's admin API. */
export type DrainSource = 'table' | 'local'

export interface Drain {
  readonly until: number | null
  /** The operator's note: for the admin API and logs, never for public answers. */
  readonly reason: string
  readonly source: DrainSource
}

/** What the snapshot is built from: everything the owner keeps, nothing derived. */
export interface LiveInputs {
  readonly table: MirrorTable
  /** Probe health by healthKey(id, scheme, family). */
  readonly health: ReadonlyMap<string, Health>
  readonly master: Health
  /** Health of the DNS endpoints that have a health URL, by endpoint id. */
  readonly endpoints: ReadonlyMap<string, Health>
  /** Drains in force, one per mirror, table or local (the owner leaves out ended ones). */
  readonly drains: ReadonlyMap<string, Drain>
  /** Whether the state is known: first probe round answered or timed out, or restored. */
  readonly known: boolean
}

export interface LivePolicy extends FreshnessPolicy {
  /** Whether probes run: without them a mirror never probed is not demoted. */
  readonly enabled: boolean
  /** The master's URL, when one is configured: its health is evidence about the prober. */
  readonly master: string | null
  /**
   * Health is ignored (fail open) when fewer than this fraction of enabled mirrors is up and
   * the prober itself is the likely cause: its master fails too, or, without a master, every
   * one of at least FAIL_OPEN_MIN_MIRRORS mirrors fails at once.
   */
  readonly failOpenBelow: number
}

/** Without a master, fewer mirrors than this failing together say nothing about the prober. */
export const FAIL_OPEN_MIN_MIRRORS = 3

export type Serving = Readonly<Record<Scheme, Readonly<Record<PathClass, Verdict | null>>>>

/**
 * Where one probe target's health is kept: a mirror's base URL over one scheme, reached over one
 * IP family. IPv4's key is the plain `${scheme} ${id}`, so state saved before families were
 * probed apart still reads as IPv4.
 */
export function healthKey (id: string, scheme: Scheme, family: Family): string {
  return family === 4 ? `${scheme} ${id}` : `${scheme}/6 ${id}`
}

export interface MirrorStatus {
  readonly mirror: Mirror
  readonly http: Health | null
  readonly https: Health | null
  readonly syncTime: number | null
  readonly lagMs: number | null
  readonly drain: Drain | null
  /** Its verdict for a client of each IP family and scheme, per path class; null: fresh, serves. */
  readonly serving: Readonly<Record<Family, Serving>>
}

export type Gates = Readonly<Record<PathClass, Gate>>

export interface Snapshot {
  readonly table: MirrorTable
  readonly master: Health
  readonly known: boolean
  readonly failOpen: boolean
  /** The sync point mirrors are measured against: the master's, else the newest mirror's. */
  readonly reference: number | null
  /** One per table mirror, in table order. */
  readonly mirrors: readonly MirrorStatus[]
  readonly byId: ReadonlyMap<string, MirrorStatus>
  /**
   * Names every verdict and the table version: equal keys mean equal selections, so caches of
   * decisions start afresh only when it changes, not at every probe result.
   */
  readonly selectionKey: string
  /** A number for selectionKey: the previous snapshot's when the key is the same, else the next. */
  readonly epoch: number
  /** The selection's gates over this snapshot's verdicts. */
  readonly gates: Gates
  /**
   * Health of one mirror over one scheme and IP family (default IPv4). A family never probed on
   * its own (an IP-literal URL, a probe not yet run) reads as the other family's health.
   */
  health (id: string, scheme: Scheme, family?: Family): Health
  /** Health of one DNS endpoint's health URL (UNKNOWN when never checked). */
  endpointHealth (id: string): Health
}

const SCHEMES: readonly Scheme[] = ['http', 'https']
const FAMILIES: readonly Family[] = [4, 6]
const CLASSES: readonly PathClass[] = ['volatile', 'versioned']

/** `previous` (the snapshot this one replaces) only carries the epoch over. */
export function buildSnapshot (inputs: LiveInputs, policy: LivePolicy, previous: Snapshot | null = null): Snapshot {
  const { table, health, master, drains } = inputs
  const healthOf = (id: string, scheme: Scheme, family: Family = 4): Health =>
    health.get(healthKey(id, scheme, family)) ?? health.get(healthKey(id, scheme, family === 4 ? 6 : 4)) ?? UNKNOWN
  const syncTimeOf = (id: string): number | null => newest(healthOf(id, 'http').syncTime, healthOf(id, 'https').syncTime)

  let reference = master.syncTime
  if (reference === null) for (const h of health.values()) reference = newest(reference, h.syncTime)

  let enabled = 0
  let up = 0
  for (const m of table.mirrors) {
    if (!m.enabled) continue
    enabled++
    if (SCHEMES.some((s) => baseFor(m, s) !== null && FAMILIES.some((f) => healthOf(m.id, s, f).state !== 'down'))) up++
  }
  // A small fleet losing most of its mirrors is not evidence against the prober.
  const proberSuspect = policy.master !== null ? master.state === 'down' : up === 0 && enabled >= FAIL_OPEN_MIN_MIRRORS
  const failOpen = enabled > 0 && up / enabled < policy.failOpenBelow && proberSuspect

  let selectionKey = `v${table.version}|${failOpen ? 'open|' : ''}`
  const mirrors = table.mirrors.map((m): MirrorStatus => {
    const syncTime = syncTimeOf(m.id)
    const lag = lagMs(syncTime, reference)
    const drain = drains.get(m.id) ?? null
    const serving = { 4: {}, 6: {} } as Record<Family, Record<Scheme, Record<PathClass, Verdict | null>>>
    for (const family of FAMILIES) {
      for (const scheme of SCHEMES) {
        serving[family][scheme] = {} as Record<PathClass, Verdict | null>
        for (const cls of CLASSES) {
          // The health that counts is that of the base this client would be sent to, over its family.
          const base = baseFor(m, scheme)
          const v = base === null ? null : verdict(drain, healthOf(m.id, schemeOf(base), family), lag, cls, policy, failOpen)
          serving[family][scheme][cls] = v
          // A lag changes only when a mirror or the master syncs; 'behind' groups depend on it.
          if (v !== null) selectionKey += `${family}/${scheme}/${cls}/${m.id}/${v.code}${v.lagMs ?? ''}|`
        }
      }
    }
    return Object.freeze({
      mirror: m,
      http: m.http === null ? null : healthOf(m.id, 'http'),
      https: m.https === null ? null : healthOf(m.id, 'https'),
      syncTime,
      lagMs: lag,
      drain,
      serving
    })
  })
  const byId = new Map(mirrors.map((s) => [s.mirror.id, s]))
  const gateFor = (cls: PathClass): Gate => (m, client) => byId.get(m.id)?.serving[client.family][client.scheme][cls] ?? null
  return Object.freeze({
    table,
    master,
    known: inputs.known,
    failOpen,
    reference,
    mirrors: Object.freeze(mirrors),
    byId,
    selectionKey,
    epoch: previous === null ? 0 : previous.selectionKey === selectionKey ? previous.epoch : previous.epoch + 1,
    gates: Object.freeze({ volatile: gateFor('volatile'), versioned: gateFor('versioned') }),
    health: healthOf,
    endpointHealth: (id: string) => inputs.endpoints.get(id) ?? UNKNOWN
  })
}

function verdict (drain: Drain | null, h: Health, lag: number | null, cls: PathClass, policy: LivePolicy, failOpen: boolean): Verdict | null {
  if (drain !== null) {
    // The note stays out: verdicts reach public answers (explain, DNS health).
    return { code: 'draining', until: drain.until, reason: drain.until === null ? 'drained' : `drained until ${new Date(drain.until).toISOString()}` }
  }
  if (h.state === 'down' && !failOpen) {
    return { code: 'down', standing: 'down', reason: `down: ${h.lastError?.reason ?? 'probe failed'}${h.lastError?.message ? ` (${h.lastError.message})` : ''}` }
  }
  if (h.state === 'unknown' && policy.enabled) {
    return { code: 'unprobed', standing: 'unprobed', reason: 'not probed yet: mirrors known to be fresh come first' }
  }
  const max = maxLagFor(cls, policy)
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

function newest (a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b)
}
