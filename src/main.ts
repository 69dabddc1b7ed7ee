// The entry point: reads the configuration, then runs as one process, or as a cluster
// primary with HTTP workers. Start-up fails before listening when anything is wrong.

import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { pino, type Logger } from 'pino'
import { runPrimary } from './cluster/primary.js'
import { runWorker } from './cluster/worker.js'
import { loadConfig } from './config/load.js'
import type { Config } from './config/schema.js'
import { MgError } from './errors.js'
import { start } from './service.js'

export { start, type Service } from './service.js'

function fatal (err: unknown): never {
  const message = err instanceof MgError ? `${err.code}: ${err.message}` : (err as Error).stack ?? String(err)
  process.stderr.write(`mirrorgate: cannot start: ${message}\n`)
  process.exit(1)
}

/** Stops on SIGTERM/SIGINT once `close` has finished the requests in flight. */
function onStopSignals (log: Logger, close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: finishing requests in flight')
    close().then(() => process.exit(0), (err: unknown) => {
      log.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** Old-generation growth allowed between full collections, in percent; see heapGrowthFlag. */
const HEAP_GROWTH_PERCENT = 50

/**
 * The V8 flag to set at start, or null when the operator chose their own.
 *
 * V8 lets the old generation grow to up to four times what survived the last full
 * collection. Under connection churn (apk opens a connection per request) most of that is
 * dead sockets: the peak RSS measured 336 to 385 MiB where 280 were needed. A fixed 50% keeps
 * the peak near the live size; the extra full collections cost about 10% of the
 * new-connection rate (none measurable with keep-alive). See README, "Memory against speed".
 */
export function heapGrowthFlag (execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const given = [...execArgv, nodeOptions ?? ''].some((a) => /--heap[-_]growing[-_]percent\b/.test(a))
  return given ? null : `--heap-growing-percent=${HEAP_GROWTH_PERCENT}`
}

/**
 * Runs the service from command-line flags and the environment, as `node dist/main.js` and
 * `mirrorgate serve` do; returns once it listens, and exits the process on a stop signal or
 * when it cannot start.
 */
export async function runServer (argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const flag = heapGrowthFlag(process.execArgv, process.env.NODE_OPTIONS)
  if (flag !== null) setFlagsFromString(flag)
  let config: Config
  try {
    config = loadConfig(argv, env)
  } catch (err) {
    fatal(err)
  }
  const log = pino({ level: env.LOG_LEVEL ?? 'info' })
  const workers = config.workers === 0 ? availableParallelism() : config.workers

  if (cluster.isWorker) {
    // Signals go to the primary, which tells workers when to stop, and when to reload GeoIP.
    process.on('SIGINT', () => {})
    process.on('SIGTERM', () => {})
    process.on('SIGHUP', () => {})
    await runWorker(config, log.child({ worker: cluster.worker?.id })).catch(fatal)
    return
  }
  if (workers > 1) {
    const primary = await runPrimary(config, workers, log).catch(fatal)
    onStopSignals(log, () => primary.close())
    // SIGHUP re-reads the mirror table (in the primary, which owns it) and has every process
    // re-read the GeoIP files; SIGUSR2 replaces the workers one by one (a new build, say)
    // without refusing a request.
    process.on('SIGHUP', () => {
      void primary.reloadTable('SIGHUP')
      void primary.reloadGeoIp('SIGHUP')
    })
    process.on('SIGUSR2', () => { void primary.restartWorkers() })
    return
  }
  const service = await start(config, log).catch(fatal)
  onStopSignals(log, () => service.close())
  // SIGHUP re-reads the mirror table and the GeoIP files; a bad one is logged and the old one stays.
  process.on('SIGHUP', () => {
    void service.tables.reload('SIGHUP')
    void service.geoipUpdates.reload('SIGHUP')
  })
}

// Run only as the entry point, so tests (and the mirrorgate CLI) can import start().
if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) void runServer(process.argv.slice(2), process.env)
