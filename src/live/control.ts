// The operator's levers (reload, drain, probe) as one interface. In a single process they act
// on the local state; in a cluster worker they are sent to the primary, which owns the state.

import type { Health } from '../core/health.js'
import { MgError } from '../errors.js'
import type { Drain, Fleet } from './fleet.js'
import type { Prober } from '../probes/prober.js'
import type { ReloadResult, TableSource } from './table-source.js'

/** What became of a change to the local drains: whether it is in the state file, so a restart keeps it. */
export interface DrainChange {
  readonly persisted: boolean
}

export interface Control {
  /** Whether local drains are kept across restarts (a state file is configured). */
  readonly persistent: boolean
  reload (trigger: string): Promise<ReloadResult>
  drain (id: string, until: number | null, reason: string): Promise<DrainChange>
  /** Lifts the local drain; rejects with MG_ERR_DRAINED_IN_TABLE while the table drains the mirror. */
  undrain (id: string): Promise<DrainChange & { readonly wasDraining: boolean }>
  /** Probes one mirror (or all) now; rejects with MG_ERR_PROBES_DISABLED when probes are off. */
  probeNow (id?: string): Promise<Health[] | null>
}

/** Writes the state file now; false when it could not be written (the writer logs why). */
export type Persist = () => Promise<boolean>

export class LocalControl implements Control {
  readonly #fleet: Fleet
  readonly #tables: TableSource
  readonly #prober: Prober | null
  readonly #persist: Persist | null

  /** `persist` is null without a state file: drains then last until the process ends. */
  constructor (fleet: Fleet, tables: TableSource, prober: Prober | null, persist: Persist | null = null) {
    this.#fleet = fleet
    this.#tables = tables
    this.#prober = prober
    this.#persist = persist
  }

  get persistent (): boolean { return this.#persist !== null }

  reload (trigger: string): Promise<ReloadResult> { return this.#tables.reload(trigger) }

  async drain (id: string, until: number | null, reason: string): Promise<DrainChange> {
    this.#fleet.drain(id, until, reason)
    // Written before the answer: an operator told "persisted" can restart at once.
    return { persisted: await this.#persist?.() ?? false }
  }

  async undrain (id: string): Promise<DrainChange & { readonly wasDraining: boolean }> {
    const declared = this.#fleet.tableDrain(id)
    if (declared !== null) throw new MgError('MG_ERR_DRAINED_IN_TABLE', `${id} (${describeTableDrain(declared)}): remove drain: from its entry in the table and reload`)
    const wasDraining = this.#fleet.undrain(id)
    return { wasDraining, persisted: await this.#persist?.() ?? false }
  }

  async probeNow (id?: string): Promise<Health[] | null> {
    if (this.#prober === null) throw new MgError('MG_ERR_PROBES_DISABLED')
    return this.#prober.probeNow(id)
  }
}

function describeTableDrain (d: Drain): string {
  return `${d.until === null ? 'until the table says otherwise' : `until ${new Date(d.until).toISOString()}`}, "${d.reason}"`
}
