// GET /api/v1/explain?ip=&path=&scheme=&region=: why this client goes to this mirror.

import type { FastifyInstance } from 'fastify'
import { formatIp, parseIp, type Ip } from '../../core/ip.js'
import { parseTarget } from '../../core/request-path.js'
import type { Client, Scheme } from '../../core/types.js'
import type { Config } from '../../config/schema.js'
import { MgError } from '../../errors.js'
import type { GeoIp } from '../../geoip/reader.js'
import type { BudgetFacts } from '../../budget-placement.js'
import type { Decision } from '../../decision.js'
import type { PinnedRegion, Redirector } from '../../redirector.js'
import { regionPlace } from '../../core/regions.js'
import { baseOf, type Selection } from '../../core/selection.js'
import type { PathClass, PathClassifier } from '../../core/freshness.js'
import { holding, type Holds, type IndexState, type PathFacts } from '../../core/coverage.js'
import { findFile, lists } from '../../core/file-set.js'
import type { Fleet } from '../../live/fleet.js'
import type { TrustedProxies } from '../client-address.js'

export const ATTRIBUTION = 'IP geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0, when the embedded database is used'

interface ExplainDeps {
  /** Only what explain reads: the prefixes it parses paths against, this instance, the fallback. */
  readonly config: Pick<Config, 'prefixes' | 'instance' | 'fallback'>
  readonly redirector: Redirector
  readonly geoip: GeoIp
  readonly proxies: TrustedProxies
  readonly classifier: PathClassifier
  /** What each mirror is known to hold, and its sync time: the answer's file section. */
  readonly fleet: Pick<Fleet, 'coverage' | 'snapshot'>
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())

/** One enabled mirror's holding of the requested file, as the answer shows it. */
interface MirrorHolding {
  readonly id: string
  readonly holds: Holds
  readonly basis: 'measured' | 'declared' | 'none'
  readonly index: { readonly state: IndexState, readonly versionsBehind: number | null, readonly checkedAt: string | null } | null
}

/** What is known of the requested file: the master's indexes, and each enabled mirror's holding. */
function fileSection (fleet: ExplainDeps['fleet'], facts: PathFacts, rest: string): {
  folder: string, name: string, isIndex: boolean, listedByMaster: boolean, inNewest: boolean, held: boolean, note: string | null, mirrors: MirrorHolding[]
} {
  const { coverage, snapshot } = fleet
  const history = coverage.indexes.get(facts.dir)
  const isIndex = history !== undefined && facts.name === history.name
  const file = history === undefined || isIndex ? -1 : findFile(history, facts.hash)
  const newest = history?.versions[0]
  const mirrors = snapshot.table.mirrors.filter((m) => m.enabled).map((m): MirrorHolding => {
    const h = holding(coverage, m, facts, rest, snapshot.byId.get(m.id)?.syncTime ?? null)
    const index = h.index === null ? null : { state: h.index.state, versionsBehind: h.index.version, checkedAt: iso(h.index.check?.at) }
    return { id: m.id, holds: h.holds, basis: h.basis, index }
  })
  // Counted over every enabled mirror, not only those this client may use: a file no mirror
  // holds is a different problem from a client whose mirrors do not.
  const held = mirrors.some((m) => m.holds === 'yes')
  return {
    folder: facts.dir,
    name: facts.name,
    isIndex,
    listedByMaster: isIndex || file >= 0,
    inNewest: isIndex || (newest !== undefined && lists(newest, file)),
    held,
    note: held ? null : 'no mirror is known to hold this file',
    mirrors
  }
}

type FileView = ReturnType<typeof fileSection>

/** Why route() put this mirror first, from what is known of its holding of the file. */
function mirrorReason (file: FileView, id: string, groupReason: string): string {
  const m = file.mirrors.find((x) => x.id === id)
  const order = 'the first mirror in this network\'s order'
  if (m === undefined) return groupReason
  if (file.isIndex) {
    if (m.holds !== 'yes') return `${order} not known to lack this index (its copy is not checked yet)`
    return m.index?.versionsBehind === 0
      ? `${order} whose copy of this index is the master's newest`
      : `${order} whose copy of this index is within the bound for indexes (${m.index?.versionsBehind ?? '?'} version(s) behind)`
  }
  if (m.holds === 'yes') return `${order} whose copy of the index lists this file`
  if (!file.listedByMaster) return `no kept version of the master's index lists this file: ${order} not known to lack its folder`
  return file.held
    ? `${order} not known to lack this file (mirrors known to hold it cannot serve this client)`
    : `no mirror is known to hold this file: ${order} not known to lack it`
}

interface Choice { readonly mirror: string | null, readonly location: string | null, readonly reason: string }

const ALL_DOWN = 'every mirror that could serve this client is down: the configured fallback first'
const ALL_FULL = 'every mirror that could serve this client is at its budget: the configured fallback first'

function fallbackChoice (fallback: string | null, suffix: string, reason: string): Choice {
  return fallback !== null ? { mirror: null, location: fallback + suffix, reason } : { mirror: null, location: null, reason: 'no eligible mirror and no fallback: 503' }
}

/** Where the redirect goes when nothing is known of the path's files: decide()'s choice. */
function plainChoice (selection: Selection, client: Client, fallback: string | null, suffix: string): Choice {
  // As the redirect does: known-dead mirrors come after the fallback.
  const first = selection.standing === 'down' && fallback !== null ? undefined : selection.ranked[0]
  if (first !== undefined) return { mirror: first.site.id, location: baseOf(first, client) + suffix, reason: selection.groupReason }
  return fallbackChoice(fallback, suffix, selection.ranked.length > 0 ? ALL_DOWN : 'no eligible mirror: the configured fallback')
}

/** Where the redirect goes under budgets when nothing is known of the path's files: route()'s choice, as redirect.ts reads it. */
function placedChoice (route: Decision, selection: Selection, budget: BudgetFacts, fallback: string | null, suffix: string): Choice {
  const top = route.targets[0]
  if (top === undefined) return fallbackChoice(fallback, suffix, 'no eligible mirror: the configured fallback')
  if (route.lastResort && fallback !== null) return fallbackChoice(fallback, suffix, selection.standing !== 'down' && budget.placed === null ? ALL_FULL : ALL_DOWN)
  return { mirror: top.id, location: top.base + suffix, reason: selection.groupReason }
}

/** Where the redirect goes when the path's folder is followed: route()'s choice, as redirect.ts reads it. */
function fileChoice (route: Decision, file: FileView, selection: Selection, budget: BudgetFacts | null, fallback: string | null, suffix: string): Choice {
  const top = route.targets[0]
  if (top === undefined) return fallbackChoice(fallback, suffix, 'no mirror may serve this file to this client: the configured fallback')
  const why = selection.standing === 'down'
    ? ALL_DOWN
    : budget?.placed === null
      ? ALL_FULL
      : 'the master\'s newest index lists this file and no mirror both live and fresh enough is known to hold it: the configured fallback, in step with the master, first'
  if (route.lastResort && fallback !== null) return fallbackChoice(fallback, suffix, why)
  const reason = mirrorReason(file, top.id, selection.groupReason)
  if (route.lastResort) return { mirror: top.id, location: top.base + suffix, reason: `a last resort, there being no fallback: ${reason}` }
  // Every candidate down, yet no fallback first: only older versions list the file, and the
  // fallback, in step with the master, has dropped it.
  if (selection.standing === 'down' && fallback !== null) {
    return { mirror: top.id, location: top.base + suffix, reason: `every mirror that could serve this client is down, and the fallback no longer has this file: ${reason}` }
  }
  return { mirror: top.id, location: top.base + suffix, reason }
}

const percentOf = (ratio: number): number => Math.round(ratio * 100)

/** Where budgets put this network, in a person's words; null when no full mirror was passed over. */
function budgetNote (budget: BudgetFacts): string | null {
  if (budget.placed === null) return 'every mirror that could serve this client is at its budget: the fallback'
  if (budget.passedOver.length === 0) return null
  const ratio = (id: string): number => budget.loads.find((l) => l.id === id)?.ratio ?? 0
  const full = budget.passedOver.map((id) => `${id} at ${percentOf(ratio(id))}% of its budget`).join(', ')
  return `${full}; overflow to ${budget.placed}`
}

function budgetView (budget: BudgetFacts): object {
  return {
    assigned: budget.assigned,
    placed: budget.placed,
    passedOver: budget.passedOver,
    loads: budget.loads.map((l) => ({ id: l.id, ratio: Math.round(l.ratio * 1000) / 1000, percent: percentOf(l.ratio) })),
    note: budgetNote(budget)
  }
}

/**
 * The choice's reason, saying so when budgets moved the network off the mirror it would have had:
 * full mirrors passed over, or the mirror it was given kept (placement is sticky: a network
 * returns only well below the budget, and its packages follow its index).
 */
function withBudget (choice: Choice, budget: BudgetFacts | null, cls: PathClass): Choice {
  const first = budget?.loads[0]?.id
  if (budget === null || choice.mirror === null || first === undefined || choice.mirror === first) return choice
  if (budget.passedOver.length > 0 && !budget.passedOver.includes(choice.mirror)) {
    return { ...choice, reason: `${choice.reason}; overflow: ${budget.passedOver.join(', ')} at ${budget.passedOver.length === 1 ? 'its' : 'their'} budget, passed over` }
  }
  if (budget.passedOver.length === 0 && choice.mirror === budget.assigned && budget.placed === budget.assigned) {
    const until = cls === 'versioned' ? 'where its index went: its packages follow it' : `until ${first}'s load falls well below its budget`
    return { ...choice, reason: `${choice.reason}; kept on ${choice.mirror}, the mirror this network was given, ${until}` }
  }
  return choice
}

function param (q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new MgError('MG_ERR_BAD_QUERY', `${name} must be given once`)
  return v
}

/** What the answer is built from: the route's deps but the trusted proxies (the caller resolves the client). */
export type ExplainModel = Omit<ExplainDeps, 'proxies'>

/** One explain request, the client already resolved: its address, its scheme, the path and any region hint. */
export interface ExplainQuery {
  readonly ip: Ip
  readonly scheme: Scheme
  /** The request path, with its prefix (and optional query). */
  readonly path: string
  readonly region?: string | undefined
}

const round = (n: number): number => Math.round(n * 10) / 10

/**
 * The explain answer for one query: what GET /api/v1/explain returns and `mirrorgate explain`
 * prints. Throws MG_ERR_BAD_QUERY or MG_ERR_BAD_REGION_HINT for a bad path or region.
 */
export function explainAnswer (deps: ExplainModel, query: ExplainQuery): object {
  const { config, redirector } = deps
  const { ip, scheme, path: pathText, region: regionText } = query
  const target = parseTarget(pathText, config.prefixes)
  if (!target.ok) throw new MgError('MG_ERR_BAD_QUERY', `path: ${target.code}`)
  if (target.prefix === null) throw new MgError('MG_ERR_BAD_QUERY', `path must start with one of ${config.prefixes.join(', ')}`)
  const suffix = target.query === '' ? target.rest : `${target.rest}?${target.query}`

  const hint = regionText ?? target.hint
  let pinned: PinnedRegion | null = null
  if (hint !== null) {
    const place = regionPlace(hint)
    if (place === null) throw new MgError('MG_ERR_BAD_REGION_HINT')
    pinned = { hint, place }
  }
  const cls = deps.classifier.classify(target.rest)
  const { client, selection, appliedClass, file, budget } = redirector.explain(ip, scheme, cls, pinned, target.rest)
  const fileView = file === null ? null : fileSection(deps.fleet, file.facts, target.rest)
  // Under budgets the redirect follows route()'s placement, not the selection's first.
  const choice = withBudget(file !== null && fileView !== null
    ? fileChoice(file.route, fileView, selection, budget, config.fallback, suffix)
    : budget !== null
      ? placedChoice(redirector.route(ip, scheme, cls, target.rest, pinned, false), selection, budget, config.fallback, suffix)
      : plainChoice(selection, client, config.fallback, suffix), budget, cls)
  return {
    instance: config.instance,
    client: { ip: formatIp(ip), network: client.network, family: client.family, scheme, place: client.place },
    path: pathText,
    pathClass: cls,
    freshnessApplied: appliedClass,
    // fresh, uncertain (none of those ranked is known to hold the file), behind (no mirror within
    // the bound: the freshest serve), unprobed, drained (only drained holders), or down (a last resort).
    standing: selection.standing,
    choice,
    // Only when the path's folder has a followed index: what is known of this very file.
    ...(fileView === null ? {} : { file: fileView }),
    // Only when some mirror has a budget: where budgets place this client's network, and why.
    ...(budget === null ? {} : { budget: budgetView(budget) }),
    ranked: selection.ranked.map((r, i) => ({
      rank: i + 1,
      id: r.site.id,
      name: r.site.name,
      tier: r.site.tier,
      country: r.site.country,
      distanceKm: round(r.distanceKm),
      weight: r.site.weight,
      inGroup: r.inGroup,
      sameCountry: r.sameCountry,
      sameAsn: r.sameAsn,
      url: baseOf(r, client) + suffix,
      reason: r.inGroup
        ? `in the chosen group; weighted rendezvous score ${r.score.toFixed(4)} for ${client.network}`
        : `alternative: ${r.sameCountry ? 'same country, ' : ''}${Math.round(r.distanceKm)} km away`
    })),
    excluded: selection.excluded.map((e) => ({ id: e.site.id, name: e.site.name, code: e.code, reason: e.reason })),
    databases: deps.geoip.databases.map((d) => ({ type: d.type, ipVersion: d.ipVersion, builtAt: d.builtAt })),
    attribution: ATTRIBUTION
  }
}

export function registerExplain (fastify: FastifyInstance, deps: ExplainDeps): void {
  const { config, proxies } = deps

  fastify.get('/api/v1/explain', async (request, reply) => {
    const q = request.query as Record<string, unknown>
    const ipText = param(q, 'ip')
    const pathText = param(q, 'path') ?? config.prefixes[0] as string
    const schemeText = param(q, 'scheme')
    const regionText = param(q, 'region')

    let ip
    let scheme: Scheme
    if (ipText === undefined) {
      const self = proxies.resolve(request.raw.socket.remoteAddress, request.headers['x-forwarded-for'] as string | undefined,
        request.headers['x-forwarded-proto'] as string | undefined, false)
      if (!self.ok) throw new MgError(self.code)
      ip = self.ip
      scheme = self.scheme
    } else {
      ip = parseIp(ipText)
      if (ip === null) throw new MgError('MG_ERR_BAD_QUERY', `ip "${ipText.slice(0, 64)}" is not an IPv4 or IPv6 address`)
      scheme = 'http'
    }
    if (schemeText !== undefined) {
      if (schemeText !== 'http' && schemeText !== 'https') throw new MgError('MG_ERR_BAD_QUERY', 'scheme must be http or https')
      scheme = schemeText
    }
    const answer = explainAnswer(deps, { ip, scheme, path: pathText, region: regionText })
    reply.header('Cache-Control', 'no-store')
    return answer
  })
}
