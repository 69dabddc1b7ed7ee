// The hot path: GET/HEAD under a served prefix -> 302 to the chosen mirror, with RFC 6249
// Link headers naming the alternatives. Runs on plain node:http, ahead of Fastify.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { PathClassifier } from '../core/freshness.js'
import { regionPlace } from '../core/regions.js'
import type { Decision, Redirector, Target } from '../redirector.js'
import type { Metrics } from '../metrics.js'
import type { TrafficShare } from './traffic.js'
import type { LoadMeter } from '../live/load.js'
import type { TrustedProxies } from './client-address.js'
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

export function createRedirectHandler (deps: RedirectDeps): RedirectHandler {
  const { redirector, proxies, metrics, fallback, linkCount, classifier, traffic, load, instanceId, instanceContinent, downloadName } = deps

  function noMirror (res: ServerResponse, suffix: string): void {
    if (fallback === null) {
      metrics.fallback('unavailable')
      metrics.request('redirect', 503)
      return sendError(res, 'MG_ERR_NO_MIRROR', RETRY)
    }
    metrics.fallback('fallback')
    metrics.request('redirect', 302)
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
    const client = proxies.resolve(req.socket.remoteAddress, h['x-forwarded-for'] as string | undefined, h['x-forwarded-proto'] as string | undefined, (req.socket as TLSSocket).encrypted === true)
    if (!client.ok) {
      metrics.request('redirect', 400)
      return sendError(res, client.code)
    }
    // If-Modified-Since is never answered with 304: apk sends its local download time, which
    // cannot tell which sync point it holds (README, "No 304 for indexes").
    const cls = classifier.classify(rest)
    const hint = pathHint ?? hostHint(h.host, downloadName)
    const pinned = hint === null ? null : regionPlace(hint)
    if (hint !== null && pinned === null) {
      metrics.request('redirect', 400)
      return sendError(res, 'MG_ERR_BAD_REGION_HINT')
    }
    const decision = redirector.route(client.ip, client.scheme, cls, rest, pinned === null ? null : { hint: hint as string, place: pinned })
    // Hinted requests chose their region themselves; only GeoDNS placements are measured, and
    // only by an instance that knows its own continent.
    if (pinned === null && instanceContinent !== null && decision.continent !== instanceContinent) metrics.offRegion(decision.continent)
    // rest and query were validated by parseTarget: only RFC 3986 characters remain.
    const suffix = query === '' ? rest : rest + '?' + query
    if (decision.targets.length === 0 || (decision.lastResort && fallback !== null)) return noMirror(res, suffix)
    sendRedirect(res, decision, suffix, rest)
  }
}
