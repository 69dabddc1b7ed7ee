// Every Prometheus metric mirrorgate exposes, on one registry. Hot-path counters are plain
// numbers (Tally) copied into prom-client only when scraped: counting a request costs two map
// reads and an increment, with no label hashing.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { mirrorIndex, type IndexCheck, type IndexState } from './core/coverage.js'
import type { ProbeResult } from './core/health.js'
import type { InstanceConfig } from './config/schema.js'
import { familiesOf } from './core/table.js'
import type { Fleet } from './live/fleet.js'
import type { LoadMeter } from './live/load.js'
import type { GeoIp } from './geoip/reader.js'
import { PathDemand } from './http/demand.js'

// Status codes as label text, so counting a response does not format a number.
const STATUS_TEXT: Readonly<Record<number, string>> = { 200: '200', 302: '302', 400: '400', 404: '404', 405: '405', 503: '503' }

/** A counter with one or two labels, kept as plain numbers and exposed at scrape time. */
class Tally {
  readonly #counts = new Map<string, Map<string, { readonly labels: Record<string, string>, n: number }>>()
  readonly #names: readonly [string] | readonly [string, string]

  constructor (name: string, help: string, labelNames: readonly [string] | readonly [string, string], registers: Registry[]) {
    this.#names = labelNames
    const counts = this.#counts
    new Counter({
      name, help, labelNames: [...labelNames], registers,
      collect () {
        this.reset()
        for (const byB of counts.values()) for (const c of byB.values()) this.inc(c.labels, c.n)
      }
    })
  }

  add (a: string, b = ''): void {
    let byB = this.#counts.get(a)
    if (byB === undefined) this.#counts.set(a, byB = new Map())
    let c = byB.get(b)
    if (c === undefined) {
      const [na, nb] = this.#names
      byB.set(b, c = { labels: nb === undefined ? { [na]: a } : { [na]: a, [nb]: b }, n: 0 })
    }
    c.n++
  }
}

const INDEX_STATES: readonly IndexState[] = ['current', 'behind', 'unknown', 'missing', 'failing', 'unchecked']

export class Metrics {
  readonly registry = new Registry()
  readonly #requests: Tally
  readonly #redirects: Tally
  readonly #fallbacks: Tally
  readonly selectionSeconds: Histogram
  readonly #probeSeconds: Histogram<'target'>
  readonly #probeFailures: Counter<'mirror' | 'reason'>
  readonly #reloads: Counter<'result'>
  readonly #offRegion: Tally
  readonly #dnsQueries: Tally
  readonly #dnsEcsQueries: Tally
  readonly #indexChecks: Counter<'result'>
  readonly #overflows: Tally
  readonly #byPath: PathDemand
  readonly #decisionLog: Tally
  readonly #registers: Registry[]
  readonly #fleet: Fleet

  /** `geoip` is null in a cluster primary, which serves no HTTP. */
  constructor (geoip: GeoIp | null, fleet: Fleet, instance: InstanceConfig) {
    const registers = [this.registry]
    this.#registers = registers
    this.#fleet = fleet
    collectDefaultMetrics({ register: this.registry })
    this.#requests = new Tally('mirrorgate_http_requests_total', 'HTTP requests by route and status', ['route', 'status'], registers)
    this.#redirects = new Tally('mirrorgate_redirects_total', 'Redirects to mirrors by mirror id and client continent', ['mirror', 'continent'], registers)
    this.#fallbacks = new Tally('mirrorgate_fallbacks_total', 'Requests no mirror could serve: sent to the fallback, or answered 503', ['outcome'], registers)
    this.#byPath = new PathDemand(registers)
    this.#decisionLog = new Tally('mirrorgate_decision_log_lines_total', 'Decision log lines: written (queued to the stream), or dropped (the stream was too far behind)', ['outcome'], registers)
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
      // Counted in each process that reads GeoIP: a cluster sums its workers' reloads.
      new Counter({
        name: 'mirrorgate_geoip_reloads_total',
        help: 'GeoIP reloads after a file change or SIGHUP: ok (new files in force) or rejected (a file failed its checks; the old ones stay)',
        labelNames: ['result'],
        registers,
        collect () {
          this.reset()
          this.inc({ result: 'ok' }, geoip.reloads.ok)
          this.inc({ result: 'rejected' }, geoip.reloads.rejected)
        }
      })
    }

    // Mirror health: probe outcomes as they happen, state read from the fleet at scrape time.
    this.#probeSeconds = new Histogram({
      name: 'mirrorgate_probe_duration_seconds', help: 'Probe latency of successful probes: mirror and master canaries, DNS endpoint health URLs', labelNames: ['target'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers
    })
    this.#probeFailures = new Counter({ name: 'mirrorgate_probe_failures_total', help: 'Failed canary probes by mirror and reason', labelNames: ['mirror', 'reason'], registers })
    // Fleet and instance gauges are the same in every process of a cluster: when the primary
    // aggregates, it keeps one copy instead of summing them.
    const info = new Gauge({ name: 'mirrorgate_instance_info', help: 'This instance: id, region and country (value 1)', labelNames: ['id', 'region', 'country'], registers, aggregator: 'first' })
    info.set({ id: instance.id, region: instance.region, country: instance.country ?? 'none' }, 1)
    this.#offRegion = new Tally('mirrorgate_offregion_requests_total', "Redirects for clients outside this instance's continent: how well GeoDNS places clients", ['client_continent'], registers)
    this.#dnsQueries = new Tally('mirrorgate_dns_queries_total', 'DNS messages by response code (DROPPED: no reply sent) and query type (OTHER: uncommon types, NONE: no question)', ['rcode', 'qtype'], registers)
    this.#dnsEcsQueries = new Tally('mirrorgate_dns_ecs_queries_total', 'DNS messages that carried an EDNS Client Subnet option, by response code (FORMERR: malformed option)', ['rcode'], registers)
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
      name: 'mirrorgate_mirror_family_up',
      help: '1 when the mirror passes its probes for this scheme over this IP family (each claimed family is checked apart), 0 when down, -1 unknown',
      labelNames: ['mirror', 'scheme', 'family'], registers, aggregator: 'first',
      collect () {
        this.reset()
        for (const s of fleet.status()) {
          const m = s.mirror
          if (!m.enabled) continue
          for (const scheme of ['http', 'https'] as const) {
            if (m[scheme] === null) continue
            for (const family of familiesOf(m)) {
              const h = fleet.health(m.id, scheme, family)
              this.set({ mirror: m.id, scheme, family: `ipv${family}` }, h.state === 'up' ? 1 : h.state === 'down' ? 0 : -1)
            }
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
    this.#overflows = new Tally('mirrorgate_overflows_total', 'Redirects that passed over a mirror at its budget: the first full mirror in the network\'s order, and where it went (a mirror, or fallback)', ['from', 'to'], registers)
    this.#indexChecks = new Counter({ name: 'mirrorgate_index_checks_total', help: 'HEAD checks of index copies on mirrors by result (copy, missing, failing)', labelNames: ['result'], registers })
    new Gauge({
      name: 'mirrorgate_mirror_indexes',
      help: "Followed indexes by each mirror's copy: current, behind (an older master version), unknown (not a kept version), missing (404), failing, unchecked",
      labelNames: ['mirror', 'state'], registers, aggregator: 'first',
      collect () {
        this.reset()
        const coverage = fleet.coverage
        for (const s of fleet.status()) {
          if (!s.mirror.enabled) continue
          const counts = new Map<IndexState, number>(INDEX_STATES.map((st) => [st, 0]))
          for (const dir of coverage.indexes.keys()) {
            const st = mirrorIndex(coverage, dir, s.mirror.id).state
            counts.set(st, (counts.get(st) ?? 0) + 1)
          }
          for (const [state, n] of counts) this.set({ mirror: s.mirror.id, state }, n)
        }
      }
    })
    new Gauge({
      name: 'mirrorgate_master_index_files', help: "Files listed by the master's followed indexes (newest versions)", registers, aggregator: 'first',
      collect () {
        let n = 0
        for (const h of fleet.coverage.indexes.values()) n += h.versions[0]?.count ?? 0
        this.set(n)
      }
    })
    new Gauge({
      name: 'mirrorgate_fail_open', help: '1 while health is ignored: most mirrors and the master (or, without one, every mirror) fail at once', registers, aggregator: 'max',
      collect () { this.set(fleet.failOpen ? 1 : 0) }
    })
  }

  /** A probe's outcome; `target` is 'mirror', 'master' or 'endpoint' (a DNS endpoint's health URL). */
  probe (target: { readonly kind: 'mirror' | 'master' | 'endpoint', readonly id: string | null }, result: ProbeResult): void {
    if (result.ok) this.#probeSeconds.observe({ target: target.kind }, result.latencyMs / 1000)
    else this.#probeFailures.inc({ mirror: target.id ?? 'master', reason: result.failure ?? 'other' })
  }

  /** Exposes each budgeted mirror's load over this process's share of its budget. */
  watchLoad (load: LoadMeter): void {
    const fleet = this.#fleet
    new Gauge({
      name: 'mirrorgate_mirror_load_ratio',
      help: "Each budgeted mirror's recent load (redirects or estimated bytes a second, the larger) over this process's share of its budget",
      labelNames: ['mirror'], registers: this.#registers, aggregator: 'average',
      collect () {
        this.reset()
        for (const m of fleet.table.mirrors) if (m.enabled && m.budget !== null) this.set({ mirror: m.id }, load.ratio(m))
      }
    })
  }

  overflow (from: string, to: string): void {
    this.#overflows.add(from, to)
  }

  /** A HEAD of one index copy on one mirror (the labels stay bounded: the result only). */
  indexCheck (_mirror: string, _dir: string, check: IndexCheck): void {
    this.#indexChecks.inc({ result: check.kind })
  }

  reload (ok: boolean): void {
    this.#reloads.inc({ result: ok ? 'ok' : 'rejected' })
  }

  request (route: string, status: number): void {
    this.#requests.add(route, STATUS_TEXT[status] ?? String(status))
  }

  redirect (mirror: string, continent: string): void {
    this.#redirects.add(mirror, continent)
  }

  fallback (outcome: 'fallback' | 'unavailable'): void {
    this.#fallbacks.add(outcome)
  }

  /** A 302 (to a mirror or the fallback) for this path below the prefix, by branch, architecture and kind. */
  redirectPath (rest: string): void {
    this.#byPath.count(rest)
  }

  decisionLogLine (outcome: 'written' | 'dropped'): void {
    this.#decisionLog.add(outcome)
  }

  dnsQuery (rcode: string, qtype: string, ecs: boolean): void {
    this.#dnsQueries.add(rcode, qtype)
    if (ecs) this.#dnsEcsQueries.add(rcode)
  }

  offRegion (continent: string): void {
    this.#offRegion.add(continent)
  }
}
