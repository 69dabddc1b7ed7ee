// GET /api/v1/mirrors: the live state of every mirror, for people and dashboards. Public:
// no contacts, no drain reasons, no admin data.

import type { FastifyInstance } from 'fastify'
import { mirrorIndex, type Coverage, type IndexState } from '../../core/coverage.js'
import type { CoverageRule, Mirror } from '../../core/types.js'
import type { PathClass } from '../../core/freshness.js'
import { familiesOf } from '../../core/table.js'
import type { Health } from '../../core/health.js'
import type { Config } from '../../config/schema.js'
import type { Fleet, MirrorStatus } from '../../live/fleet.js'
import type { TrafficShare } from '../traffic.js'
import type { LoadMeter } from '../../live/load.js'

export interface MirrorsDeps {
  /** Only what the reports read: this instance and the master's URL. */
  readonly config: { readonly instance: Config['instance'], readonly probes: Pick<Config['probes'], 'master'> }
  readonly fleet: Fleet
  readonly traffic: TrafficShare
  /** Load against sponsor budgets, when measured. */
  readonly load?: LoadMeter | null
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

function probeView (h: Health | null): object | null {
  if (h === null) return null
  return {
    state: h.state,
    latencyMs: h.latencyMs === null ? null : Math.round(h.latencyMs * 10) / 10,
    lastCheck: iso(h.lastCheck),
    lastSuccess: iso(h.lastSuccess),
    lastError: h.lastError === null ? null : { reason: h.lastError.reason, message: h.lastError.message, at: iso(h.lastError.at) }
  }
}

/** One word for a person: disabled, draining, down, stale, up, or unknown. */
export function overallState (s: MirrorStatus): string {
  if (!s.mirror.enabled) return 'disabled'
  if (s.drain !== null) return 'draining'
  const probes = [s.http, s.https].filter((h): h is Health => h !== null)
  if (probes.length > 0 && probes.every((h) => h.state === 'down')) return 'down'
  if (familiesOf(s.mirror).some((f) => s.serving[f].http.versioned?.code === 'stale' || s.serving[f].https.versioned?.code === 'stale')) return 'stale'
  if (probes.some((h) => h.state === 'up')) return 'up'
  return 'unknown'
}

/** Whether some client may get this class of file from the mirror now: over some family it claims (https only where offered). */
function serves (s: MirrorStatus, cls: PathClass): boolean {
  return s.mirror.enabled && familiesOf(s.mirror).some((f) => s.serving[f].http[cls] === null || (s.mirror.https !== null && s.serving[f].https[cls] === null))
}

/** Per family it claims: whether it passes every check for clients of that family (up over it, not drained, within the package bound). */
function familyView (s: MirrorStatus): Partial<Record<'ipv4' | 'ipv6', boolean>> {
  return Object.fromEntries(familiesOf(s.mirror).map((f) => [f === 4 ? 'ipv4' : 'ipv6', s.serving[f].http.versioned === null || s.serving[f].https.versioned === null]))
}

/** Every state a mirror's copy of an index can be in, in the order reports count them. */
export const INDEX_STATES: readonly IndexState[] = ['current', 'behind', 'unknown', 'missing', 'failing', 'unchecked']

/**
 * What the table declares a mirror carries. Core keeps only the compiled RegExps, so their
 * sources are shown (`syntax` says so, and will say 'glob' once the rule keeps its globs).
 */
function declaredView (rule: CoverageRule | null): { include: readonly string[], exclude: readonly string[] } | null {
  return rule === null ? null : rule.globs
}

/**
 * One mirror's copy of every followed index, by folder, with the states counted. A HEAD that
 * told which copy it has (or that it has none) is a measurement, and overrides the declaration.
 */
function coverageView (coverage: Coverage, folders: readonly string[], mirror: Mirror): object {
  const counts = Object.fromEntries(INDEX_STATES.map((st) => [st, 0])) as Record<IndexState, number>
  const states = folders.map((dir) => [dir, mirrorIndex(coverage, dir, mirror.id).state] as const)
  for (const [, st] of states) counts[st]++
  const measured = counts.current + counts.behind + counts.missing > 0
  return {
    basis: measured ? 'measured' : mirror.coverage !== null ? 'declared' : 'none',
    declared: declaredView(mirror.coverage),
    counts,
    indexes: Object.fromEntries(states)
  }
}

/** The master's followed indexes in three numbers: how many, the files their newest versions list, and the newest change. */
function indexesView (coverage: Coverage): object {
  let files = 0
  let newest: number | null = null
  for (const h of coverage.indexes.values()) {
    const v = h.versions[0]
    files += v?.count ?? 0
    if (v?.lastModified != null && (newest === null || v.lastModified > newest)) newest = v.lastModified
  }
  return { followed: coverage.indexes.size, files, lastModified: iso(newest) }
}

const round = (n: number, places: number): number => Math.round(n * 10 ** places) / 10 ** places

/** Bytes a second as megabits a second, the unit budgets are given in. */
const megabits = (bytesPerSecond: number): number => bytesPerSecond / 125_000

/** What this process sent a mirror lately, and that over this process's share of the mirror's budget. */
function loadView (mirror: Mirror, load: LoadMeter): object {
  const r = load.rates(mirror.id)
  return { requestsPerSecond: round(r.requestsPerSecond, 2), megabitsPerSecond: round(megabits(r.bytesPerSecond), 2), ratio: round(load.ratio(mirror), 3) }
}

/** A mirror's budget, for the whole service as the table gives it, and its load (null: not measured). Null: no budget. */
function budgetView (mirror: Mirror, load: LoadMeter | null): object | null {
  const budget = mirror.budget
  if (budget === null) return null
  return {
    requestsPerSecond: budget.requestsPerSecond,
    megabitsPerSecond: budget.bytesPerSecond === null ? null : round(megabits(budget.bytesPerSecond), 3),
    load: load === null ? null : loadView(mirror, load)
  }
}

export function mirrorsReport (deps: MirrorsDeps): object {
  const { fleet } = deps
  const shares = deps.traffic.shares()
  const coverage = fleet.coverage
  const folders = [...coverage.indexes.keys()].sort()
  return {
    instance: deps.config.instance,
    generatedAt: new Date().toISOString(),
    tableVersion: fleet.table.version,
    referenceSyncTime: iso(fleet.reference),
    master: deps.config.probes.master === null ? null : { url: deps.config.probes.master, ...probeView(fleet.master), syncTime: iso(fleet.master.syncTime) },
    failOpen: fleet.failOpen,
    indexes: indexesView(coverage),
    // Whether some enabled mirror has a budget, and the fraction of each budget this process enforces.
    capacity: { budgeted: fleet.table.budgeted, share: deps.load == null ? null : round(deps.load.share, 6) },
    mirrors: fleet.status().map((s) => ({
      id: s.mirror.id,
      name: s.mirror.name,
      sponsor: s.mirror.sponsor,
      tier: s.mirror.tier,
      country: s.mirror.country,
      continent: s.mirror.continent,
      enabled: s.mirror.enabled,
      state: overallState(s),
      http: s.mirror.http === null ? null : { url: s.mirror.http, ...probeView(s.http) },
      https: s.mirror.https === null ? null : { url: s.mirror.https, ...probeView(s.https) },
      syncTime: iso(s.syncTime),
      lagSeconds: s.lagMs === null ? null : Math.round(s.lagMs / 1000),
      draining: s.drain === null ? null : { until: iso(s.drain.until) },
      servesIndexes: serves(s, 'volatile'),
      servesPackages: serves(s, 'versioned'),
      servesFamilies: familyView(s),
      share: Math.round((shares.get(s.mirror.id) ?? 0) * 10000) / 10000,
      coverage: coverageView(coverage, folders, s.mirror),
      participation: s.mirror.participation,
      budget: budgetView(s.mirror, deps.load ?? null)
    }))
  }
}

export function registerMirrors (fastify: FastifyInstance, deps: MirrorsDeps): void {
  fastify.get('/api/v1/mirrors', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    return mirrorsReport(deps)
  })
}
