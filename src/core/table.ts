// Builds the immutable mirror table the selection reads. Validation of the file happens at
// the edge (src/config/table-file.ts); this only derives fields and freezes.

import { COUNTRIES } from './countries.js'
import type { Participation } from './capacity.js'
import { compileCoverage, type DeclaredCoverage } from './coverage.js'
import { fnv1a32 } from './hash.js'
import type { Continent, Family, Mirror, MirrorTable, Restrictions, Scheme, Tier } from './types.js'

/** A mirror as written in the table file, after validation. */
export interface MirrorSpec {
  readonly id: string
  readonly name: string
  readonly sponsor?: string | undefined
  readonly tier: Tier
  readonly urls: readonly string[]
  readonly country: string
  readonly latitude: number
  readonly longitude: number
  readonly asns?: readonly number[] | undefined
  readonly weight: number
  readonly families: readonly ('ipv4' | 'ipv6')[]
  readonly restrictions?: Partial<Restrictions> | undefined
  readonly enabled: boolean
  readonly note?: string | undefined
  readonly dnsNames?: readonly string[] | undefined
  readonly addresses?: readonly string[] | undefined
  readonly coverage?: Partial<DeclaredCoverage> | undefined
  /** What this service may send it: redirects a second, and/or megabits a second of estimated transfer. */
  readonly budget?: { readonly requestsPerSecond?: number | undefined, readonly megabitsPerSecond?: number | undefined } | undefined
  /** How it takes part; absent: the table's default for its tier (else 'full'). */
  readonly participation?: Participation | undefined
  /** Drained on every instance (until: ms since the epoch; absent: until the entry changes). */
  readonly drain?: { readonly until?: number | undefined, readonly reason?: string | undefined } | undefined
}

/** The reason a table drain shows when its entry gives none. */
export const TABLE_DRAIN_REASON = 'drained in the table'

/** The table's defaults for how each tier takes part (`participation:` at the top of the table). */
export type TierParticipation = Partial<Readonly<Record<Tier, Participation>>>

export function buildMirror (spec: MirrorSpec, tiers: TierParticipation = {}): Mirror {
  const country = COUNTRIES.get(spec.country)
  if (country === undefined) throw new Error(`unknown country ${spec.country}`)
  const http = spec.urls.find((u) => u.startsWith('http://')) ?? null
  const https = spec.urls.find((u) => u.startsWith('https://')) ?? null
  const r = spec.restrictions ?? {}
  return Object.freeze({
    id: spec.id,
    name: spec.name,
    sponsor: spec.sponsor ?? null,
    tier: spec.tier,
    http,
    https,
    country: spec.country,
    continent: country.continent as Continent,
    latitude: spec.latitude,
    longitude: spec.longitude,
    asns: Object.freeze([...(spec.asns ?? [])]),
    weight: spec.weight,
    ipv4: spec.families.includes('ipv4'),
    ipv6: spec.families.includes('ipv6'),
    restrictions: Object.freeze({
      onlyCountries: Object.freeze([...(r.onlyCountries ?? [])]),
      onlyContinents: Object.freeze([...(r.onlyContinents ?? [])]),
      excludeCountries: Object.freeze([...(r.excludeCountries ?? [])])
    }),
    enabled: spec.enabled,
    dnsNames: Object.freeze([...(spec.dnsNames ?? [])]),
    addresses: Object.freeze([...(spec.addresses ?? [])]),
    coverage: compileCoverage(spec.coverage === undefined ? null : { include: spec.coverage.include ?? [], exclude: spec.coverage.exclude ?? [] }),
    budget: spec.budget === undefined
      ? null
      : Object.freeze({ requestsPerSecond: spec.budget.requestsPerSecond ?? null, bytesPerSecond: spec.budget.megabitsPerSecond === undefined ? null : spec.budget.megabitsPerSecond * 125_000 }),
    participation: spec.participation ?? tiers[spec.tier] ?? 'full',
    drain: spec.drain === undefined ? null : Object.freeze({ until: spec.drain.until ?? null, reason: spec.drain.reason ?? TABLE_DRAIN_REASON }),
    seed: fnv1a32(spec.id)
  })
}

/**
 * The version is a hash of the content: the same table has the same version in every process
 * (a cluster's workers, every regional instance), and a reload that changes nothing keeps it.
 */
export function buildTable (specs: readonly MirrorSpec[], tiers: TierParticipation = {}): MirrorTable {
  const mirrors = Object.freeze(specs.map((s) => buildMirror(s, tiers)))
  const byId = new Map(mirrors.map((m) => [m.id, m]))
  if (byId.size !== mirrors.length) throw new Error('duplicate mirror id')
  const budgeted = mirrors.some((m) => m.enabled && m.budget !== null)
  // The tiers' defaults count only when given, so a table without them keeps its version.
  const content = Object.keys(tiers).length === 0 ? specs : { specs, tiers }
  return Object.freeze({ version: fnv1a32(JSON.stringify(content)), budgeted, mirrors, byId })
}

/** The scheme of a URL (http unless it says https). */
export function schemeOf (url: string): Scheme {
  return url.startsWith('https:') ? 'https' : 'http'
}

/** The URL base a client of this scheme is sent to: the same scheme, or https for http when that is all there is. */
export function baseFor (mirror: Mirror, scheme: Scheme): string | null {
  return scheme === 'http' ? (mirror.http ?? mirror.https) : mirror.https
}

/** The IP families a mirror says it serves. */
export function familiesOf (mirror: Mirror): Family[] {
  return [...(mirror.ipv4 ? [4 as const] : []), ...(mirror.ipv6 ? [6 as const] : [])]
}
