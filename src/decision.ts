// What the redirector decides for a client: the mirrors it may go to, best first. Its own
// module so that the redirector and the steps that refine its decisions (budget-placement.ts)
// share the types without importing each other.

/** One mirror the client may go to, reduced to what a response needs. */
export interface Target {
  readonly id: string
  readonly base: string
  /** Lowercase ISO country, as RFC 6249's geo= parameter wants it. */
  readonly geo: string
  /** The mirror's hash seed (its budget thresholds per network derive from it). */
  readonly seed: number
}

/**
 * What the redirect needs. Shared: every client network whose place and rendezvous order
 * give the same targets gets the same object, so the cache holds a key and a pointer per network.
 */
export interface Decision {
  /** Best first; empty when no mirror is eligible. */
  readonly targets: readonly Target[]
  /** Pre-rendered continent label for metrics. */
  readonly continent: string
  /**
   * The fallback, where there is one, comes first: every target is known to be down, or none is
   * known to hold a file the master's newest index lists.
   */
  readonly lastResort: boolean
  /** How many of the targets are the comparably-near group the choice was made from. */
  readonly group: number
  /** Why route() changed decide()'s order (absent: it did not), for the decision log. */
  readonly reason?: RouteReason
}

/**
 * overflow: budgets moved the network past a full mirror; all-full: every one is full;
 * file-holder: the first mirror in order known to hold the file; file-routing: a full selection over what is known of the files.
 */
export type RouteReason = 'overflow' | 'all-full' | 'file-holder' | 'file-routing'
