// The admin API: reload the table, drain and undrain mirrors, list drains, force probes. Every
// route needs `Authorization: Bearer <admin.token>`; with no token configured the API is off.
// Drains are local (set here, kept in the state file when there is one) or declared in the
// table (on every instance reading it); the answers say which, and an undrain cannot lift the
// table's.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Control } from '../../live/control.js'
import { MgError } from '../../errors.js'
import type { Drain, Fleet } from '../../live/fleet.js'

export interface AdminDeps {
  readonly token: string | null
  /** Read only, to check mirror ids; every change goes through `control`. */
  readonly fleet: Fleet
  readonly control: Control
  readonly now?: () => number
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** One drain as the admin API shows it; `source`: 'table' (declared there) or 'local' (set here). */
export interface DrainView {
  readonly source: Drain['source']
  readonly until: string | null
  readonly reason: string
}

const view = (d: Drain): DrainView => ({ source: d.source, until: d.until === null ? null : new Date(d.until).toISOString(), reason: d.reason })

/** Said with a local change that a restart will not keep. */
function persistenceNote (persistent: boolean, persisted: boolean): { note?: string } {
  if (persisted) return {}
  return {
    note: persistent
      ? 'the state file could not be written (see the log): a restart may lose this change'
      : 'no probes.stateFile is configured: local drains last until this process restarts'
  }
}

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

    /** Every drain in force, the table's and the local ones (a mirror may have both). */
    admin.get('/drains', async () => ({
      persisted: deps.control.persistent,
      drains: deps.fleet.drainsInForce().map(([id, d]) => ({ id, ...view(d) }))
    }))

    const drainsOf = (id: string): DrainView[] => deps.fleet.drainsInForce().filter(([m]) => m === id).map(([, d]) => view(d))

    admin.get('/mirrors/:id/drain', async (request) => {
      const id = mirrorId(request)
      const drains = drainsOf(id)
      return { id, draining: drains.length > 0, drains }
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
      const { persisted } = await deps.control.drain(id, until, reason)
      return {
        id,
        draining: true,
        source: 'local',
        until: until === null ? null : new Date(until).toISOString(),
        reason,
        persisted,
        ...persistenceNote(deps.control.persistent, persisted),
        drains: drainsOf(id)
      }
    })

    admin.delete('/mirrors/:id/drain', async (request) => {
      const id = mirrorId(request)
      const { wasDraining, persisted } = await deps.control.undrain(id)
      return { id, draining: false, wasDraining, persisted, ...persistenceNote(deps.control.persistent, persisted) }
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
