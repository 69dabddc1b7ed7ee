// Under sponsor budgets, which of a decision's targets each client network goes to. The rule is
// core/capacity.ts (bounded-load hashing, sticky per network); this keeps what the rule needs
// between requests: the mirror each network was given, and each mirror's measured load
// (live/load.ts). Only an index request (volatile) moves a network: its packages follow the
// index it was given, so they stay on one mirror.

import { place, type Placement } from './core/capacity.js'
import type { PathClass } from './core/freshness.js'
import type { Mirror, MirrorTable } from './core/types.js'
import type { LoadMeter } from './live/load.js'
import type { Metrics } from './metrics.js'
import { NetworkCache } from './network-cache.js'
import type { Decision, Target } from './decision.js'

export interface BudgetFacts {
  /** The mirror the network had been given, if any. */
  readonly assigned: string | null
  /** The mirror it goes to now (null: every candidate is full, the fallback), and the full ones passed over. */
  readonly placed: string | null
  readonly passedOver: readonly string[]
  /** Each candidate's load over this instance's share of its budget (0: no budget). */
  readonly loads: ReadonlyArray<{ readonly id: string, readonly ratio: number }>
}

/** A 32-bit hash of a network id (below 2^52), for its budget thresholds. */
function networkHash (id: number): number {
  return ((id % 4294967296) ^ Math.floor(id / 4294967296)) >>> 0
}

export class BudgetPlacement {
  readonly #load: LoadMeter
  readonly #table: () => MirrorTable
  readonly #metrics: Metrics | null
  /** The mirror each client network was given, by network id ('': none had room). */
  readonly #assigned: NetworkCache<string>

  /** `table`: the table in force (its mirrors' budgets). */
  constructor (opts: { load: LoadMeter, table: () => MirrorTable, cacheSize: number, metrics: Metrics | null }) {
    this.#load = opts.load
    this.#table = opts.table
    this.#metrics = opts.metrics
    this.#assigned = new NetworkCache(opts.cacheSize)
  }

  /** A mirror's load over its budget, by id; one function for every placement, not one per request. */
  readonly #ratio = (id: string): number => this.#load.ratio(this.#table().byId.get(id) as Mirror)

  /** Where the network goes among the decision's targets; `commit` remembers it. */
  #place (decision: Decision, network: number, cls: PathClass, commit: boolean): Placement {
    const assigned = this.#assigned.get(network) || null
    const placement = place(decision.targets, assigned, networkHash(network), this.#ratio, cls === 'versioned')
    if (commit && placement.changed) this.#assigned.set(network, placement.index < 0 ? '' : (decision.targets[placement.index] as Target).id)
    return placement
  }

  /**
   * The decision with the network's placed mirror first; every target full: lastResort (the
   * fallback first). `commit`: remember the placement and count any overflow.
   */
  apply (decision: Decision, network: number, cls: PathClass, commit: boolean): Decision {
    const placement = this.#place(decision, network, cls, commit)
    if (placement.index === 0) return decision
    if (commit && placement.passedOver.length > 0) {
      this.#metrics?.overflow(placement.passedOver[0] as string, placement.index < 0 ? 'fallback' : (decision.targets[placement.index] as Target).id)
    }
    if (placement.index < 0) return { ...decision, lastResort: true, reason: 'all-full' }
    const first = decision.targets[placement.index] as Target
    return { ...decision, targets: [first, ...decision.targets.filter((_, i) => i !== placement.index)], group: placement.index < decision.group ? decision.group : 1, reason: 'overflow' }
  }

  /** The placement as apply() would make it, for explain: nothing is remembered or counted. */
  facts (decision: Decision, network: number, cls: PathClass): BudgetFacts {
    const placement = this.#place(decision, network, cls, false)
    return {
      assigned: this.#assigned.get(network) || null,
      placed: placement.index < 0 ? null : (decision.targets[placement.index] as Target).id,
      passedOver: placement.passedOver,
      loads: decision.targets.map((t) => ({ id: t.id, ratio: this.#ratio(t.id) }))
    }
  }
}
