// The composition root: configuration, GeoIP, mirror table, live state, probes, HTTP,
// signals. Start-up fails before listening when anything is wrong, naming file and field.

import { hostname } from 'node:os'
import { loadConfig } from './config/load.js'
import { loadTableFile } from './config/table-file.js'
import type { Config } from './config/schema.js'
import { MgError } from './errors.js'
import { Fleet } from './fleet.js'
import { GeoIp } from './geoip/reader.js'
import { buildApp, type App } from './http/app.js'
import { Metrics } from './metrics.js'
import { Prober } from './probes/prober.js'
import { Redirector } from './redirector.js'
import { TableSource } from './table-source.js'

export interface Service {
  readonly app: App
  readonly config: Config
  readonly fleet: Fleet
  readonly tables: TableSource
  readonly prober: Prober | null
  close (): Promise<void>
}

export async function start (config: Config, logger: boolean | object = true): Promise<Service> {
  const geoip = new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
  const table = await loadTableFile(config.table)
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness })
  const metrics = new Metrics(geoip, fleet, config.instance)
  const redirector = new Redirector({
    geoip, table, gates: fleet.gates, metrics, policy: config.selection, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize
  })
  // Any change in the table or in some mirror's eligibility starts the decision cache afresh.
  fleet.onChange((gates) => redirector.update(fleet.table, gates))

  const prober = config.probes.enabled
    ? new Prober(fleet, config.probes, { onResult: (target, result) => metrics.probe(target.id, result) })
    : null
  // Reported below, once the logger exists.
  let report: (trigger: string, ok: boolean, detail: object) => void = () => {}
  const tables = new TableSource(config.table, {
    apply: (t) => fleet.setTable(t),
    report: (trigger, result) => {
      metrics.reload(result.ok)
      report(trigger, result.ok, result.ok ? { version: result.version, mirrors: result.mirrors } : { error: result.error.message })
    }
  })
  const app = buildApp({
    config, geoip, redirector, metrics, fleet,
    reload: (trigger) => tables.reload(trigger),
    probeNow: prober === null ? null : (id) => prober.probeNow(id),
    logger: logger === false ? false : { level: process.env.LOG_LEVEL ?? 'info' }
  })
  const log = app.fastify.log
  report = (trigger, ok, detail) => ok
    ? log.info({ trigger, table: config.table, ...detail }, 'mirror table reloaded')
    : log.error({ trigger, table: config.table, ...detail }, 'mirror table rejected; the previous table stays in force')
  let failOpen = false
  fleet.onChange(() => {
    if (fleet.failOpen === failOpen) return
    failOpen = fleet.failOpen
    if (failOpen) log.warn('fail open: too few mirrors pass their probes, ignoring health until they recover')
    else log.info('fail open ended: mirror health is applied again')
  })

  await app.fastify.listen({ host: config.host, port: config.port })
  tables.watch()
  prober?.start()
  app.ready = true
  log.info({
    config: config.source ?? 'built-in defaults',
    table: config.table,
    mirrors: table.mirrors.length,
    enabled: table.mirrors.filter((m) => m.enabled).length,
    geoip: geoip.databases,
    instance: config.instance,
    probes: config.probes.enabled ? { master: config.probes.master, intervalMs: config.probes.intervalMs } : 'disabled',
    admin: config.admin.token === null ? 'disabled' : 'enabled',
    host: hostname()
  }, `mirrorgate listening on ${config.host}:${(app.fastify.server.address() as { port: number }).port}`)
  return {
    app,
    config,
    fleet,
    tables,
    prober,
    async close () {
      app.ready = false
      tables.close()
      await prober?.stop()
      await app.fastify.close()
    }
  }
}

async function main (): Promise<void> {
  let service: Service
  try {
    service = await start(loadConfig(process.argv.slice(2), process.env))
  } catch (err) {
    const message = err instanceof MgError ? `${err.code}: ${err.message}` : (err as Error).stack ?? String(err)
    process.stderr.write(`mirrorgate: cannot start: ${message}\n`)
    process.exit(1)
  }
  const log = service.app.fastify.log
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: finishing requests in flight')
    service.close().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // SIGHUP re-reads the mirror table; a bad table is logged and the old one stays.
  process.on('SIGHUP', () => { void service.tables.reload('SIGHUP') })
}

// Run only as the entry point, so tests can import start().
if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) void main()
