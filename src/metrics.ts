// Every Prometheus metric mirrorgate exposes, on one registry. Hot-path counters are bound
// to their label values once and cached, so a request costs a map read and an increment.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { GeoIp } from './geoip/reader.js'

export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'route' | 'status'>
  readonly #redirects: Counter<'mirror' | 'continent'>
  readonly #fallbacks: Counter<'outcome'>
  readonly selectionSeconds: Histogram
  readonly #children = new Map<string, Counter.Internal>()

  constructor (geoip: GeoIp) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.#requests = new Counter({ name: 'mirrorgate_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers })
    this.#redirects = new Counter({ name: 'mirrorgate_redirects_total', help: 'Redirects to mirrors by mirror id and client continent', labelNames: ['mirror', 'continent'], registers })
    this.#fallbacks = new Counter({ name: 'mirrorgate_fallbacks_total', help: 'Requests no mirror could serve: sent to the fallback, or answered 503', labelNames: ['outcome'], registers })
    this.selectionSeconds = new Histogram({
      name: 'mirrorgate_selection_seconds',
      help: 'Time to rank mirrors for a client network (selection-cache misses only)',
      buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005],
      registers
    })
    // GeoIP keeps plain counters; they are copied out only when Prometheus scrapes.
    new Counter({ name: 'mirrorgate_geoip_lookups_total', help: 'GeoIP lookups (cached or not)', registers, collect () { this.reset(); this.inc(geoip.lookups) } })
    new Counter({ name: 'mirrorgate_geoip_cache_hits_total', help: 'GeoIP lookups answered from the per-network cache', registers, collect () { this.reset(); this.inc(geoip.cacheHits) } })
  }

  #child<L extends string> (counter: Counter<L>, key: string, labels: Record<L, string>): Counter.Internal {
    let child = this.#children.get(key)
    if (child === undefined) {
      child = counter.labels(labels)
      this.#children.set(key, child)
    }
    return child
  }

  request (route: string, status: number): void {
    this.#child(this.#requests, `r\0${route}\0${status}`, { route, status: String(status) }).inc()
  }

  redirect (mirror: string, continent: string): void {
    this.#child(this.#redirects, `m\0${mirror}\0${continent}`, { mirror, continent }).inc()
  }

  fallback (outcome: 'fallback' | 'unavailable'): void {
    this.#child(this.#fallbacks, `f\0${outcome}`, { outcome }).inc()
  }
}
