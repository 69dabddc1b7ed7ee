// Sponsor capacity: what each mirror may take from this service, and which mirror a client
// network goes to when its own is full. Bounded-load consistent hashing (Mirrokni, Thorup and
// Zadimoghaddam, 2016; HAProxy's hash-balance-factor is the same idea) over the network's
// rendezvous order, made sticky: a network keeps the mirror it was given while that mirror has
// room, new networks take the first mirror in their order with room, and a mirror at its budget
// sheds networks a few at a time. Pure: load is measured at the edge
// (src/live/load.ts) and passed in as a ratio of the budget.

export interface Budget {
  /** Redirects a second this service may send the mirror (all instances together); null: no limit. */
  readonly requestsPerSecond: number | null
  /** Bytes a second, estimated from the files redirected; null: no limit. */
  readonly bytesPerSecond: number | null
}

/**
 * How a mirror takes part: 'full' (as today: wherever it is chosen), 'country' (clients in its
 * own country only), 'overflow' (only when the mirrors preferred for a client are full or none
 * is eligible).
 */
export type Participation = 'full' | 'country' | 'overflow'
export const PARTICIPATIONS: readonly Participation[] = ['full', 'country', 'overflow']

/** A mirror's load as a fraction of its budget (the larger of requests and bytes); 0 without one. */
export function loadRatio (budget: Budget | null, requestsPerSecond: number, bytesPerSecond: number, share: number): number {
  if (budget === null) return 0
  const r = budget.requestsPerSecond === null ? 0 : requestsPerSecond / (budget.requestsPerSecond * share)
  const b = budget.bytesPerSecond === null ? 0 : bytesPerSecond / (budget.bytesPerSecond * share)
  return Math.max(r, b)
}

/**
 * Each network's thresholds are its own, spread by a hash: a mirror over its budget loses first
 * the networks whose threshold is lowest, so it sheds load a little at a time instead of all at
 * once (which would empty it, call them back, and swing for ever). A mirror takes new networks
 * below 95% of its budget, so it fills to just under it; its own networks leave only past 100
 * to 110%, when the networks it has ask for more (the gap absorbs the noise of measuring, so a
 * network is not moved between its index and its packages by a passing burst). Networks come
 * back only once it is below 60 to 80%, well under the point of leaving, so a network that left
 * does not return while the load that pushed it out remains.
 */
export const ADMIT_BELOW = 0.95
export const LEAVE_ABOVE = { from: 1, to: 1.1 } as const
export const RETURN_BELOW = { from: 0.6, to: 0.8 } as const

function spread (range: { from: number, to: number }, u: number): number {
  return range.from + (range.to - range.from) * u
}

/** A number in [0, 1) for a network and mirror: the network's place in that mirror's thresholds. */
export function thresholdDraw (networkHash: number, mirrorSeed: number): number {
  let x = (networkHash ^ Math.imul(mirrorSeed, 0x9e3779b1)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296
}

export interface Candidate {
  readonly id: string
  /** fnv1a32(id), as in the mirror table. */
  readonly seed: number
}

export interface Placement {
  /** Position in the candidates of the mirror the network goes to; -1: every one is full. */
  readonly index: number
  /** Why it is not the first candidate, for explain: the full mirrors passed over, in order. */
  readonly passedOver: readonly string[]
  /** The network is given a mirror it did not have (new, moved, or returned). */
  readonly changed: boolean
}

/**
 * Where one network goes under budgets. `candidates` are its mirrors in its own order (the
 * redirect's targets), `assigned` the mirror it was given before (or null), `ratio` each
 * mirror's load over its budget. The assigned mirror is kept while it is a candidate and its
 * load is below the network's leave threshold, unless a mirror earlier in the network's order
 * has fallen below the network's return threshold. Otherwise the first candidate below
 * ADMIT_BELOW is taken.
 *
 * `hold`: the request is for a file an index lists (a package). A network is moved only at its
 * index requests, so its packages always go where its index went: the mirror is kept, whatever
 * its load, while it is a candidate.
 */
export function place (candidates: readonly Candidate[], assigned: string | null, networkHash: number, ratio: (id: string) => number, hold = false): Placement {
  let at = -1
  if (assigned !== null) for (let i = 0; i < candidates.length && at < 0; i++) if ((candidates[i] as Candidate).id === assigned) at = i
  // The common case, once a network is placed: its own mirror is its first choice and stays.
  if (at === 0 && (hold || ratio(assigned as string) <= spread(LEAVE_ABOVE, thresholdDraw(networkHash, (candidates[0] as Candidate).seed)))) return KEPT_FIRST
  if (at >= 0 && hold) return { index: at, passedOver: full(candidates, at, ratio), changed: false }
  if (at > 0) {
    const own = candidates[at] as Candidate
    if (ratio(own.id) <= spread(LEAVE_ABOVE, thresholdDraw(networkHash, own.seed))) {
      for (let i = 0; i < at; i++) {
        const c = candidates[i] as Candidate
        if (ratio(c.id) < spread(RETURN_BELOW, thresholdDraw(networkHash, c.seed))) return { index: i, passedOver: full(candidates, i, ratio), changed: true }
      }
      return { index: at, passedOver: full(candidates, at, ratio), changed: false }
    }
  }
  for (let i = 0; i < candidates.length; i++) {
    if (ratio((candidates[i] as Candidate).id) < ADMIT_BELOW) return { index: i, passedOver: full(candidates, i, ratio), changed: i !== at }
  }
  return { index: -1, passedOver: candidates.map((c) => c.id), changed: assigned !== null }
}

const NONE: readonly string[] = Object.freeze([])
const KEPT_FIRST: Placement = Object.freeze({ index: 0, passedOver: NONE, changed: false })

/** The candidates before `index` that are at or over their budget. */
function full (candidates: readonly Candidate[], index: number, ratio: (id: string) => number): readonly string[] {
  if (index <= 0) return NONE
  const out: string[] = []
  for (let i = 0; i < index; i++) {
    const id = (candidates[i] as Candidate).id
    if (ratio(id) >= ADMIT_BELOW) out.push(id)
  }
  return out
}
