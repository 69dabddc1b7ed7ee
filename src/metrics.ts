// Every Prometheus metric mirrorgate exposes, on one registry. Hot-path counters are bound
// to their label values once and cached, so a request costs a map read and an increment.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ProbeResult } from './core/health.js'
import type { InstanceConfig } from './config/schema.js'
import type { Fleet } from './fleet.js'
import type { GeoIp } from './geoip/reader.js'

// Status codes as label text, so counting a response does not format a number.
const STATUS_TEXT: Readonly<Record<number, string>> = { 200: '200', 302: '302', 304: '304', 400: '400', 404: '404', 405: '405', 503: '503' }

export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Counter<'route' | 'status'>
  readonly #redirects: Counter<'mirror' | 'continent'>
  readonly #fallbacks: Counter<'outcome'>
  readonly selectionSeconds: Histogram
  readonly #probeSeconds: Histogram<'target'>
  readonly #probeFailures: Counter<'mirror' | 'reason'>
  readonly #reloads: Counter<'result'>
  readonly #offRegion: Counter<'client_continent'>
  readonly #dnsQueries: Counter<'rcode' | 'qtype'>
  readonly #dnsEcsQueries: Counter<'rcode'>
  readonly #bound = new Map<object, Map<string, Map<string, Counter.Internal>>>()

  /** `geoip` is null in a cluster primary, which serves no HTTP. */
  constructor (geoip: GeoIp | null, fleet: Fleet, instance: InstanceConfig) {
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
    if (geoip !== null) {
      new Counter({ name: 'mirrorgate_geoip_lookups_total', help: 'GeoIP lookups (cached or not)', registers, collect () { this.reset(); this.inc(geoip.lookups) } })
      new Counter({ name: 'mirrorgate_geoip_cache_hits_total', help: 'GeoIP lookups answered from the per-network cache', registers, collect () { this.reset(); this.inc(geoip.cacheHits) } })
    }

    // Mirror health: probe outcomes as they happen, state read from the fleet at scrape time.
    this.#probeSeconds = new Histogram({
      name: 'mirrorgate_probe_duration_seconds', help: 'Canary probe latency (successful probes)', labelNames: ['target'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers
    })
    this.#probeFailures = new Counter({ name: 'mirrorgate_probe_failures_total', help: 'Failed canary probes by mirror and reason', labelNames: ['mirror', 'reason'], registers })
    // Fleet and instance gauges are the same in every process of a cluster: when the primary
    // aggregates, it keeps one copy instead of summing them.
    const info = new Gauge({ name: 'mirrorgate_instance_info', help: 'This instance: id, region and country (value 1)', labelNames: ['id', 'region', 'country'], registers, aggregator: 'first' })
    info.set({ id: instance.id, region: instance.region, country: instance.country ?? 'none' }, 1)
    this.#offRegion = new Counter({
      name: 'mirrorgate_offregion_requests_total',
      help: "Redirects for clients outside this instance's continent: how well GeoDNS places clients",
      labelNames: ['client_continent'],
      registers
    })
    this.#dnsQueries = new Counter({
      name: 'mirrorgate_dns_queries_total',
      help: 'DNS messages by response code (DROPPED: no reply sent) and query type (OTHER: uncommon types, NONE: no question)',
      labelNames: ['rcode', 'qtype'],
      registers
    })
    this.#dnsEcsQueries = new Counter({
      name: 'mirrorgate_dns_ecs_queries_total',
      help: 'DNS messages that carried an EDNS Client Subnet option, by response code (FORMERR: malformed option)',
      labelNames: ['rcode'],
      registers
    })
    this.#reloads = new Counter({ name: 'mirrorgate_table_reloads_total', help: 'Mirror table reloads by result', labelNames: ['result'], registers })
    new Gauge({
      name: 'mirrorgate_mirror_up', help: '1 when the mirror passes its probes for this scheme, 0 when down, -1 unknown', labelNames: ['mirror', 'scheme'], registers, aggregator: 'first',
      collect () {
        this.reset()
        for (const s of fleet.status()) {
          if (!s.mirror.enabled) continue
          for (const [scheme, h] of [['http', s.http], ['https', s.https]] as const) {
            if (h !== null) this.set({ mirror: s.mirror.id, scheme }, h.state === 'up' ? 1 : h.state === 'down' ? 0 : -1)
          }
        }
      }
    })
    new Gauge({
      name: 'mirrorgate_mirror_lag_seconds', help: 'How far the mirror is behind the reference sync point', labelNames: ['mirror'], registers, aggregator: 'first',
      collect () {
        this.reset()
        for (const s of fleet.status()) if (s.mirror.enabled && s.lagMs !== null) this.set({ mirror: s.mirror.id }, s.lagMs / 1000)
      }
    })
    new Gauge({
      name: 'mirrorgate_fail_open', help: '1 while too few mirrors are up and health is being ignored', registers, aggregator: 'max',
      collect () { this.set(fleet.failOpen ? 1 : 0) }
    })
  }

  probe (mirror: string | null, result: ProbeResult): void {
    if (result.ok) this.#probeSeconds.observe({ target: mirror === null ? 'master' : 'mirror' }, result.latencyMs / 1000)
    else this.#probeFailures.inc({ mirror: mirror ?? 'master', reason: result.failure ?? 'other' })
  }

  reload (ok: boolean): void {
    this.#reloads.inc({ result: ok ? 'ok' : 'rejected' })
  }

  /** A counter's child for two label values, bound once; the hot path builds no strings. */
  #child<L extends string> (counter: Counter<L>, a: string, b: string, labels: () => Record<L, string>): Counter.Internal {
    let byA = this.#bound.get(counter)
    if (byA === undefined) this.#bound.set(counter, byA = new Map())
    let byB = byA.get(a)
    if (byB === undefined) byA.set(a, byB = new Map())
    let child = byB.get(b)
    if (child === undefined) byB.set(b, child = counter.labels(labels()))
    return child
  }

  request (route: string, status: number): void {
    this.#child(this.#requests, route, STATUS_TEXT[status] ?? String(status), () => ({ route, status: String(status) })).inc()
  }

  redirect (mirror: string, continent: string): void {
    this.#child(this.#redirects, mirror, continent, () => ({ mirror, continent })).inc()
  }

  fallback (outcome: 'fallback' | 'unavailable'): void {
    this.#child(this.#fallbacks, outcome, '', () => ({ outcome })).inc()
  }

  dnsQuery (rcode: string, qtype: string, ecs: boolean): void {
    this.#child(this.#dnsQueries, rcode, qtype, () => ({ rcode, qtype })).inc()
    if (ecs) this.#child(this.#dnsEcsQueries, rcode, '', () => ({ rcode })).inc()
  }

  offRegion (continent: string): void {
    this.#child(this.#offRegion, continent, '', () => ({ client_continent: continent })).inc()
  }
}
