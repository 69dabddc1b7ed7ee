// The hosts DNS may hand out for the download name: redirector instances from the config
// and mirrors whose table entry says they serve that name under their own Host. Health comes
// from the same places as the HTTP side (the fleet for mirrors; a /readyz-style URL polled
// with the same hysteresis for instances), and ranking from the same selection rule.

import { applyProbe, UNKNOWN, type Health, type ProbeResult } from '../core/health.js'
import { select } from '../core/selection.js'
import { buildTable } from '../core/table.js'
import type { Family, MirrorTable, Place } from '../core/types.js'
import type { Config, DnsEndpointConfig } from '../config/schema.js'
import type { Fleet } from '../fleet.js'

export interface Endpoint {
  readonly id: string
  readonly kind: 'instance' | 'mirror'
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  readonly weight: number
  readonly ipv4: readonly string[]
  readonly ipv6: readonly string[]
  readonly healthy: boolean
  /** Why it is not healthy, for people; null when healthy. */
  readonly reason: string | null
}

export type HealthCheck = (url: string, timeoutMs: number) => Promise<ProbeResult>

/** GET the URL; 2xx is healthy. */
export const httpCheck: HealthCheck = async (url, timeoutMs) => {
  const started = performance.now()
  const at = Date.now()
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
    await res.body?.cancel()
    const latencyMs = performance.now() - started
    if (res.status >= 200 && res.status < 300) return { ok: true, at, latencyMs, syncTime: null, failure: null, message: null }
    return { ok: false, at, latencyMs, syncTime: null, failure: 'http-status', message: `HTTP ${res.status}` }
  } catch (err) {
    const timeout = (err as Error).name === 'TimeoutError'
    return { ok: false, at, latencyMs: performance.now() - started, syncTime: null, failure: timeout ? 'timeout' : 'connect', message: (err as Error).message }
  }
}

const split = (addresses: readonly string[]): { ipv4: string[], ipv6: string[] } => ({
  ipv4: addresses.filter((a) => !a.includes(':')),
  ipv6: addresses.filter((a) => a.includes(':'))
})

export class EndpointDirectory {
  readonly #config: Config
  readonly #fleet: Fleet
  readonly #check: HealthCheck
  readonly #instanceHealth = new Map<string, Health>()
  readonly #listeners: Array<() => void> = []
  #timer: NodeJS.Timeout | null = null
  #endpoints: readonly Endpoint[] = []
  #byId = new Map<string, Endpoint>()
  #table: MirrorTable = buildTable([])
  #signature = ''

  constructor (config: Config, fleet: Fleet, check: HealthCheck = httpCheck) {
    this.#config = config
    this.#fleet = fleet
    this.#check = check
    fleet.onChange(() => this.refresh())
    this.refresh()
  }

  /** Every endpoint, healthy or not. */
  get endpoints (): readonly Endpoint[] { return this.#endpoints }

  get (id: string): Endpoint | undefined { return this.#byId.get(id) }

  /** Called when some endpoint's health or address set changed. */
  onChange (listener: () => void): void { this.#listeners.push(listener) }

  /** Polls instance health URLs every probe interval until stop(). */
  start (): void {
    const tick = (): void => {
      void this.checkNow().finally(() => {
        if (this.#timer !== null) this.#timer = setTimeout(tick, this.#config.probes.intervalMs).unref()
      })
    }
    this.#timer = setTimeout(tick, 0).unref()
  }

  stop (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  async checkNow (): Promise<void> {
    const withUrl = this.#config.dns.endpoints.filter((e): e is DnsEndpointConfig & { health: string } => e.health !== null)
    await Promise.all(withUrl.map(async (e) => {
      const result = await this.#check(e.health, this.#config.probes.timeoutMs)
      this.#instanceHealth.set(e.id, applyProbe(this.#instanceHealth.get(e.id) ?? UNKNOWN, result, this.#config.probes))
    }))
    this.refresh()
  }

  refresh (): void {
    const name = this.#config.dns.name
    const list: Endpoint[] = []
    for (const e of this.#config.dns.endpoints) {
      const h = this.#instanceHealth.get(e.id) ?? UNKNOWN
      const down = h.state === 'down'
      list.push({
        id: e.id, kind: 'instance', country: e.country, latitude: e.latitude, longitude: e.longitude, weight: e.weight,
        ...split(e.addresses),
        healthy: !down,
        reason: down ? `health check failing: ${h.lastError?.message ?? 'unknown'}` : null
      })
    }
    for (const s of this.#fleet.status()) {
      const m = s.mirror
      if (!m.enabled || m.addresses.length === 0 || !m.dnsNames.includes(name)) continue
      // Serving indexes over plain http is what a DNS-directed apk client will ask of it.
      const verdict = s.serving.http.volatile
      list.push({
        id: m.id, kind: 'mirror', country: m.country, latitude: m.latitude, longitude: m.longitude, weight: m.weight,
        ...split(m.addresses),
        healthy: verdict === null,
        // A drain's reason is the operator's note: endpoints are public, so only the fact shows.
        reason: verdict === null
          ? null
          : s.drain !== null
            ? (s.drain.until === null ? 'drained' : `drained until ${new Date(s.drain.until).toISOString()}`)
            : verdict.reason
      })
    }
    const signature = list.map((e) => `${e.id}:${e.healthy ? 1 : 0}:${e.ipv4.join(',')}:${e.ipv6.join(',')}`).join('|')
    if (signature === this.#signature) return
    this.#signature = signature
    this.#endpoints = Object.freeze(list)
    this.#byId = new Map(list.map((e) => [e.id, e]))
    // The same selection rule as for mirrors: country first, comparably near, weighted.
    this.#table = buildTable(list.map((e) => ({
      id: e.id, name: e.id, tier: 'community', urls: [], country: e.country, latitude: e.latitude, longitude: e.longitude,
      weight: e.weight, families: [...(e.ipv4.length > 0 ? ['ipv4' as const] : []), ...(e.ipv6.length > 0 ? ['ipv6' as const] : [])],
      enabled: e.healthy
    })))
    for (const l of this.#listeners) l()
  }

  /**
   * The healthy endpoints with addresses of `family` for a client at `place` (its network
   * key gives stickiness), best first; empty when none is healthy.
   */
  rank (place: Place, network: string, family: Family): Endpoint[] {
    const sel = select(this.#table, { place, family, scheme: 'http', network }, this.#config.selection)
    return sel.ranked.map((r) => this.#byId.get(r.mirror.id) as Endpoint)
  }
}
