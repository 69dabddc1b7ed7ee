// The cluster primary: owns the live state (table, probes, drains) and forks workers that
// serve HTTP, keeping each one's copy current. SIGUSR2 replaces the workers one at a time,
// each new one listening before its predecessor stops, so no request is refused.

import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry } from 'prom-client'
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { LocalControl } from '../live/control.js'
import { MgError } from '../errors.js'
import { createDns, createLiveState, geoIpUpdates, listenDns, openGeoIp, startupSummary } from '../service.js'
import { familyOf } from '../probes/prober.js'
import type { Op, ToPrimary, ToWorker } from './messages.js'

export interface Primary {
  /** Re-reads the mirror table (SIGHUP); the workers follow. */
  reloadTable (trigger: string): Promise<void>
  /** Has every worker (and this process, when it answers DNS) read the GeoIP files again (SIGHUP). */
  reloadGeoIp (trigger: string): Promise<void>
  /** Replaces every worker, one at a time. */
  restartWorkers (): Promise<void>
  close (): Promise<void>
}

export async function runPrimary (config: Config, workers: number, log: Logger): Promise<Primary> {
  // Workers accept from the shared listening socket themselves. Node's default round-robin
  // has the primary accept every connection and pass it over IPC: a cost per connection that
  // apk, which opens a new connection for every request, would pay in full.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  // Structured clone, not JSON: a master index's file set travels as typed arrays.
  cluster.setupPrimary({ serialization: 'advanced' })
  // DNS runs here, next to the endpoint health it answers from (its sockets are exclusive).
  const geoip = config.dns.enabled ? openGeoIp(config) : null
  const state = await createLiveState(config, geoip, log)
  const dns = geoip === null ? null : createDns(config, geoip, state, log)
  const updates = geoip === null ? null : geoIpUpdates(geoip, log)
  // The primary owns the drains: the admin API's reach it from every worker, and it keeps them in the state file.
  const control = new LocalControl(state.fleet, state.tables, config.probes.enabled ? state.prober : null, state.persist)
  const ready = new Set<Worker>()
  let stopping = false
  let port = config.port

  const broadcast = (message: ToWorker): void => {
    for (const w of ready) if (w.isConnected()) w.send(message)
  }
  state.onTable((text) => broadcast({ t: 'table', table: text, file: config.table }))
  // Readiness follows the primary's knowledge: workers learn when the first round is in.
  state.fleet.subscribe((next, previous) => {
    if (next.known && !previous.known) broadcast({ t: 'fleet', fleet: state.fleet.exportState() })
  })
  // Probe results travel as they are; the workers' fleets apply the same transitions.
  state.onProbe((target, result) => {
    if (target.kind === 'master') broadcast({ t: 'master', result })
    else if (target.kind === 'endpoint') broadcast({ t: 'endpoint', id: target.id as string, result })
    else broadcast({ t: 'probe', id: target.id as string, scheme: target.scheme, family: familyOf(target), result })
  })

  state.fleet.onCoverage((change) => broadcast({ t: 'coverage', change }))

  // Cluster-wide metrics: every worker's registry plus the primary's own (probes, fleet).
  let collectSeq = 0
  const collecting = new Map<number, (metrics: unknown[]) => void>()
  async function clusterMetrics (): Promise<string> {
    const own = await state.metrics.registry.getMetricsAsJSON()
    const parts = await Promise.all([...ready].filter((w) => w.isConnected()).map((w) => new Promise<unknown[]>((resolve) => {
      const seq = ++collectSeq
      // A worker that does not answer in time is left out rather than failing the scrape.
      const timer = setTimeout(() => { collecting.delete(seq); resolve([]) }, 2000)
      collecting.set(seq, (metrics) => { clearTimeout(timer); collecting.delete(seq); resolve(metrics) })
      w.send({ t: 'collect', seq } satisfies ToWorker)
    })))
    return await AggregatorRegistry.aggregate([own, ...parts.filter((p) => p.length > 0)] as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics()
  }

  async function perform (op: Op): Promise<unknown> {
    switch (op.op) {
      case 'reload': {
        const result = await control.reload('admin API')
        if (!result.ok) throw result.error
        return result
      }
      // The change reaches every worker before the reply (IPC keeps order), so the answer's view is current.
      case 'drain': {
        const change = await control.drain(op.id, op.until, op.reason)
        broadcast({ t: 'fleet', fleet: state.fleet.exportState() })
        return change
      }
      case 'undrain': {
        const change = await control.undrain(op.id)
        broadcast({ t: 'fleet', fleet: state.fleet.exportState() })
        return change
      }
      case 'probe': return await control.probeNow(op.id)
      case 'metrics': return await clusterMetrics()
    }
  }

  function fork (): Promise<Worker> {
    const worker = cluster.fork()
    worker.on('message', (m: ToPrimary) => {
      if (m.t === 'ready') {
        const indexes = [...state.fleet.coverage.indexes.values()]
        worker.send({ t: 'state', table: state.tableText, file: config.table, fleet: state.fleet.exportState(), indexes } satisfies ToWorker)
        ready.add(worker)
      } else if (m.t === 'collected') {
        collecting.get(m.seq)?.(m.metrics)
      } else if (m.t === 'call') {
        perform(m.call).then(
          (value) => { if (worker.isConnected()) worker.send({ t: 'reply', seq: m.seq, value } satisfies ToWorker) },
          (err: unknown) => {
            // An unforeseen failure is logged here in full; the worker (and its client) learns only MG_ERR_INTERNAL.
            if (!(err instanceof MgError)) log.error({ err, op: m.call.op }, 'worker call failed')
            const mg = err instanceof MgError ? err : new MgError('MG_ERR_INTERNAL')
            const e = { code: mg.code, message: mg.message }
            if (worker.isConnected()) worker.send({ t: 'reply', seq: m.seq, error: e } satisfies ToWorker)
          }
        )
      }
    })
    worker.on('exit', (code, signal) => {
      ready.delete(worker)
      if (stopping || retiring.has(worker)) return
      // A worker that died on its own is replaced, after a pause so a crash loop stays slow.
      log.error({ worker: worker.process.pid, code, signal }, 'worker died; starting a replacement')
      setTimeout(() => { if (!stopping) void fork() }, 1000).unref()
    })
    return new Promise((resolve, reject) => {
      worker.once('listening', (address) => { port = address.port; resolve(worker) })
      worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before listening`)))
    })
  }

  const retiring = new Set<Worker>()
  const retire = (worker: Worker): Promise<void> => new Promise((resolve) => {
    retiring.add(worker)
    worker.once('exit', () => { retiring.delete(worker); resolve() })
    worker.send({ t: 'shutdown' } satisfies ToWorker)
  })

  await Promise.all(Array.from({ length: workers }, fork))
  if (dns !== null) await listenDns(dns, config, state, log)
  state.start()
  updates?.watch()
  log.info({ ...startupSummary(config, state.fleet.table, null), workers }, `mirrorgate listening on ${config.host}:${port} with ${workers} workers`)

  return {
    async reloadTable (trigger) { await state.tables.reload(trigger) },
    async reloadGeoIp (trigger) {
      broadcast({ t: 'geoip', trigger })
      await updates?.reload(trigger)
    },
    async restartWorkers () {
      for (const old of Object.values(cluster.workers ?? {})) {
        if (old === undefined || retiring.has(old)) continue
        await fork()
        await retire(old)
      }
      log.info({ workers: Object.keys(cluster.workers ?? {}).length }, 'workers restarted')
    },
    async close () {
      stopping = true
      updates?.close()
      await dns?.close()
      await state.close()
      await Promise.all(Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined).map(retire))
    }
  }
}
