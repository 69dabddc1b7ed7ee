// The admin API: reload the table, drain and undrain mirrors, force probes. Every route
// needs `Authorization: Bearer <admin.token>`; with no token configured the API is off.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Control } from '../../live/control.js'
import { MgError } from '../../errors.js'
import type { Fleet } from '../../live/fleet.js'

export interface AdminDeps {
  readonly token: string | null
  /** Read only, to check mirror ids; every change goes through `control`. */
  readonly fleet: Fleet
  readonly control: Control
  readonly now?: () => number
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export function registerAdmin (fastify: FastifyInstance, deps: AdminDeps): void {
  const expected = deps.token === null ? null : digest(deps.token)
  const now = deps.now ?? Date.now

  function authorize (request: FastifyRequest): void {
    if (expected === null) throw new MgError('MG_ERR_ADMIN_DISABLED')
    const header = request.headers.authorization ?? ''
    const given = header.startsWith('Bearer ') ? header.slice(7) : ''
    // Compare fixed-length digests in constant time: neither content nor length leaks.
    if (!timingSafeEqual(digest(given), expected)) throw new MgError('MG_ERR_UNAUTHORIZED')
  }

  function mirrorId (request: FastifyRequest): string {
    const id = (request.params as { id: string }).id
    if (!deps.fleet.table.byId.has(id)) throw new MgError('MG_ERR_UNKNOWN_MIRROR', id.slice(0, 64))
    return id
  }

  fastify.register(async (admin) => {
    admin.addHook('onRequest', async (request, reply) => {
      reply.header('Cache-Control', 'no-store')
      try {
        authorize(request)
      } catch (err) {
        if ((err as MgError).code === 'MG_ERR_UNAUTHORIZED') reply.header('WWW-Authenticate', 'Bearer realm="mirrorgate-admin"')
        throw err
      }
    })

    admin.post('/reload', async (request, reply) => {
      const result = await deps.control.reload('admin API')
      if (!result.ok) throw result.error
      return { status: 'reloaded', version: result.version, mirrors: result.mirrors }
    })

    admin.post('/mirrors/:id/drain', async (request) => {
      const id = mirrorId(request)
      const body = (request.body ?? {}) as Record<string, unknown>
      if (typeof body !== 'object' || Array.isArray(body)) throw new MgError('MG_ERR_BAD_BODY', 'expected a JSON object')
      for (const key of Object.keys(body)) {
        if (key !== 'until' && key !== 'reason') throw new MgError('MG_ERR_BAD_BODY', `unknown field ${key.slice(0, 32)} (known: until, reason)`)
      }
      let until: number | null = null
      if (body.until !== undefined && body.until !== null) {
        until = typeof body.until === 'string' ? Date.parse(body.until) : NaN
        if (!Number.isFinite(until)) throw new MgError('MG_ERR_BAD_BODY', 'until must be an ISO 8601 date-time')
        if (until <= now()) throw new MgError('MG_ERR_BAD_BODY', 'until is in the past')
      }
      if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 200)) {
        throw new MgError('MG_ERR_BAD_BODY', 'reason must be a string of at most 200 characters')
      }
      const reason = typeof body.reason === 'string' && body.reason !== '' ? body.reason : 'maintenance'
      await deps.control.drain(id, until, reason)
      return { id, draining: true, until: until === null ? null : new Date(until).toISOString(), reason }
    })

    admin.delete('/mirrors/:id/drain', async (request) => {
      const id = mirrorId(request)
      return { id, draining: false, wasDraining: await deps.control.undrain(id) }
    })

    admin.post('/mirrors/:id/probe', async (request) => {
      const id = mirrorId(request)
      return { id, health: await deps.control.probeNow(id) }
    })

    admin.post('/probe', async () => {
      const all = await deps.control.probeNow()
      return { probed: all?.length ?? 0 }
    })
  }, { prefix: '/api/v1/admin' })
}
