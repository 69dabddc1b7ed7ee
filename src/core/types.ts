// The plain, readonly data the core works on. No I/O types leak in here.

import type { Budget, Participation } from './capacity.js'
import type { Continent } from './countries.js'

export type { Continent }
export type Tier = 't1' | 'community'
export type Scheme = 'http' | 'https'
export type Family = 4 | 6

export interface Restrictions {
  readonly onlyCountries: readonly string[]
  readonly onlyContinents: readonly Continent[]
  readonly excludeCountries: readonly string[]
}

/**
 * Anything the selection ranks: where it is, whom it may serve, how much it should take.
 * A mirror is a site with URLs; a DNS endpoint is a site with addresses.
 */
export interface Site {
  readonly id: string
  readonly country: string
  readonly continent: Continent
  readonly latitude: number
  readonly longitude: number
  readonly asns: readonly number[]
  readonly weight: number
  readonly ipv4: boolean
  readonly ipv6: boolean
  readonly restrictions: Restrictions
  readonly enabled: boolean
  /** How it takes part (core/capacity.ts); absent: fully, as a DNS endpoint always does. */
  readonly participation?: Participation
  /** fnv1a32(id), precomputed for rendezvous hashing. */
  readonly seed: number
}

/** What a table entry declares it carries, compiled: a path outside it is not sent there unless measured. */
export interface CoverageRule {
  readonly include: RegExp | null
  readonly exclude: RegExp | null
  /** The globs as the table gives them, for people. */
  readonly globs: { readonly include: readonly string[], readonly exclude: readonly string[] }
}

/** One mirror as the selection sees it: validated, with derived fields filled in. */
export interface Mirror extends Site {
  readonly name: string
  readonly sponsor: string | null
  readonly tier: Tier
  /** Base URL per scheme, always ending in '/'. */
  readonly http: string | null
  readonly https: string | null
  /** Download names (e.g. dl-cdn.alpinelinux.org) this mirror serves under their own Host, for DNS answers. */
  readonly dnsNames: readonly string[]
  /** The mirror's IP addresses, for DNS answers; empty when it is reached only by redirect. */
  readonly addresses: readonly string[]
  /** What it declares it carries (`coverage:` in the table); null: everything. */
  readonly coverage: CoverageRule | null
  /** What this service may send it; null: no limit. */
  readonly budget: Budget | null
  readonly participation: Participation
  /** A drain declared in the table (`drain:` on the entry); null: none. */
  readonly drain: TableDrain | null
}

/**
 * A drain written in the table, so every instance reading it drains the mirror: in force until
 * `until` (null: for as long as the entry says so). The admin API cannot lift it.
 */
export interface TableDrain {
  readonly until: number | null
  readonly reason: string
}

export interface MirrorTable {
  /** A hash of the table's content: equal tables have equal versions, in any process. */
  readonly version: number
  /** Some enabled mirror has a budget: the redirect places networks by load. */
  readonly budgeted: boolean
  readonly mirrors: readonly Mirror[]
  readonly byId: ReadonlyMap<string, Mirror>
}

/** Where a client is, as far as we can tell. */
export interface Place {
  readonly country: string | null
  readonly continent: Continent | null
  readonly latitude: number
  readonly longitude: number
  readonly asn: number | null
  /**
   * How the place was found: a GeoIP record, a country's centroid, this instance's own
   * region, or a region hint the client asked for (eu.<name>, /_r/eu/).
   */
  readonly source: 'geoip' | 'country-centroid' | 'instance-region' | 'region-hint'
}

export interface Client {
  readonly place: Place
  readonly family: Family
  readonly scheme: Scheme
  /** The client network (/24 or /48): the unit of stickiness. */
  readonly network: string
}
