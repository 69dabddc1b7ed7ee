// The composition root: configuration, GeoIP, mirror table, HTTP, signals. Start-up fails
// before listening when anything is wrong, naming the file and field.

import { hostname } from 'node:os'
import { loadConfig } from './config/load.js'
import { loadTableFile } from './config/table-file.js'
import type { Config } from './config/schema.js'
import { MgError } from './errors.js'
import { GeoIp } from './geoip/reader.js'
import { buildApp, type App } from './http/app.js'
import { Metrics } from './metrics.js'
import { Redirector } from './redirector.js'

export interface Service { readonly app: App, readonly config: Config, close (): Promise<void> }

export async function start (config: Config, logger: boolean | object = true): Promise<Service> {
  const geoip = new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
  const table = await loadTableFile(config.table)
  const metrics = new Metrics(geoip)
  const redirector = new Redirector({
    geoip, table, metrics, policy: config.selection, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize
  })
  const app = buildApp({ config, geoip, redirector, metrics, logger: logger === false ? false : { level: process.env.LOG_LEVEL ?? 'info' } })
  const log = app.fastify.log
  await app.fastify.listen({ host: config.host, port: config.port })
  app.ready = true
  log.info({
    config: config.source ?? 'built-in defaults',
    table: config.table,
    mirrors: table.mirrors.length,
    enabled: table.mirrors.filter((m) => m.enabled).length,
    geoip: geoip.databases,
    instance: config.instance,
    host: hostname()
  }, `mirrorgate listening on ${config.host}:${(app.fastify.server.address() as { port: number }).port}`)
  return {
    app,
    config,
    async close () {
      app.ready = false
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
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    service.app.fastify.log.info({ signal }, 'shutting down: finishing requests in flight')
    service.close().then(() => process.exit(0), (err: unknown) => {
      service.app.fastify.log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

// Run only as the entry point, so tests can import start().
if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) void main()
