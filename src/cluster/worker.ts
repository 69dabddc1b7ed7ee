// A cluster worker: serves HTTP from a copy of the primary's live state. It never probes nor
// reads the table; admin actions and /metrics go to the primary. It keeps its own GeoIP reader
// current: it watches the database files itself and reloads them when the primary says so.

import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { parseTableText } from '../config/table-file.js'
import type { Control, DrainChange } from '../live/control.js'
import type { Health } from '../core/health.js'
import { ERRORS, MgError, type ErrorCode } from '../errors.js'
import { EndpointDirectory } from '../dns/endpoints.js'
import { Fleet, type CoverageChange } from '../live/fleet.js'
import { Metrics } from '../metrics.js'
import { createHttp, geoIpUpdates, openGeoIp } from '../service.js'
import type { ReloadResult } from '../live/table-source.js'
import type { Op, ToPrimary, ToWorker } from './messages.js'

function send (message: ToPrimary): void {
  process.send?.(message)
}

/** Calls the primary and waits for its reply. */
class PrimaryLink {
  #seq = 0
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: Error) => void }>()

  call (op: Op): Promise<unknown> {
    const seq = ++this.#seq
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject })
      send({ t: 'call', seq, call: op })
    })
  }

  settle (message: Extract<ToWorker, { t: 'reply' }>): void {
    const p = this.#pending.get(message.seq)
    if (p === undefined) return
    this.#pending.delete(message.seq)
    if (message.error === undefined) p.resolve(message.value)
    else {
      // A code the catalogue lacks (a primary of another version?) is an internal error, not a table error.
      const known = Object.hasOwn(ERRORS, message.error.code)
      const err = known ? new MgError(message.error.code as ErrorCode) : new MgError('MG_ERR_INTERNAL', undefined, { cause: message.error })
      if (known) err.message = message.error.message
      p.reject(err)
    }
  }
}

class RemoteControl implements Control {
  readonly #link: PrimaryLink
  /** The primary keeps the state file: the same configuration says whether there is one. */
  readonly persistent: boolean
  constructor (link: PrimaryLink, persistent: boolean) {
    this.#link = link
    this.persistent = persistent
  }

  async reload (): Promise<ReloadResult> {
    try {
      return await this.#link.call({ op: 'reload' }) as ReloadResult
    } catch (err) {
      return { ok: false, error: err as MgError }
    }
  }

  async drain (id: string, until: number | null, reason: string): Promise<DrainChange> { return await this.#link.call({ op: 'drain', id, until, reason }) as DrainChange }
  async undrain (id: string): Promise<DrainChange & { readonly wasDraining: boolean }> {
    return await this.#link.call({ op: 'undrain', id }) as DrainChange & { readonly wasDraining: boolean }
  }
  async probeNow (id?: string): Promise<Health[] | null> { return await this.#link.call(id === undefined ? { op: 'probe' } : { op: 'probe', id }) as Health[] | null }
}

function applyCoverage (fleet: Fleet, change: CoverageChange): void {
  if (change.kind === 'index') fleet.setIndex(change.history)
  else if (change.kind === 'drop') fleet.dropIndex(change.dir)
  else fleet.recordIndexCheck(change.id, change.dir, change.check)
}

export async function runWorker (config: Config, log: Logger): Promise<void> {
  const geoip = openGeoIp(config)
  const link = new PrimaryLink()
  // The first message is the state; everything else waits until the HTTP side exists.
  const first = await new Promise<Extract<ToWorker, { t: 'state' }>>((resolve) => {
    const onMessage = (m: ToWorker): void => {
      if (m.t !== 'state') return
      process.off('message', onMessage)
      resolve(m)
    }
    process.on('message', onMessage)
    send({ t: 'ready' })
  })
  const fleet = new Fleet(parseTableText(first.table, first.file), { ...config.probes, ...config.freshness })
  fleet.importState(first.fleet)
  for (const history of first.indexes) fleet.setIndex(history)
  const metrics = new Metrics(geoip, fleet, config.instance)
  // The worker's own view of the DNS endpoints (for /api/v1/dns/*), over its copy of the fleet.
  // The worker's view of the DNS endpoints (for /api/v1/dns/*): health comes from the primary.
  const directory = new EndpointDirectory(config.dns, config.selection, fleet)
  const app = createHttp(config, geoip, fleet, directory, metrics, new RemoteControl(link, config.probes.stateFile !== null), log)
  // /metrics in a worker shows the whole cluster: the primary aggregates.
  app.metricsSource = async () => await link.call({ op: 'metrics' }) as string
  const updates = geoIpUpdates(geoip, log)

  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'state':
        fleet.setTable(parseTableText(m.table, m.file))
        fleet.importState(m.fleet)
        for (const history of m.indexes) fleet.setIndex(history)
        break
      case 'fleet': fleet.importState(m.fleet); break
      case 'table': fleet.setTable(parseTableText(m.table, m.file)); break
      case 'probe': fleet.record(m.id, m.scheme, m.result, m.family); break
      case 'master': fleet.recordMaster(m.result); break
      case 'endpoint': fleet.recordEndpoint(m.id, m.result); break
      case 'coverage': applyCoverage(fleet, m.change); break
      case 'reply': link.settle(m); break
      case 'geoip': void updates.reload(m.trigger); break
      case 'collect':
        void metrics.registry.getMetricsAsJSON().then((json) => send({ t: 'collected', seq: m.seq, metrics: json }))
        break
      case 'shutdown':
        app.ready = false
        void app.fastify.close().finally(() => process.exit(0))
        break
    }
  })
  process.on('disconnect', () => { void app.fastify.close().finally(() => process.exit(0)) })
  await app.fastify.listen({ host: config.host, port: config.port })
  updates.watch()
  app.ready = true
}
