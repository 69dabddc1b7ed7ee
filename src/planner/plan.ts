// The plan: what the simulation counted, per mirror against its budget, per continent and
// country, and where overflow went. Plain numbers: the Markdown and the SVG only draw them.

import { loadRatio, type Participation } from '../core/capacity.js'
import { COUNTRIES, type Continent } from '../core/countries.js'
import type { MirrorTable, Tier } from '../core/types.js'
import type { Population } from './population.js'
import { FALLBACK, UNAVAILABLE, type Measured } from './simulate.js'

export interface PlanInputs {
  readonly title: string
  readonly table: string
  readonly overlay: string | null
  readonly demand: string
  readonly demandKind: 'countries' | 'addresses'
  readonly volume: number
  readonly seed: number
  readonly share: number
  readonly httpsShare: number
  readonly windowSeconds: number
  /** The command line that makes this plan again. */
  readonly command: string
}

export interface MirrorLoad {
  readonly id: string
  readonly tier: Tier
  readonly participation: Participation
  readonly budget: { readonly requestsPerSecond: number | null, readonly megabitsPerSecond: number | null } | null
  readonly requestsPerSecond: number
  readonly megabitsPerSecond: number
  /** Load over this instance's share of the budget (the larger of requests and megabits); null without a budget. */
  readonly ratio: number | null
  readonly peakRatio: number | null
  /** The budget in Mbit/s terms at this mirror's mix of files (where the ratio reaches 1); null without a budget. */
  readonly budgetMegabits: number | null
  /** Of all requests. */
  readonly share: number
}

export interface AreaShare {
  readonly code: string
  readonly name: string
  readonly requestsPerSecond: number
  /** Of all requests. */
  readonly share: number
  /** Who serves it, most first, as shares of its requests (FALLBACK and UNAVAILABLE among them). */
  readonly served: ReadonlyArray<{ readonly id: string, readonly share: number }>
}

export interface Plan {
  readonly inputs: PlanInputs
  readonly requests: number
  readonly warmSeconds: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly megabitsPerSecond: number
  /** Every enabled mirror, most loaded first. */
  readonly mirrors: readonly MirrorLoad[]
  readonly fallbackShare: number
  readonly unavailableShare: number
  readonly continents: readonly AreaShare[]
  readonly countries: readonly AreaShare[]
  readonly overflow: ReadonlyArray<{ readonly from: string, readonly to: string, readonly requestsPerSecond: number, readonly share: number }>
  readonly population: Omit<Population, 'networks'> & { readonly withDemand: number }
}

export const CONTINENT_NAMES: Readonly<Record<Continent | '??', string>> = {
  AF: 'Africa', AN: 'Antarctica', AS: 'Asia', EU: 'Europe', NA: 'North America', OC: 'Oceania', SA: 'South America', '??': 'Unplaced'
}

function areas (byArea: ReadonlyMap<string, ReadonlyMap<string, number>>, total: number, seconds: number, name: (code: string) => string): AreaShare[] {
  return [...byArea].map(([code, byTarget]) => {
    let n = 0
    for (const c of byTarget.values()) n += c
    const served = [...byTarget].map(([id, c]) => ({ id, share: c / n })).sort((a, b) => b.share - a.share || (a.id < b.id ? -1 : 1))
    return { code, name: name(code), requestsPerSecond: n / seconds, share: n / total, served }
  }).sort((a, b) => b.requestsPerSecond - a.requestsPerSecond || (a.code < b.code ? -1 : 1))
}

export function buildPlan (inputs: PlanInputs, table: MirrorTable, measured: Measured, population: Population): Plan {
  const { seconds, requests } = measured
  let bytes = 0
  for (const s of measured.byTarget.values()) bytes += s.bytes
  const mirrors: MirrorLoad[] = table.mirrors.filter((m) => m.enabled).map((m) => {
    const served = measured.byTarget.get(m.id) ?? { requests: 0, bytes: 0 }
    const rps = served.requests / seconds
    const bps = served.bytes / seconds
    const b = m.budget
    const ratio = b === null ? null : loadRatio(b, rps, bps, inputs.share)
    // Where the ratio reaches 1 for this mirror's own mix of files; the plan's mean mix when it has none.
    const bytesPerRequest = served.requests > 0 ? served.bytes / served.requests : bytes / Math.max(1, requests)
    const budgetMegabits = b === null
      ? null
      : Math.min(b.bytesPerSecond ?? Infinity, (b.requestsPerSecond ?? Infinity) * bytesPerRequest) * inputs.share * 8 / 1e6
    return {
      id: m.id,
      tier: m.tier,
      participation: m.participation,
      budget: b === null ? null : { requestsPerSecond: b.requestsPerSecond, megabitsPerSecond: b.bytesPerSecond === null ? null : b.bytesPerSecond / 125_000 },
      requestsPerSecond: rps,
      megabitsPerSecond: bps * 8 / 1e6,
      ratio,
      peakRatio: b === null ? null : (measured.peakRatio.get(m.id) ?? 0),
      budgetMegabits,
      share: served.requests / requests
    }
  }).sort((a, b) => b.requestsPerSecond - a.requestsPerSecond || (a.id < b.id ? -1 : 1))
  const overflow = [...measured.overflow].map(([pair, n]) => {
    const [from, to] = pair.split(' ') as [string, string]
    return { from, to: to === 'fallback' ? FALLBACK : to, requestsPerSecond: n / seconds, share: n / requests }
  }).sort((a, b) => b.requestsPerSecond - a.requestsPerSecond || (a.from + a.to < b.from + b.to ? -1 : 1))
  const { networks, ...rest } = population
  return {
    inputs,
    requests,
    warmSeconds: measured.warmSeconds,
    seconds,
    requestsPerSecond: requests / seconds,
    megabitsPerSecond: bytes * 8 / 1e6 / seconds,
    mirrors,
    fallbackShare: (measured.byTarget.get(FALLBACK)?.requests ?? 0) / requests,
    unavailableShare: (measured.byTarget.get(UNAVAILABLE)?.requests ?? 0) / requests,
    continents: areas(measured.byContinent, requests, seconds, (c) => `${CONTINENT_NAMES[c as Continent] ?? c} (${c})`),
    countries: areas(measured.byCountry, requests, seconds, (c) => `${COUNTRIES.get(c)?.name ?? 'Unplaced'} (${c})`),
    overflow,
    population: { ...rest, withDemand: networks.length }
  }
}
