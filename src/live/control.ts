// The operator's levers (reload, drain, probe) as one interface. In a single process they act
// on the local state; in a cluster worker they are sent to the primary, which owns the state.

import type { Health } from '../core/health.js'
import { MgError } from '../errors.js'
import type { Fleet } from './fleet.js'
import type { Prober } from '../probes/prober.js'
import type { ReloadResult, TableSource } from './table-source.js'

export interface Control {
  reload (trigger: string): Promise<ReloadResult>
  drain (id: string, until: number | null, reason: string): Promise<void>
  undrain (id: string): Promise<boolean>
  /** Probes one mirror (or all) now; rejects with MG_ERR_PROBES_DISABLED when probes are off. */
  probeNow (id?: string): Promise<Health[] | null>
}

export class LocalControl implements Control {
  readonly #fleet: Fleet
  readonly #tables: TableSource
  readonly #prober: Prober | null

  constructor (fleet: Fleet, tables: TableSource, prober: Prober | null) {
    this.#fleet = fleet
    this.#tables = tables
    this.#prober = prober
  }

  reload (trigger: string): Promise<ReloadResult> { return this.#tables.reload(trigger) }

  async drain (id: string, until: number | null, reason: string): Promise<void> { this.#fleet.drain(id, until, reason) }

  async undrain (id: string): Promise<boolean> { return this.#fleet.undrain(id) }

  async probeNow (id?: string): Promise<Health[] | null> {
    if (this.#prober === null) throw new MgError('MG_ERR_PROBES_DISABLED')
    return this.#prober.probeNow(id)
  }
}
