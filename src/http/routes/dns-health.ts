// Health of the DNS endpoints for whatever else hands them out: a PowerDNS LUA record
// (ifurlextup polls one URL per address, 200 = up), a CDN or load balancer health check,
// or a person. Public, like /api/v1/mirrors: no admin data (drain reasons stay private).
//   GET /api/v1/dns/endpoints             every endpoint: id, kind, country, healthy, addresses
//   GET /api/v1/dns/health/:id            200 {"id","healthy":true} | 503 {"id","healthy":false,"reason"}
//   GET /api/v1/dns/health/:id/:address   the same, for one of the endpoint's addresses
// Unknown ids answer 404 MG_ERR_UNKNOWN_MIRROR, unknown addresses 404 MG_ERR_NOT_FOUND.
// Nothing is cached on the way: every answer is Cache-Control: no-store.

import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Endpoint } from '../../dns/endpoints.js'
import { ERRORS, type ErrorCode } from '../../errors.js'
import { errorBody } from '../reply.js'

export interface DnsHealthDeps {
  readonly directory: { readonly endpoints: readonly Endpoint[], get (id: string): Endpoint | undefined }
}

const MAX_REASON = 200

/**
 * The reason as the public may see it: bounded in length. Endpoint reasons never carry an
 * operator's note (a drain's verdict says only "drained until <date>"), so nothing is cut out.
 */
export function publicReason (reason: string | null): string {
  if (reason === null) return 'unhealthy'
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason
}

/** The endpoint's health; for one of its addresses, over that address's IP family. */
function health (reply: FastifyReply, e: Endpoint, address?: string): object {
  const family = address === undefined ? null : e.ipv6.includes(address) ? 6 : 4
  if (family === null ? e.healthy : e.families[family]) return { id: e.id, healthy: true }
  reply.code(503)
  const reason = family !== null && e.healthy ? `IPv${family} failing while the other family serves` : publicReason(e.reason)
  return { id: e.id, healthy: false, reason }
}

export function registerDnsHealth (fastify: FastifyInstance, deps: DnsHealthDeps): void {
  const { directory } = deps

  fastify.get('/api/v1/dns/endpoints', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    return {
      endpoints: directory.endpoints.map((e) => ({
        id: e.id, kind: e.kind, country: e.country, healthy: e.healthy, addresses: [...e.ipv4, ...e.ipv6]
      }))
    }
  })

  fastify.get<{ Params: { id: string } }>('/api/v1/dns/health/:id', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    const e = directory.get(request.params.id)
    if (e === undefined) return unknownEndpoint(reply, request.params.id)
    return health(reply, e)
  })

  fastify.get<{ Params: { id: string, address: string } }>('/api/v1/dns/health/:id/:address', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    const { id, address } = request.params
    const e = directory.get(id)
    if (e === undefined) return unknownEndpoint(reply, id)
    if (!e.ipv4.includes(address) && !e.ipv6.includes(address)) {
      return replyError(reply, 'MG_ERR_NOT_FOUND', `Endpoint ${e.id} has no address ${address.slice(0, 64)}`)
    }
    return health(reply, e, address)
  })
}

/** A catalogue error: its status and the common body, with a message naming what was not found. */
const replyError = (reply: FastifyReply, code: ErrorCode, message: string): FastifyReply =>
  reply.code(ERRORS[code].status).type('application/json; charset=utf-8').send(errorBody(code, message))

const unknownEndpoint = (reply: FastifyReply, id: string): FastifyReply =>
  replyError(reply, 'MG_ERR_UNKNOWN_MIRROR', `No DNS endpoint with id ${JSON.stringify(id.slice(0, 64))}`)
