// One plan from its options: read the inputs, sample the clients, simulate, measure, render.
// Kept apart from main.ts so tests can make plans without starting a process.

import { mkdirSync, writeFileSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { readConfigFile } from '../config/load.js'
import { configFromDocument, type Config } from '../config/schema.js'
import { GeoIp } from '../geoip/reader.js'
import { countNetworks, demandCsv, readDemand } from './demand.js'
import { renderMarkdown } from './markdown.js'
import type { PlanOptions } from './options.js'
import { NO_OVERLAY, loadPlanTable, readOverlay } from './overlay.js'
import { buildPlan, type Plan } from './plan.js'
import { populationOf } from './population.js'
import { seeded } from './random.js'
import { simulate } from './simulate.js'
import { renderSvg } from './svg.js'
import { PlanError } from './errors.js'

export interface PlanResult {
  readonly plan: Plan
  readonly markdown: string
  readonly svg: string
}

/** The mirrorgate config the plan uses: the given file's, or the defaults; probes never run. */
export function plannerConfig (file: string | null): Config {
  const config = file === null ? configFromDocument({ probes: { enabled: false } }, 'planner defaults', process.cwd()) : readConfigFile(file)
  return { ...config, probes: { ...config.probes, enabled: false } }
}

export function openPlannerGeoIp (config: Config): GeoIp {
  return new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
}

const SEED_SPLIT = 0x9e3779b9

export async function makePlan (options: PlanOptions, geoip?: GeoIp): Promise<PlanResult> {
  const config = plannerConfig(options.config)
  const overlay = options.overlay === null ? NO_OVERLAY : readOverlay(options.overlay)
  const table = loadPlanTable(options.table, overlay, options.overlay)
  if (!table.mirrors.some((m) => m.enabled)) throw new PlanError(`${options.table}: no mirror is enabled`)
  const demand = readDemand(options.demand)
  const located = geoip ?? openPlannerGeoIp(config)
  // The sample and the interleaving draw from separate streams: more requests, same networks.
  const population = populationOf(demand, located, options.volume, options.networks, seeded(options.seed))
  const share = options.share ?? config.capacity.share
  const measured = await simulate({
    table, config, geoip: located, population, volume: options.volume, requests: options.requests, share, httpsShare: options.httpsShare, seed: (options.seed ^ SEED_SPLIT) >>> 0
  })
  const title = options.title ?? basename(options.overlay ?? options.table, extname(options.overlay ?? options.table))
  const plan = buildPlan({
    title,
    table: options.table,
    overlay: options.overlay,
    demand: options.demand,
    demandKind: demand.kind,
    volume: options.volume,
    seed: options.seed,
    share,
    httpsShare: options.httpsShare,
    windowSeconds: config.capacity.windowMs / 1000,
    command: options.command
  }, table, measured, population)
  return { plan, markdown: renderMarkdown(plan), svg: renderSvg(plan) }
}

export function writePlan (result: PlanResult, dir: string, name: string): string[] {
  try {
    mkdirSync(dir, { recursive: true })
    const files = [join(dir, `${name}.md`), join(dir, `${name}.svg`)]
    writeFileSync(files[0] as string, result.markdown)
    writeFileSync(files[1] as string, result.svg)
    return files
  } catch (err) {
    throw new PlanError(`${dir}: cannot write the plan: ${(err as Error).message}`)
  }
}

/** Writes the demand CSV from the configured GeoIP database; returns what it counted. */
export function makeDemandFile (file: string, config: Config, stride = 1): ReturnType<typeof countNetworks> {
  const geoip = openPlannerGeoIp(config)
  const count = countNetworks(geoip, stride)
  const builtAt = geoip.databases.find((d) => d.ipVersion === 4)?.builtAt ?? geoip.databases[0]?.builtAt ?? 'unknown'
  try {
    writeFileSync(file, demandCsv(count, builtAt.slice(0, 10)))
  } catch (err) {
    throw new PlanError(`${file}: cannot write the demand CSV: ${(err as Error).message}`)
  }
  return count
}
