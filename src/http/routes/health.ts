// Liveness, readiness (listening, and the mirrors' state known) and the Prometheus exposition.

import type { FastifyInstance } from 'fastify'
import type { Fleet } from '../../live/fleet.js'
import type { Metrics } from '../../metrics.js'
/** What these routes read of the app (structurally the App of app.ts, which imports this file). */
export interface Lifecycle {
  /** False until start-up completes and again once shutdown begins. */
  readonly ready: boolean
  /** Where /metrics comes from. */
  metricsSource (): Promise<string>
}

export function registerHealth (fastify: FastifyInstance, app: Lifecycle, metrics: Metrics, fleet: Pick<Fleet, 'known'>): void {
  fastify.get('/healthz', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    return { status: 'ok' }
  })

  fastify.get('/readyz', async (request, reply) => {
    reply.header('Cache-Control', 'no-store')
    if (!app.ready) return reply.code(503).send({ status: 'not ready' })
    // Serving before the first probes answer would send clients to mirrors nobody checked.
    if (!fleet.known) return reply.code(503).send({ status: 'not ready', reason: 'waiting for the first probe round' })
    return { status: 'ready' }
  })

  fastify.get('/metrics', async (request, reply) => {
    reply.header('Content-Type', metrics.registry.contentType).header('Cache-Control', 'no-store')
    return app.metricsSource()
  })
}
