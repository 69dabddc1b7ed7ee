// Selection: (client, sites, policy) -> ranked sites and the reason for every exclusion.
// Pure and deterministic: no clock, no randomness, no I/O. A site is anything with a place
// and a weight (core/types.ts); mirrors are sites with URLs, and DNS endpoints are ranked by
// the same rule. Below, "mirror" reads as "site" wherever URLs play no part.
//
// The rule, in order:
//  1. Drop mirrors that cannot serve this client at all (disabled, wrong scheme or IP
//     family, restrictions, and whatever the caller's gate excludes outright, e.g. drains).
//     Standing: of the rest, keep only those of the best standing any of them has (fresh,
//     then live but behind, then not yet probed, then down): a mirror the gate only demotes
//     still serves when nothing better is left for this client, so apk is never sent to a
//     known-dead mirror while a live one could serve it, nor refused while any could.
//  2. Pool: the eligible mirrors in the client's country, or all eligible ones if none.
//  3. Group: the pool mirrors within `nearKm` of the nearest pool mirror ("comparably
//     near"); if some of them share the client's ASN, only those.
//  4. The group is ordered by weighted rendezvous hashing on the client network, so
//     load splits by weight and one network always lands on the same mirror.
//  5. Everything else eligible follows as alternatives, nearest first.

import { distanceKm } from './geo.js'
import { fnv1a32, rendezvousScore } from './hash.js'
import { baseFor } from './table.js'
import type { Client, Mirror, MirrorTable, Site } from './types.js'

export type ExclusionCode =
  | 'disabled' | 'scheme' | 'family'
  | 'only-countries' | 'only-continents' | 'excluded-country'
  | 'draining' | 'down' | 'stale' | 'unprobed'
  | 'missing-file' | 'missing-index' | 'not-declared' | 'unverified' | 'participation'

/**
 * How far a mirror can be trusted now, best first; a mirror without a verdict is 'fresh'.
 * 'uncertain' and 'drained' come from file routing (core/file-routing.ts): not known to hold
 * a file others are known to hold, and drained but holding a file few others do.
 */
export type Standing = 'fresh' | 'uncertain' | 'behind' | 'unprobed' | 'drained' | 'down'

const STANDINGS: readonly Standing[] = ['fresh', 'uncertain', 'behind', 'unprobed', 'drained', 'down']

/**
 * Why a mirror is not (or not first) a choice for this client. Without a `standing` it is
 * excluded outright; with one it is only demoted, and serves when nothing better is left.
 */
export interface Verdict {
  readonly code: ExclusionCode
  readonly reason: string
  readonly standing?: Exclude<Standing, 'fresh'>
  /** For 'behind': how far behind the reference, and the lag its path class allows. */
  readonly lagMs?: number
  readonly allowedMs?: number
  /** For 'draining': when the drain ends (null: until lifted). */
  readonly until?: number | null
}

/** Extra per-site eligibility supplied by the caller (health, freshness, draining). */
export type Gate<S extends Site = Mirror> = (site: S, client: Client) => Verdict | null

export interface SelectionPolicy {
  /** Mirrors within this many km of the nearest candidate count as equally near. */
  readonly nearKm: number
}

export interface Ranked<S extends Site = Mirror> {
  readonly site: S
  readonly distanceKm: number
  /** True for the comparably-near group the choice was made from. */
  readonly inGroup: boolean
  readonly sameCountry: boolean
  readonly sameAsn: boolean
  readonly score: number
}

export interface Excluded<S extends Site = Mirror> extends Verdict { readonly site: S }

export interface Selection<S extends Site = Mirror> {
  readonly ranked: readonly Ranked<S>[]
  readonly excluded: readonly Excluded<S>[]
  /** Why the group was formed as it was, for people reading /api/v1/explain. */
  readonly groupReason: string
  /** The standing the ranked mirrors share: 'down' means every one is a last resort. */
  readonly standing: Standing
}

/**
 * Step 1: the reason this client may not use this site, or null. `capability` is what the
 * kind of site adds (for a mirror: a URL of the client's scheme), checked after 'disabled'.
 */
export function exclusionFor<S extends Site> (site: S, client: Client, capability?: (site: S, client: Client) => Verdict | null): Verdict | null {
  if (!site.enabled) return { code: 'disabled', reason: 'disabled in the mirror table' }
  const lacking = capability?.(site, client) ?? null
  if (lacking !== null) return lacking
  if (client.family === 6 ? !site.ipv6 : !site.ipv4) {
    return { code: 'family', reason: `does not serve IPv${client.family} clients` }
  }
  const r = site.restrictions
  const country = client.place.country
  if (r.onlyCountries.length > 0 && (country === null || !r.onlyCountries.includes(country))) {
    return { code: 'only-countries', reason: `serves only ${r.onlyCountries.join(', ')}` }
  }
  const continent = client.place.continent
  if (r.onlyContinents.length > 0 && (continent === null || !r.onlyContinents.includes(continent))) {
    return { code: 'only-continents', reason: `serves only ${r.onlyContinents.join(', ')}` }
  }
  if (country !== null && r.excludeCountries.includes(country)) {
    return { code: 'excluded-country', reason: `does not serve ${country}` }
  }
  if (site.participation === 'country' && country !== site.country) {
    return { code: 'participation', reason: `takes part for clients in ${site.country} only` }
  }
  return null
}

/** A mirror's capability: an https client needs an https URL (an http client may go to https). */
export function schemeExclusion (mirror: Mirror, client: Client): Verdict | null {
  return client.scheme === 'https' && mirror.https === null ? { code: 'scheme', reason: 'no https URL and the request was https' } : null
}

/** The base URL a ranked mirror gives this client (the selection has checked there is one). */
export function baseOf (r: Ranked, client: Pick<Client, 'scheme'>): string {
  return baseFor(r.site, client.scheme) as string
}

interface Candidate<S extends Site> {
  site: S
  distance: number
  sameCountry: boolean
  sameAsn: boolean
}

/**
 * Everything of a selection that depends on where the client is (steps 1-3 and 5), not on
 * its network: shared by every client network at the same place, so it can be cached by place.
 */
export interface PlaceRanking<S extends Site = Mirror> {
  /** The comparably-near group, by id; step 4 orders it per client network. */
  readonly group: readonly Ranked<S>[]
  /** The alternatives after the group, best first, at most `limit` minus the group's size. */
  readonly alternatives: readonly Ranked<S>[]
  readonly excluded: readonly Excluded<S>[]
  readonly groupReason: string
  readonly standing: Standing
}

/** Steps 1-3 and 5 for a client's place, IP family and scheme over a mirror table; its network is not used. */
export function rankForPlace (table: MirrorTable, client: Client, policy: SelectionPolicy, gate?: Gate, limit = Infinity): PlaceRanking {
  return rankSites(table.mirrors, client, policy, gate, limit, schemeExclusion)
}

/** Steps 1-3 and 5 over any sites; `capability` as in exclusionFor. */
export function rankSites<S extends Site> (sites: readonly S[], client: Client, policy: SelectionPolicy, gate?: Gate<S>, limit = Infinity,
  capability?: (site: S, client: Client) => Verdict | null): PlaceRanking<S> {
  const place = client.place
  const excluded: Excluded<S>[] = []
  const usable: Array<{ site: S, verdict: Verdict | null }> = []
  let bestLevel = STANDINGS.length
  for (const site of sites) {
    const verdict = exclusionFor(site, client, capability) ?? (gate === undefined ? null : gate(site, client))
    if (verdict !== null && verdict.standing === undefined) {
      excluded.push({ site, code: verdict.code, reason: verdict.reason })
      continue
    }
    usable.push({ site, verdict })
    bestLevel = Math.min(bestLevel, levelOf(verdict))
  }
  const standing = STANDINGS[bestLevel] ?? 'fresh'
  if (usable.length === 0) return { group: [], alternatives: [], excluded, groupReason: 'no eligible mirror', standing }
  // Behind: only the freshest sync group serves, the mirrors within the class's bound of the
  // least-lagged one, so indexes are as new as any live mirror has them.
  let groupEnd = Infinity
  if (standing === 'behind') {
    for (const { verdict: v } of usable) {
      if (v?.standing === 'behind') groupEnd = Math.min(groupEnd, (v.lagMs ?? 0) + (v.allowedMs ?? 0))
    }
  }
  const eligible: Candidate<S>[] = []
  for (const { site, verdict } of usable) {
    if (verdict !== null && (levelOf(verdict) > bestLevel || (verdict.lagMs ?? 0) > groupEnd)) {
      const reason = levelOf(verdict) > bestLevel ? verdict.reason : `${verdict.reason}; the freshest live mirrors are ${minutes(groupEnd - (verdict.allowedMs ?? 0))} min behind`
      excluded.push({ site, code: verdict.code, reason })
      continue
    }
    const sameCountry = place.country !== null && site.country === place.country
    eligible.push({
      site,
      distance: distanceKm(place.latitude, place.longitude, site.latitude, site.longitude),
      sameCountry,
      sameAsn: place.asn !== null && site.asns.includes(place.asn)
    })
  }

  // Steps 2 and 3, over the mirrors that take part fully (overflow-only ones when there are none).
  const preferred = eligible.filter((c) => c.site.participation !== 'overflow')
  const base = preferred.length > 0 ? preferred : eligible
  const inCountry = base.filter((c) => c.sameCountry).length
  const pool = inCountry > 0 ? base.filter((c) => c.sameCountry) : base
  let nearest = Infinity
  for (const c of pool) if (c.distance < nearest) nearest = c.distance
  let group = pool.filter((c) => c.distance <= nearest + policy.nearKm)
  const sameAsn = group.filter((c) => c.sameAsn)
  if (sameAsn.length > 0) group = sameAsn
  const groupReason = STANDING_NOTE[standing](groupEnd) + (inCountry > 0 ? `mirrors in ${place.country as string}` : 'no eligible mirror in the client\'s country; nearest mirrors') +
    ` within ${policy.nearKm} km of the nearest (${Math.round(nearest)} km)` +
    (sameAsn.length > 0 ? `, restricted to the client's AS${place.asn as number}` : '')

  // Step 5.
  const inGroup = new Set(group)
  const rest = eligible.filter((c) => !inGroup.has(c))
  return {
    group: group.map((c) => toRanked(c, true)),
    alternatives: best(rest, limit - group.length, byAlternative).map((c) => toRanked(c, false)),
    excluded,
    groupReason,
    standing
  }
}

function levelOf (verdict: Verdict | null): number {
  return verdict === null ? 0 : STANDINGS.indexOf(verdict.standing ?? 'fresh')
}

const minutes = (ms: number): number => Math.round(ms / 60000)

/** What explain says first when the group is not made of fresh mirrors. */
const STANDING_NOTE: Readonly<Record<Standing, (groupEnd: number) => string>> = {
  fresh: () => '',
  uncertain: () => 'no mirror that could serve this client is known to hold this file, so those not known either way serve; ',
  behind: (end) => `no live mirror within the freshness bound for this client, so the freshest (up to ${minutes(end)} min behind) serve; `,
  unprobed: () => 'no mirror known fresh for this client yet, so mirrors not yet probed serve; ',
  drained: () => 'only drained mirrors that could serve this client hold this file: they serve it; ',
  down: () => 'every mirror that could serve this client is down: a last resort; '
}

/** Step 4: the group in this client network's rendezvous order, then the alternatives. */
export function orderForNetwork<S extends Site> (ranking: PlaceRanking<S>, network: string, limit = Infinity): Selection<S> {
  const clientHash = fnv1a32(network)
  const scored = ranking.group.map((r) => ({ ...r, score: rendezvousScore(clientHash, r.site.seed, r.site.weight) }))
  scored.sort((a, b) => b.score - a.score || (a.site.id < b.site.id ? -1 : 1))
  const ranked: Ranked<S>[] = scored.length > limit ? scored.slice(0, limit) : scored
  for (const r of ranking.alternatives) if (ranked.length < limit) ranked.push(r)
  return { ranked, excluded: ranking.excluded, groupReason: ranking.groupReason, standing: ranking.standing }
}

/**
 * Ranks the mirrors for a client. `limit` caps how many are ranked (the redirect needs only
 * the choice and its Link alternatives); the ones it ranks are the same as without a limit.
 */
export function select (table: MirrorTable, client: Client, policy: SelectionPolicy, gate?: Gate, limit = Infinity): Selection {
  return orderForNetwork(rankForPlace(table, client, policy, gate, limit), client.network, limit)
}

/** Alternatives: overflow-only mirrors last, in-country first, then nearest, then by id for determinism. */
function byAlternative<S extends Site> (a: Candidate<S>, b: Candidate<S>): number {
  return Number(a.site.participation === 'overflow') - Number(b.site.participation === 'overflow') ||
    Number(b.sameCountry) - Number(a.sameCountry) || a.distance - b.distance || (a.site.id < b.site.id ? -1 : 1)
}

/** The first `k` of `items` in `order`: a full sort when k is large, else one bounded pass. */
function best<T> (items: T[], k: number, order: (a: T, b: T) => number): T[] {
  if (k <= 0) return []
  if (k >= items.length) return items.sort(order)
  const top: T[] = []
  for (const item of items) {
    if (top.length === k && order(item, top[k - 1] as T) >= 0) continue
    let i = top.length === k ? k - 1 : top.length
    while (i > 0 && order(item, top[i - 1] as T) < 0) { top[i] = top[i - 1] as T; i-- }
    top[i] = item
  }
  return top
}

function toRanked<S extends Site> (c: Candidate<S>, inGroup: boolean): Ranked<S> {
  return { site: c.site, distanceKm: c.distance, inGroup, sameCountry: c.sameCountry, sameAsn: c.sameAsn, score: 0 }
}
