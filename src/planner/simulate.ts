// Plays a population's requests through the real redirect decision on a simulated clock:
// the live state (Fleet, probes off: every enabled mirror serves), the Redirector with its
// LoadMeter and Metrics, each request routed and recorded exactly as src/http/redirect.ts does.
// The clock moves 1/volume of a second a request, so the meters see the planned rate. After a
// warm-up of several load windows (the decaying rates and the sticky placements settle),
// what each mirror is sent is counted.

import type { Config } from '../config/schema.js'
import { PathClassifier } from '../core/freshness.js'
import type { MirrorTable, Scheme } from '../core/types.js'
import type { GeoIp } from '../geoip/reader.js'
import { Fleet } from '../live/fleet.js'
import { LoadMeter } from '../live/load.js'
import { Metrics } from '../metrics.js'
import type { Target } from '../decision.js'
import { Redirector } from '../redirector.js'
import type { Network, Population } from './population.js'
import { picker, seeded } from './random.js'
import { pathPicker } from './workload.js'

/** Where a request goes when no mirror takes it: the configured fallback, or a 503 without one. */
export const FALLBACK = '(fallback)'
export const UNAVAILABLE = '(503)'

/** Load windows played before counting, and at least this many counted. */
export const WARM_WINDOWS = 6
export const MEASURE_WINDOWS = 4

/** Any fixed start: the plan does not depend on the date. */
const T0 = Date.UTC(2026, 0, 1)

export interface SimulationInput {
  readonly table: MirrorTable
  /** Probes are not run whatever it says; capacity, selection and freshness are used as given. */
  readonly config: Config
  readonly geoip: GeoIp
  readonly population: Population
  /** Requests a second, all networks together. */
  readonly volume: number
  /** Requests counted at least (the counted span is also at least MEASURE_WINDOWS windows). */
  readonly requests: number
  readonly share: number
  /** The fraction of requests made over https. */
  readonly httpsShare: number
  readonly seed: number
}

export interface Served { requests: number, bytes: number }

export interface Measured {
  readonly warmSeconds: number
  readonly seconds: number
  /** Requests counted (the warm-up's are not). */
  readonly requests: number
  /** By mirror id, FALLBACK or UNAVAILABLE. */
  readonly byTarget: ReadonlyMap<string, Served>
  /** Requests by client country ('??': placed nowhere) and by continent, then by target. */
  readonly byCountry: ReadonlyMap<string, ReadonlyMap<string, number>>
  readonly byContinent: ReadonlyMap<string, ReadonlyMap<string, number>>
  /** mirrorgate_overflows_total over the counted span: "from to" -> requests. */
  readonly overflow: ReadonlyMap<string, number>
  /** The highest load ratio the service's own meter showed, sampled once a simulated second. */
  readonly peakRatio: ReadonlyMap<string, number>
}

async function overflowCounts (metrics: Metrics): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  const metric = metrics.registry.getSingleMetric('mirrorgate_overflows_total')
  if (metric === undefined) return counts
  for (const v of (await metric.get()).values) counts.set(`${String(v.labels.from)} ${String(v.labels.to)}`, v.value)
  return counts
}

function bump (byKey: Map<string, Map<string, number>>, key: string, target: string): void {
  let m = byKey.get(key)
  if (m === undefined) byKey.set(key, m = new Map())
  m.set(target, (m.get(target) ?? 0) + 1)
}

export async function simulate (input: SimulationInput): Promise<Measured> {
  const { table, config, geoip, population, volume } = input
  let now = T0
  const clock = (): number => now
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness, enabled: false }, clock)
  const metrics = new Metrics(geoip, fleet, config.instance)
  const load = new LoadMeter({ ...config.capacity, share: input.share, coverage: () => fleet.coverage, now: clock })
  const redirector = new Redirector({
    geoip, live: fleet, metrics, load, policy: config.selection, freshness: config.freshness, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize, now: clock
  })
  const classifier = new PathClassifier(config.freshness.versioned, config.freshness.volatile)
  const random = seeded(input.seed)
  const networks = population.networks
  const pickNetwork = picker(networks.map((n) => n.rate), random)
  const nextPath = pathPicker(random)
  const budgeted = table.mirrors.filter((m) => m.enabled && m.budget !== null)

  const windowMs = config.capacity.windowMs
  const tickMs = 1000 / volume
  const warm = Math.ceil(WARM_WINDOWS * windowMs / tickMs)
  const counted = Math.max(Math.ceil(MEASURE_WINDOWS * windowMs / tickMs), input.requests)
  const byTarget = new Map<string, Served>()
  const byCountry = new Map<string, Map<string, number>>()
  const byContinent = new Map<string, Map<string, number>>()
  const peakRatio = new Map<string, number>(budgeted.map((m) => [m.id, 0]))
  let overflowBefore = new Map<string, number>()
  let second = -1

  for (let i = 0; i < warm + counted; i++) {
    now = T0 + i * tickMs
    if (i === warm) overflowBefore = await overflowCounts(metrics)
    const network = networks[pickNetwork()] as Network
    const rest = nextPath()
    const scheme: Scheme = random.float() < input.httpsShare ? 'https' : 'http'
    // As src/http/redirect.ts: route, then the fallback (or a 503) when no mirror may take it.
    const decision = redirector.route(network.ip, scheme, classifier.classify(rest), rest)
    let target: string
    if (decision.targets.length === 0) target = config.fallback === null ? UNAVAILABLE : FALLBACK
    else if (decision.lastResort && config.fallback !== null) target = FALLBACK
    else {
      target = (decision.targets[0] as Target).id
      if (redirector.budgeted) load.record(target, rest)
    }
    if (i < warm) continue
    let served = byTarget.get(target)
    if (served === undefined) byTarget.set(target, served = { requests: 0, bytes: 0 })
    served.requests++
    if (target !== FALLBACK && target !== UNAVAILABLE) served.bytes += load.bytesFor(rest)
    bump(byCountry, network.country ?? '??', target)
    bump(byContinent, network.continent ?? '??', target)
    const s = Math.floor((now - T0) / 1000)
    if (s !== second) {
      second = s
      for (const m of budgeted) peakRatio.set(m.id, Math.max(peakRatio.get(m.id) as number, load.ratio(m)))
    }
  }
  const overflowAfter = await overflowCounts(metrics)
  const overflow = new Map<string, number>()
  for (const [pair, n] of overflowAfter) {
    const d = n - (overflowBefore.get(pair) ?? 0)
    if (d > 0) overflow.set(pair, d)
  }
  fleet.close()
  return { warmSeconds: warm * tickMs / 1000, seconds: counted * tickMs / 1000, requests: counted, byTarget, byCountry, byContinent, overflow, peakRatio }
}
