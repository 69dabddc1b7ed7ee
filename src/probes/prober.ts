// The one prober: every enabled mirror once per scheme it offers, the master, and the health
// URLs of the DNS endpoints (redirector instances), each on its own jittered timer (Tier-1
// mirrors, the master and endpoints more often than community mirrors), a failure confirmed
// within `retryMs`, backed off while down, never more than `concurrency` at once. Results go
// to the Fleet, which owns all health state; this file only decides when to look.

import type { ProbeConfig } from '../config/schema.js'
import type { Health, ProbeResult } from '../core/health.js'
import { familiesOf, schemeOf } from '../core/table.js'
import type { Family, Mirror, MirrorTable, Scheme } from '../core/types.js'
import { isIP, type LookupFunction } from 'node:net'
import type { Fleet } from '../live/fleet.js'
import { probe, type Expect } from './probe.js'
import { probeDelay } from './schedule.js'

export interface ProbeTarget {
  /** A mirror's canary, the master's canary, or a DNS endpoint's health URL (any 2xx is up). */
  readonly kind: 'mirror' | 'master' | 'endpoint'
  /** The mirror's or endpoint's id; null for the master. */
  readonly id: string | null
  readonly scheme: Scheme
  /**
   * The IP family a mirror's host is reached over: each family it claims is checked on its own.
   * Null where there is nothing to choose (an IP-literal URL, the master, an endpoint).
   */
  readonly family: Family | null
  readonly url: string
  /** Between probes while it passes: by tier. */
  readonly intervalMs: number
}

/** A DNS endpoint whose health URL the prober checks (from dns.endpoints). */
export interface EndpointTarget { readonly id: string, readonly health: string | null }

export interface ProberHooks {
  /** DNS endpoints to check; those without a health URL are not probed (always healthy). */
  endpoints?: readonly EndpointTarget[]
  /** Name resolution for probes (default: the system's); tests give a loopback name both families. */
  lookup?: LookupFunction
  onResult?(target: ProbeTarget, result: ProbeResult, health: Health): void
  /** In [0, 1); scales the jitter. */
  random?: () => number
  now?: () => number
}

/** Identifies a target across tables: a changed URL counts as a new target. */
function keyOf (t: ProbeTarget): string {
  return `${t.kind} ${t.id ?? ''} ${t.scheme} ${t.family ?? ''} ${t.url} ${t.intervalMs}`
}

/** The IP family of a URL whose host is an address literal, else null (a name to resolve). */
export function literalFamily (url: string): Family | null {
  const host = new URL(url).hostname
  return isIP(host.startsWith('[') ? host.slice(1, -1) : host) === 6 ? 6 : isIP(host) === 4 ? 4 : null
}

/**
 * The targets of one mirror (or the master, id null): one per base URL it offers and, for a
 * host name, per IP family in `families` (a mirror's claimed families; the master's: any).
 */
export function targetsFor (id: string | null, bases: ReadonlyArray<string | null>, canary: string, intervalMs: number, families: readonly Family[] = []): ProbeTarget[] {
  const kind = id === null ? 'master' : 'mirror'
  return bases.filter((b): b is string => b !== null).flatMap((base) => {
    const url = base + canary
    const each = literalFamily(url) === null && families.length > 0 ? families : [null]
    return each.map((family) => Object.freeze({ kind, id, scheme: schemeOf(base), family, url, intervalMs }))
  })
}

/** The family a mirror target's result counts for: its own, or its address literal's (else IPv4). */
export function familyOf (target: ProbeTarget): Family {
  return target.family ?? literalFamily(target.url) ?? 4
}

/** The endpoints' health URLs, checked as often as Tier-1 mirrors: DNS hands them out. */
export function endpointTargets (endpoints: readonly EndpointTarget[], config: ProbeConfig): ProbeTarget[] {
  return endpoints.filter((e): e is EndpointTarget & { health: string } => e.health !== null)
    .map((e) => Object.freeze({ kind: 'endpoint', id: e.id, scheme: schemeOf(e.health), family: null, url: e.health, intervalMs: config.t1IntervalMs }))
}

/** The probe interval of a mirror of this tier. */
export function intervalFor (mirror: Mirror, config: ProbeConfig): number {
  return mirror.tier === 't1' ? config.t1IntervalMs : config.intervalMs
}

/**
 * Every target, by key: the table's enabled mirrors and the master (unless probes are
 * disabled), and the endpoints' health URLs (checked either way, as DNS depends on them).
 */
export function targetsOf (table: MirrorTable, config: ProbeConfig, endpoints: readonly EndpointTarget[] = []): Map<string, ProbeTarget> {
  const all: ProbeTarget[] = []
  if (config.enabled) {
    for (const m of table.mirrors) if (m.enabled) all.push(...targetsFor(m.id, [m.http, m.https], config.canary, intervalFor(m, config), familiesOf(m)))
    all.push(...targetsFor(null, [config.master], config.canary, config.t1IntervalMs))
  }
  all.push(...endpointTargets(endpoints, config))
  return new Map(all.map((t) => [keyOf(t), t]))
}

const EXPECT: Readonly<Record<ProbeTarget['kind'], Expect>> = { mirror: 'canary', master: 'canary', endpoint: 'ok' }

export class Prober {
  readonly #fleet: Fleet
  readonly #config: ProbeConfig
  readonly #onResult: ProberHooks['onResult']
  readonly #endpoints: readonly EndpointTarget[]
  readonly #lookup: LookupFunction | undefined
  readonly #random: () => number
  readonly #now: () => number
  /** The targets being scheduled, and the table they came from. */
  #targets = new Map<string, ProbeTarget>()
  #table: MirrorTable | null = null
  readonly #timers = new Map<string, NodeJS.Timeout>()
  /** One probe per target at a time: a forced probe joins a running one. */
  readonly #running = new Map<ProbeTarget, Promise<Health>>()
  /** Concurrency: probes holding a slot, and callbacks waiting for one. */
  #active = 0
  readonly #waiting: Array<() => void> = []
  #started = false
  #stopping: Promise<void> | null = null
  #firstRoundDone: () => void = () => {}

  /** Resolves once every target present at start() has a first result (readiness). */
  readonly firstRound: Promise<void>

  constructor (fleet: Fleet, config: ProbeConfig, hooks: ProberHooks = {}) {
    this.#fleet = fleet
    this.#config = config
    this.#onResult = hooks.onResult
    this.#endpoints = hooks.endpoints ?? []
    this.#lookup = hooks.lookup
    this.#random = hooks.random ?? Math.random
    this.#now = hooks.now ?? Date.now
    this.firstRound = new Promise((resolve) => { this.#firstRoundDone = resolve })
    // A new table is picked up at once.
    fleet.subscribe((next, previous) => { if (next.table !== previous.table) void this.#sync() })
  }

  /** Probes every target now, then keeps probing each on its own timer. Only the first call counts. */
  start (): void {
    if (this.#started || this.#stopping !== null) return
    if (!this.#config.enabled && endpointTargets(this.#endpoints, this.#config).length === 0) {
      this.#firstRoundDone()
      return
    }
    this.#started = true
    void this.#sync().then(this.#firstRoundDone)
  }

  /** Probes one mirror (each scheme) or, without id, every target now; null for an unknown id. */
  async probeNow (id?: string): Promise<Health[] | null> {
    await this.#sync()
    let targets: ProbeTarget[]
    if (id === undefined) {
      targets = [...(this.#started ? this.#targets : targetsOf(this.#fleet.table, this.#config, this.#endpoints)).values()]
    } else {
      const mirror = this.#fleet.table.byId.get(id)
      if (mirror === undefined) return null
      // A disabled mirror can still be checked on demand; it just gets no timer.
      targets = targetsFor(id, [mirror.http, mirror.https], this.#config.canary, intervalFor(mirror, this.#config), familiesOf(mirror)).map((t) => this.#targets.get(keyOf(t)) ?? t)
    }
    return await Promise.all(targets.map((t) => this.#run(t)))
  }

  /** Checks every DNS endpoint's health URL now. */
  async probeEndpoints (): Promise<Health[]> {
    await this.#sync()
    return await Promise.all(endpointTargets(this.#endpoints, this.#config).map((t) => this.#run(this.#targets.get(keyOf(t)) ?? t)))
  }

  /** Clears every timer and waits for probes in flight (each bounded by the timeout). */
  stop (): Promise<void> {
    this.#stopping ??= (async () => {
      for (const timer of this.#timers.values()) clearTimeout(timer)
      this.#timers.clear()
      this.#firstRoundDone() // nobody waits on a round that will not finish
      await Promise.allSettled([...this.#running.values()])
    })()
    return this.#stopping
  }

  /** Brings the scheduled targets in line with the table; resolves when the new ones have a first result. */
  async #sync (): Promise<void> {
    if (!this.#started || this.#stopping !== null || this.#fleet.table === this.#table) return
    this.#table = this.#fleet.table
    const wanted = targetsOf(this.#table, this.#config, this.#endpoints)
    for (const key of this.#targets.keys()) {
      if (wanted.has(key)) continue
      clearTimeout(this.#timers.get(key))
      this.#timers.delete(key)
    }
    const fresh = [...wanted].filter(([key]) => !this.#targets.has(key))
    // Keep the old objects for targets that stay: timers and running probes refer to them.
    this.#targets = new Map([...wanted].map(([key, t]) => [key, this.#targets.get(key) ?? t]))
    await Promise.all(fresh.map(([, t]) => this.#run(t)))
  }

  #run (target: ProbeTarget): Promise<Health> {
    let running = this.#running.get(target)
    if (running === undefined) {
      running = this.#probe(target).finally(() => {
        this.#running.delete(target)
        this.#schedule(target)
      })
      this.#running.set(target, running)
    }
    return running
  }

  async #probe (target: ProbeTarget): Promise<Health> {
    await this.#acquire()
    try {
      // Stopped while queued: leave the state as it is.
      if (this.#stopping !== null) return this.#health(target)
      const connect = { ...(target.family === null ? {} : { family: target.family }), ...(this.#lookup === undefined ? {} : { lookup: this.#lookup }) }
      const result = await probe(target.url, this.#config.timeoutMs, this.#now, EXPECT[target.kind], connect)
      const health = this.#record(target, result)
      try {
        this.#onResult?.(target, result, health)
      } catch {
        // A failing observer (metrics, logs) must not stop the probing.
      }
      return health
    } finally {
      this.#release()
    }
  }

  /** (Re)arms the target's timer from its current health, if it is still scheduled. */
  #schedule (target: ProbeTarget): void {
    const key = keyOf(target)
    if (this.#targets.get(key) !== target || this.#stopping !== null) return
    clearTimeout(this.#timers.get(key))
    const timer = setTimeout(() => {
      this.#timers.delete(key)
      void this.#sync() // cheap unless the table changed; the subscription normally got there first
      if (this.#targets.get(key) === target) void this.#run(target)
    }, probeDelay(this.#health(target), target.intervalMs, this.#config, this.#random()))
    timer.unref() // probes never keep the process alive
    this.#timers.set(key, timer)
  }

  #record (target: ProbeTarget, result: ProbeResult): Health {
    if (target.kind === 'mirror') return this.#fleet.record(target.id as string, target.scheme, result, familyOf(target))
    if (target.kind === 'endpoint') return this.#fleet.recordEndpoint(target.id as string, result)
    return this.#fleet.recordMaster(result)
  }

  #health (target: ProbeTarget): Health {
    if (target.kind === 'mirror') return this.#fleet.health(target.id as string, target.scheme, familyOf(target))
    if (target.kind === 'endpoint') return this.#fleet.snapshot.endpointHealth(target.id as string)
    return this.#fleet.master
  }

  async #acquire (): Promise<void> {
    if (this.#active < Math.max(1, this.#config.concurrency)) {
      this.#active++
      return
    }
    // The slot is handed over by #release, so #active already counts us.
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  #release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#active--
  }
}
