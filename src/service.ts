// Assembles the service from its parts. A single process runs all of them; in a cluster the
// primary runs the live state (table, fleet, probes) and the workers run the HTTP side.

import type { Logger } from 'pino'
import type { Config } from './config/schema.js'
import { readTableFile } from './config/table-file.js'
import { LocalControl, type Control, type Persist } from './live/control.js'
import type { MirrorTable } from './core/types.js'
import { EndpointDirectory } from './dns/endpoints.js'
import { DnsResponder } from './dns/responder.js'
import { ExportWriter } from './dns/export-writer.js'
import { answerTtl } from './dns/zone.js'
import { Fleet } from './live/fleet.js'
import { LoadMeter } from './live/load.js'
import { availableParallelism } from 'node:os'
import { Listeners } from './listeners.js'
import { GeoIp } from './geoip/reader.js'
import { GeoIpUpdates } from './geoip/updates.js'
import { buildApp, type App } from './http/app.js'
import { Metrics } from './metrics.js'
import type { ProbeResult } from './core/health.js'
import { Prober, type ProbeTarget } from './probes/prober.js'
import { CopyChecker } from './indexes/copy-checker.js'
import { MasterIndexes } from './indexes/master-indexes.js'
import { readProbeState, StateSaver } from './probes/state-file.js'
import { Redirector } from './redirector.js'
import { TableSource } from './live/table-source.js'

/** The table, the fleet's health of it, and the probes and file watch that keep both current. */
export interface LiveState {
  readonly fleet: Fleet
  /** The hosts DNS may hand out, with their health: for the DNS responder and the exports. */
  readonly directory: EndpointDirectory
  readonly tables: TableSource
  readonly prober: Prober | null
  /** The master's indexes and each mirror's copies (index-aware routing); null when off. */
  readonly indexes: { readonly master: MasterIndexes, readonly copies: CopyChecker } | null
  readonly metrics: Metrics
  /** Writes the state file now (a drain is kept before it is acknowledged); null without a state file. */
  readonly persist: Persist | null
  /** The text of the table in force, exactly as validated (a primary forwards it to its workers). */
  readonly tableText: string
  /** Called with the text of every accepted table. */
  onTable (listener: (text: string) => void): void
  /** Called with every probe result, after the fleet has applied it. */
  onProbe (listener: (target: ProbeTarget, result: ProbeResult) => void): void
  start (): void
  close (): Promise<void>
}

export async function createLiveState (config: Config, geoip: GeoIp | null, log: Logger | null): Promise<LiveState> {
  const first = await readTableFile(config.table)
  const table = first.table
  let tableText = first.text
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness })
  const metrics = new Metrics(geoip, fleet, config.instance)
  // The state file keeps the local drains too, so it is read and written even with probes off.
  const stateFile = config.probes.stateFile
  if (stateFile !== null) await restoreState(fleet, stateFile, config.probes.enabled, log)
  // Without probes there is no health to keep: only the drains are written.
  const toSave = config.probes.enabled ? () => fleet.exportState() : () => ({ ...fleet.exportState(), health: [], endpoints: [], checks: [], known: false })
  const saver = stateFile === null ? null : new StateSaver(stateFile, toSave, (err) => log?.error({ err, file: stateFile }, 'state not saved'))
  let drains = fleet.localDrains
  fleet.subscribe(() => {
    if (fleet.localDrains === drains) return
    drains = fleet.localDrains
    saver?.changed()
  })
  const probeListeners = new Listeners<[target: ProbeTarget, result: ProbeResult]>()
  // Mirrors are probed when probes are enabled; DNS endpoints' health URLs in any case.
  const prober = config.probes.enabled || config.dns.endpoints.some((e) => e.health !== null)
    ? new Prober(fleet, config.probes, {
      endpoints: config.dns.endpoints,
      onResult: (target, result) => {
        metrics.probe(target, result)
        saver?.changed()
        probeListeners.emit(target, result)
      }
    })
    : null
  // Index-aware routing needs the master (what each sync point lists) and probes (who synced when).
  const master = config.probes.master
  const indexes = config.indexes.enabled && config.probes.enabled && master !== null
    ? {
        master: new MasterIndexes(fleet, master, config.indexes, config.probes.timeoutMs, {
          onError: (path, reason) => log?.warn({ path, reason }, 'master index not read; what was known of it stays'),
          onVersion: (history) => log?.debug({ path: history.path, files: history.versions[0]?.count }, 'master index version')
        }),
        copies: new CopyChecker(fleet, config.indexes, config.probes.timeoutMs, {
          onCheck: (id, dir, check) => {
            metrics.indexCheck(id, dir, check)
            saver?.changed()
          }
        })
      }
    : null
  let readyTimer: NodeJS.Timeout | undefined
  const tableListeners = new Listeners<[text: string]>()
  const tables = new TableSource(config.table, {
    apply: (t, text) => {
      fleet.setTable(t)
      tableText = text
      tableListeners.emit(text)
    },
    report: (trigger, result) => {
      metrics.reload(result.ok)
      if (result.ok) log?.info({ trigger, table: config.table, version: result.version, mirrors: result.mirrors }, 'mirror table reloaded')
      else log?.error({ trigger, table: config.table, error: result.error.message }, 'mirror table rejected; the previous table stays in force')
    }
  })
  const directory = new EndpointDirectory(config.dns, config.selection, fleet)
  // The DNS layer's files, written by the one process that owns the state.
  const exportsWriter = config.exports.dir === null
    ? null
    : new ExportWriter(config.exports.dir, directory, {
      name: config.dns.name,
      nameservers: config.dns.nameservers,
      hostmaster: config.dns.hostmaster,
      ttl: answerTtl(config.dns, config.probes),
      maxHosts: config.dns.answers,
      onWrite: (file) => log?.info({ file }, 'DNS export written'),
      onError: (err, file) => log?.error({ err, file }, 'DNS export not written; the previous file stays')
    })
  fleet.subscribe((next, previous) => {
    if (next.known && !previous.known) {
      log?.info('mirror state known: ready')
      saver?.changed()
    }
    if (next.failOpen === previous.failOpen) return
    if (next.failOpen) log?.warn('fail open: the master and most mirrors fail at once, so the prober is the likely cause; ignoring health until they recover')
    else log?.info('fail open ended: mirror health is applied again')
  })
  return {
    fleet,
    directory,
    persist: saver === null ? null : () => saver.flush(),
    get tableText () { return tableText },
    tables,
    prober,
    indexes,
    metrics,
    onTable: (listener) => { tableListeners.add(listener) },
    onProbe: (listener) => { probeListeners.add(listener) },
    start () {
      tables.watch()
      prober?.start()
      if (prober !== null && config.probes.enabled) {
        // Ready once every mirror has answered its first probe, or timed out: bounded.
        void prober.firstRound.then(() => fleet.markKnown())
        readyTimer = setTimeout(() => fleet.markKnown(), config.probes.readyTimeoutMs).unref()
      }
      void exportsWriter?.start()
      if (indexes !== null) {
        void indexes.master.start()
        indexes.copies.start()
      }
    },
    async close () {
      clearTimeout(readyTimer)
      tables.close()
      exportsWriter?.stop()
      await indexes?.master.stop()
      await indexes?.copies.stop()
      await prober?.stop()
      fleet.close()
      await saver?.flush()
    }
  }
}

/** Health (when young enough and probes are on) and local drains (whatever the age) from the state file. */
async function restoreState (fleet: Fleet, file: string, probes: boolean, log: Logger | null): Promise<void> {
  const saved = await readProbeState(file, Date.now())
  if (saved.ok && probes) {
    fleet.importState(saved.state)
    log?.info({ file, savedAt: new Date(saved.savedAt).toISOString(), known: fleet.known, drains: fleet.localDrains.size }, 'probe state restored')
    return
  }
  fleet.restoreDrains(saved.ok ? saved.state.drains : saved.drains)
  if (probes) log?.info({ file, reason: saved.ok ? 'probes off' : saved.reason, drains: fleet.localDrains.size }, 'probe state not restored; waiting for the first probe round')
  else log?.info({ file, drains: fleet.localDrains.size }, 'drains restored')
}

/** Reloads GeoIP files on change (and when asked), logging each outcome. */
export function geoIpUpdates (geoip: GeoIp, log: Logger | null): GeoIpUpdates {
  return new GeoIpUpdates(geoip, (trigger, result) => {
    if (result.outcome === 'ok') log?.info({ trigger, databases: result.databases }, 'GeoIP databases reloaded')
    else if (result.outcome === 'rejected') log?.error({ trigger, reason: result.reason }, 'GeoIP database rejected; the databases in force stay')
    else log?.debug({ trigger }, 'GeoIP databases unchanged')
  })
}

/** The HTTP side over a fleet: GeoIP, the redirector with its cache, the app. */
export function createHttp (config: Config, geoip: GeoIp, fleet: Fleet, directory: EndpointDirectory, metrics: Metrics, control: Control, log: Logger | null): App {
  // Each HTTP process sees its part of the instance's traffic, so it enforces that part of the budgets.
  const processes = config.workers === 0 ? availableParallelism() : config.workers
  const load = new LoadMeter({ ...config.capacity, share: config.capacity.share / processes, coverage: () => fleet.coverage })
  metrics.watchLoad(load)
  const redirector = new Redirector({
    geoip, live: fleet, metrics, load, policy: config.selection, freshness: config.freshness, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize
  })
  return buildApp({ config, geoip, redirector, metrics, fleet, directory, control, load, ...(log === null ? {} : { logger: log }) })
}

export function openGeoIp (config: Config): GeoIp {
  return new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
}

/** The embedded DNS responder over the live state's endpoints, counting into its metrics. */
export function createDns (config: Config, geoip: GeoIp, state: LiveState, log: Logger | null): DnsResponder {
  return new DnsResponder({
    config,
    directory: state.directory,
    geoip,
    ...(log === null ? {} : { log }),
    onQuery: (rcode, qtype, ecs) => state.metrics.dnsQuery(rcode, qtype, ecs)
  })
}

export async function listenDns (dns: DnsResponder, config: Config, state: LiveState, log: Logger | null): Promise<void> {
  const { udpPort } = await dns.listen()
  log?.info({ name: config.dns.name, ttl: dns.zone.ttl, endpoints: state.directory.endpoints.length },
    `DNS responder for ${config.dns.name} on ${config.dns.host}:${udpPort} (UDP and TCP)`)
}

export interface Service {
  readonly app: App
  readonly dns: DnsResponder | null
  readonly config: Config
  readonly fleet: Fleet
  readonly tables: TableSource
  readonly prober: Prober | null
  readonly indexes: LiveState['indexes']
  /** Reloads the GeoIP files (SIGHUP; a change of a file does it by itself). */
  readonly geoipUpdates: GeoIpUpdates
  close (): Promise<void>
}

/** The whole service in one process: what `npm start` runs and what the tests start. */
export async function start (config: Config, log: Logger | null): Promise<Service> {
  const geoip = openGeoIp(config)
  const state = await createLiveState(config, geoip, log)
  const control = new LocalControl(state.fleet, state.tables, config.probes.enabled ? state.prober : null, state.persist)
  const app = createHttp(config, geoip, state.fleet, state.directory, state.metrics, control, log)
  const updates = geoIpUpdates(geoip, log)
  const dns = config.dns.enabled ? createDns(config, geoip, state, log) : null
  await app.fastify.listen({ host: config.host, port: config.port })
  if (dns !== null) {
    try {
      await listenDns(dns, config, state, log)
    } catch (err) {
      await app.fastify.close()
      throw err
    }
  }
  state.start()
  updates.watch()
  app.ready = true
  log?.info(startupSummary(config, state.fleet.table, geoip), `mirrorgate listening on ${config.host}:${(app.fastify.server.address() as { port: number }).port}`)
  return {
    app,
    dns,
    config,
    fleet: state.fleet,
    tables: state.tables,
    prober: state.prober,
    indexes: state.indexes,
    geoipUpdates: updates,
    async close () {
      app.ready = false
      updates.close()
      await dns?.close()
      await state.close()
      await app.fastify.close()
    }
  }
}

/** What an operator wants to see at start-up: which files, which instance, which options. */
export function startupSummary (config: Config, table: MirrorTable, geoip: GeoIp | null): object {
  return {
    config: config.source ?? 'built-in defaults',
    table: config.table,
    mirrors: table.mirrors.length,
    enabled: table.mirrors.filter((m) => m.enabled).length,
    geoip: geoip?.databases ?? 'not loaded in this process',
    instance: config.instance,
    probes: config.probes.enabled ? { master: config.probes.master, intervalMs: config.probes.intervalMs } : 'disabled',
    admin: config.admin.token === null ? 'disabled' : 'enabled'
  }
}
