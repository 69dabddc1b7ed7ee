// The hot path: GET/HEAD under a served prefix -> 302 to the chosen mirror, with RFC 6249
// Link headers naming the alternatives. Runs on plain node:http, ahead of Fastify. Two paths
// under the prefix are answered here instead: MIRRORS.txt, and Metalinks of release images.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { PathClass, PathClassifier } from '../core/freshness.js'
import type { Ip } from '../core/ip.js'
import { regionPlace } from '../core/regions.js'
import type { PathErrorCode } from '../core/request-path.js'
import type { Scheme } from '../core/types.js'
import type { Decision, Target } from '../decision.js'
import type { PinnedRegion, Redirector } from '../redirector.js'
import type { Metrics } from '../metrics.js'
import type { TrafficShare } from './traffic.js'
import type { LoadMeter } from '../live/load.js'
import type { ClientAddress, TrustedProxies } from './client-address.js'
import { BAD_REQUEST, type BadRequestCode, type DecisionLog, type DecisionReason } from './decision-log.js'
import { metalinkRequest, type MetalinkHandler } from './metalink.js'
import { MIRROR_LIST, type MirrorListHandler } from './mirror-list.js'
import { sendError } from './reply.js'

export interface RedirectDeps {
  readonly redirector: Redirector
  readonly proxies: TrustedProxies
  readonly metrics: Metrics
  readonly fallback: string | null
  readonly linkCount: number
  readonly classifier: PathClassifier
  readonly traffic: TrafficShare
  /** Load against sponsor budgets; counted only while the table has budgets. */
  readonly load: LoadMeter | null
  /** This instance's id, sent as X-Mirrorgate-Instance on every redirect. */
  readonly instanceId: string
  /** This instance's continent: clients from elsewhere are counted as misplaced by GeoDNS. */
  readonly instanceContinent: string | null
  /** The download name; a first label before it (eu.<name>) is a region hint. */
  readonly downloadName: string
  /** Where sampled decisions, fallbacks and 400s are logged; null: the decision log is off. */
  readonly decisions: DecisionLog | null
  /** <prefix>MIRRORS.txt. */
  readonly mirrorList: MirrorListHandler
  /** Metalinks of release images (<file>.meta4, or Accept: application/metalink4+xml). */
  readonly metalink: MetalinkHandler
}

const ALLOW = { Allow: 'GET, HEAD' }
const RETRY = { 'Retry-After': '60' }

export type RedirectHandler = (req: IncomingMessage, res: ServerResponse, rest: string, query: string, pathHint: string | null) => void

/** The region hint in a Host such as `eu.dl-cdn.example.org[:port]`, or null. */
export function hostHint (host: string | undefined, downloadName: string): string | null {
  if (host === undefined || host.length <= downloadName.length + 1) return null
  const colon = host.lastIndexOf(':')
  const name = (colon > host.lastIndexOf(']') && colon !== -1 ? host.slice(0, colon) : host).toLowerCase()
  const dot = name.indexOf('.')
  if (dot <= 0 || name.slice(dot + 1) !== downloadName) return null
  return name.slice(0, dot)
}

/** The request's client: the peer, or the address a trusted proxy forwarded, and the scheme it spoke. */
export function clientOf (req: IncomingMessage, proxies: TrustedProxies): ClientAddress {
  const h = req.headers
  return proxies.resolve(req.socket.remoteAddress, h['x-forwarded-for'] as string | undefined, h['x-forwarded-proto'] as string | undefined, (req.socket as TLSSocket).encrypted === true)
}

/** Logs a request the fast path refused with a 400; null when the decision log is off. */
export function createBadRequestLog (deps: Pick<RedirectDeps, 'redirector' | 'proxies' | 'decisions'>): ((req: IncomingMessage, code: PathErrorCode) => void) | null {
  const { redirector, proxies, decisions } = deps
  if (decisions === null) return null
  return (req, code) => {
    const client = clientOf(req, proxies)
    decisions.record({ client: client.ok ? redirector.client(client.ip, client.scheme) : null, cls: null, rest: null, mirror: null, status: 400, reason: BAD_REQUEST[code] })
  }
}

/** What decide() did not say of a decision: why its first target (or none) was chosen. */
function reasonOf (decision: Decision): DecisionReason {
  if (decision.targets.length === 0) return 'no-eligible'
  return decision.reason ?? (decision.lastResort ? 'all-down' : 'group')
}

export function createRedirectHandler (deps: RedirectDeps): RedirectHandler {
  const { redirector, proxies, metrics, fallback, linkCount, classifier, traffic, load, instanceId, instanceContinent, downloadName, decisions, mirrorList, metalink } = deps

  /** One decision log line for a redirect, a fallback or a 503. */
  function logDecision (log: DecisionLog, ip: Ip, scheme: Scheme, region: PinnedRegion | null, cls: PathClass, rest: string, decision: Decision): void {
    const toFallback = decision.targets.length === 0 || (decision.lastResort && fallback !== null)
    const mirror = !toFallback ? (decision.targets[0] as Target).id : fallback === null ? null : 'fallback'
    log.record({ client: redirector.client(ip, scheme, region), cls, rest, mirror, status: mirror === null ? 503 : 302, reason: reasonOf(decision) })
  }

  function badRequest (res: ServerResponse, ip: Ip | null, scheme: Scheme, code: BadRequestCode): void {
    metrics.request('redirect', 400)
    sendError(res, code)
    decisions?.record({ client: ip === null ? null : redirector.client(ip, scheme), cls: null, rest: null, mirror: null, status: 400, reason: BAD_REQUEST[code] })
  }

  function noMirror (res: ServerResponse, suffix: string, rest: string): void {
    if (fallback === null) {
      metrics.fallback('unavailable')
      metrics.request('redirect', 503)
      return sendError(res, 'MG_ERR_NO_MIRROR', RETRY)
    }
    metrics.fallback('fallback')
    metrics.request('redirect', 302)
    metrics.redirectPath(rest)
    res.writeHead(302, { Location: fallback + suffix, 'Content-Length': '0', 'Cache-Control': 'private, no-store', 'X-Mirrorgate-Instance': instanceId })
    res.end()
  }

  function sendRedirect (res: ServerResponse, decision: Decision, suffix: string, rest: string): void {
    const targets = decision.targets
    const first = targets[0] as Target
    let link = ''
    const n = Math.min(targets.length, linkCount + 1)
    for (let i = 1; i < n; i++) {
      const t = targets[i] as Target
      link += (i === 1 ? '<' : ', <') + t.base + suffix + '>; rel=duplicate; pri=' + i + '; geo=' + t.geo
    }
    metrics.redirect(first.id, decision.continent)
    metrics.request('redirect', 302)
    metrics.redirectPath(rest)
    traffic.count(first.id)
    if (load !== null && redirector.budgeted) load.record(first.id, rest)
    const headers: Record<string, string> = {
      Location: first.base + suffix,
      'Content-Length': '0',
      'Cache-Control': 'private, no-store',
      'X-Mirrorgate-Mirror': first.id,
      'X-Mirrorgate-Instance': instanceId
    }
    if (link !== '') headers.Link = link
    res.writeHead(302, headers)
    res.end()
  }

  return function redirect (req, res, rest, query, pathHint) {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      metrics.request('redirect', 405)
      return sendError(res, 'MG_ERR_METHOD_NOT_ALLOWED', ALLOW)
    }
    // Node's server has built req.headers before this runs (it checks Host and Expect), with
    // its rules for duplicates: the first Host and If-Modified-Since, X-Forwarded-* joined.
    const h = req.headers
    const client = clientOf(req, proxies)
    if (!client.ok) return badRequest(res, null, 'http', client.code)
    // If-Modified-Since is never answered with 304: apk sends its local download time, which
    // cannot tell which sync point it holds (README, "No 304 for indexes").
    const cls = classifier.classify(rest)
    const hint = pathHint ?? hostHint(h.host, downloadName)
    const pinned = hint === null ? null : regionPlace(hint)
    if (hint !== null && pinned === null) return badRequest(res, client.ip, client.scheme, 'MG_ERR_BAD_REGION_HINT')
    const region = pinned === null ? null : { hint: hint as string, place: pinned }
    if (rest === MIRROR_LIST) return mirrorList(req, res, client.ip, client.scheme, region)
    const asked = metalinkRequest(rest, h.accept)
    if (asked !== null) {
      void metalink(req, res, client.ip, client.scheme, region, asked, () => route(res, client.ip, client.scheme, cls, rest, query, region))
      return
    }
    route(res, client.ip, client.scheme, cls, rest, query, region)
  }

  function route (res: ServerResponse, ip: Ip, scheme: Scheme, cls: PathClass, rest: string, query: string, region: PinnedRegion | null): void {
    const decision = redirector.route(ip, scheme, cls, rest, region)
    // Hinted requests chose their region themselves; only GeoDNS placements are measured, and
    // only by an instance that knows its own continent.
    if (region === null && instanceContinent !== null && decision.continent !== instanceContinent) metrics.offRegion(decision.continent)
    // rest and query were validated by parseTarget: only RFC 3986 characters remain.
    const suffix = query === '' ? rest : rest + '?' + query
    if (decision.targets.length === 0 || (decision.lastResort && fallback !== null)) noMirror(res, suffix, rest)
    else sendRedirect(res, decision, suffix, rest)
    // Logged after the answer is on its way: every no-mirror outcome, and 1 in N of the rest.
    if (decisions !== null && (decision.lastResort || decision.targets.length === 0 || decisions.sampled())) logDecision(decisions, ip, scheme, region, cls, rest, decision)
  }
}
