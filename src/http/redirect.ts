// The hot path: GET/HEAD under a served prefix -> 302 to the chosen mirror, with RFC 6249
// Link headers naming the alternatives. Runs on plain node:http, ahead of Fastify.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { PathClassifier } from '../core/freshness.js'
import type { Fleet } from '../fleet.js'
import type { Redirector } from '../redirector.js'
import type { Metrics } from '../metrics.js'
import type { TrafficShare } from '../traffic.js'
import type { TrustedProxies } from './client-address.js'
import { sendError } from './reply.js'

export interface RedirectDeps {
  readonly redirector: Redirector
  readonly proxies: TrustedProxies
  readonly metrics: Metrics
  readonly fallback: string | null
  readonly linkCount: number
  readonly classifier: PathClassifier
  readonly fleet: Fleet
  readonly traffic: TrafficShare
}

const ALLOW = { Allow: 'GET, HEAD' }
const RETRY = { 'Retry-After': '60' }

export type RedirectHandler = (req: IncomingMessage, res: ServerResponse, rest: string, query: string) => void

export function createRedirectHandler (deps: RedirectDeps): RedirectHandler {
  const { redirector, proxies, metrics, fallback, linkCount, classifier, fleet, traffic } = deps

  return function redirect (req, res, rest, query) {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      metrics.request('redirect', 405)
      return sendError(res, 'MG_ERR_METHOD_NOT_ALLOWED', ALLOW)
    }
    const h = req.headers
    const client = proxies.resolve(req.socket.remoteAddress, h['x-forwarded-for'] as string | undefined,
      h['x-forwarded-proto'] as string | undefined, (req.socket as TLSSocket).encrypted === true)
    if (!client.ok) {
      metrics.request('redirect', 400)
      return sendError(res, client.code)
    }
    const cls = classifier.classify(rest)
    // apk sends If-Modified-Since only to us, never to the mirror: answer it here. Nothing
    // is newer than the reference sync point, so an index at least that new is current.
    const ims = h['if-modified-since']
    if (ims !== undefined && cls === 'volatile') {
      const reference = fleet.reference
      const since = Date.parse(ims)
      if (reference !== null && Number.isFinite(since) && since >= Math.floor(reference / 1000) * 1000) {
        metrics.request('redirect', 304)
        res.writeHead(304, { 'Cache-Control': 'private, no-store', 'Last-Modified': new Date(reference).toUTCString() })
        return res.end()
      }
    }
    const decision = redirector.decide(client.ip, client.scheme, cls)
    // rest and query were validated by parseTarget: only RFC 3986 characters remain.
    const suffix = query === '' ? rest : rest + '?' + query
    const targets = decision.targets
    const first = targets[0]
    if (first === undefined) {
      if (fallback === null) {
        metrics.fallback('unavailable')
        metrics.request('redirect', 503)
        return sendError(res, 'MG_ERR_NO_MIRROR', RETRY)
      }
      metrics.fallback('fallback')
      metrics.request('redirect', 302)
      res.writeHead(302, { Location: fallback + suffix, 'Content-Length': '0', 'Cache-Control': 'private, no-store' })
      return res.end()
    }
    let link = ''
    const n = Math.min(targets.length, linkCount + 1)
    for (let i = 1; i < n; i++) {
      const t = targets[i] as typeof first
      link += (i === 1 ? '<' : ', <') + t.base + suffix + '>; rel=duplicate; pri=' + i + '; geo=' + t.geo
    }
    metrics.redirect(first.id, decision.continent)
    traffic.count(first.id)
    metrics.request('redirect', 302)
    const headers: Record<string, string> = {
      Location: first.base + suffix,
      'Content-Length': '0',
      'Cache-Control': 'private, no-store',
      'X-Mirrorgate-Mirror': first.id
    }
    if (link !== '') headers.Link = link
    res.writeHead(302, headers)
    res.end()
  }
}
