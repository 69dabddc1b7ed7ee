// Builds the service: Fastify for everything but the hot path, which a plain node:http
// front handles first (see createFront). Never calls listen(): main.ts and tests do.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { COUNTRIES } from '../core/countries.js'
import { parseTarget } from '../core/request-path.js'
import type { Config } from '../config/schema.js'
import { ERRORS, MgError, type ErrorCode } from '../errors.js'
import type { GeoIp } from '../geoip/reader.js'
import type { Metrics } from '../metrics.js'
import type { Redirector } from '../redirector.js'
import { PathClassifier } from '../core/freshness.js'
import type { Fleet } from '../live/fleet.js'
import type { Control } from '../live/control.js'
import { TrafficShare } from './traffic.js'
import { TrustedProxies } from './client-address.js'
import { createBadRequestLog, createRedirectHandler } from './redirect.js'
import { openDecisionLog } from './decision-log.js'
import { createMirrorList } from './mirror-list.js'
import { createMetalink } from './metalink.js'
import { ReleaseIndex } from '../indexes/releases.js'
import type { LoadMeter } from '../live/load.js'
import { errorBody, sendError } from './reply.js'
import { registerExplain } from './routes/explain.js'
import { registerHealth } from './routes/health.js'
import { registerAdmin } from './routes/admin.js'
import { registerMirrors } from './routes/mirrors.js'
import { registerStatusPage } from './routes/status-page.js'
import { registerDnsHealth } from './routes/dns-health.js'
import type { EndpointDirectory } from '../dns/endpoints.js'

export interface AppDeps {
  readonly config: Config
  readonly geoip: GeoIp
  readonly redirector: Redirector
  readonly metrics: Metrics
  readonly fleet: Fleet
  readonly directory: Pick<EndpointDirectory, 'endpoints' | 'get'>
  readonly control: Control
  /** Load against sponsor budgets (absent: budgets are not enforced, as in unit tests of the app). */
  readonly load?: LoadMeter
  /** The process's pino logger; none in tests. */
  readonly logger?: Logger
}

export interface App {
  readonly fastify: FastifyInstance
  /** False until start-up completes and again once shutdown begins; /readyz reports it. */
  ready: boolean
  /** Where /metrics comes from: this process's registry, or (in a cluster worker) the primary. */
  metricsSource: () => Promise<string>
}

/** Fastify's own client errors (body parsing) that have a catalogue code; other FST_ERR_* 4xx pass through. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MG_ERR_BAD_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MG_ERR_BAD_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MG_ERR_BAD_BODY',
  FST_ERR_CTP_BODY_TOO_LARGE: 'MG_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MG_ERR_UNSUPPORTED_MEDIA_TYPE'
}

/** The catalogue error for one of Fastify's errors, or null when it has none. */
export function fromFastify (error: unknown): MgError | null {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || !Object.hasOwn(FASTIFY_CODES, code)) return null
  const mg = FASTIFY_CODES[code] as ErrorCode
  // Why a body is bad is worth telling (Fastify says which); the other two say it all already.
  return new MgError(mg, mg === 'MG_ERR_BAD_BODY' ? (error as Error).message : undefined, { cause: error })
}

/** How long a branch's latest-releases.yaml from the master is used before a conditional GET renews it. */
const RELEASES_TTL_MS = 60_000

export function buildApp (deps: AppDeps): App {
  const { config, metrics } = deps
  const proxies = new TrustedProxies(config.trustedProxies)
  const classifier = new PathClassifier(config.freshness.versioned, config.freshness.volatile)
  const traffic = new TrafficShare()
  const redirector = deps.redirector
  let logErrors = 0
  const decisions = !config.decisionLog.enabled
    ? null
    : openDecisionLog(config.decisionLog, config.instance.id, {
      onLine: (outcome) => metrics.decisionLogLine(outcome),
      // A failing disk would say so on every write: the first few are enough.
      onError: (err) => { if (logErrors++ < 3) deps.logger?.error({ err, file: config.decisionLog.file ?? 'stdout' }, 'decision log write failed') }
    })
  const master = config.probes.master
  const releases = master === null ? null : new ReleaseIndex(master, { ttlMs: RELEASES_TTL_MS, timeoutMs: config.probes.timeoutMs })
  const redirect = createRedirectHandler({
    redirector, proxies, metrics, fallback: config.fallback, linkCount: config.linkCount,
    classifier, traffic, load: deps.load ?? null,
    instanceId: config.instance.id,
    instanceContinent: config.instance.country === null ? null : (COUNTRIES.get(config.instance.country)?.continent ?? null),
    downloadName: config.dns.name,
    decisions,
    mirrorList: createMirrorList({ redirector, metrics }),
    metalink: createMetalink({
      redirector, releases, classifier, fallback: config.fallback, metrics,
      onError: (err) => deps.logger?.error({ err }, 'metalink failed')
    })
  })
  const logBadRequest = createBadRequestLog({ redirector, proxies, decisions })
  const prefixes = config.prefixes

  // Every request passes parseTarget first: bad targets never reach a route or a header.
  const front = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer({ maxHeaderSize: 8192 }, (req, res) => {
      const target = parseTarget(req.url ?? '', prefixes)
      if (!target.ok) {
        metrics.request('invalid', 400)
        sendError(res, target.code)
        logBadRequest?.(req, target.code)
        return
      }
      if (target.prefix !== null) return redirect(req, res, target.rest, target.query, target.hint)
      handler(req, res)
    })

  const fastify: FastifyInstance = Fastify({
    // The process's own pino logger (typed as Fastify's base logger, which it is).
    ...(deps.logger === undefined ? { logger: false } : { loggerInstance: deps.logger as FastifyBaseLogger }),
    // No per-request log line: at tens of thousands of redirects a second it would be the bottleneck.
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: front,
    return503OnClosing: true
  })
  const app: App = { fastify, ready: false, metricsSource: async () => await metrics.registry.metrics() }
  // After the server has closed: the last lines are flushed before the process exits.
  if (decisions !== null) fastify.addHook('onClose', async () => { await decisions.close() })

  fastify.addHook('onResponse', async (request, reply) => {
    metrics.request(request.routeOptions.url ?? 'not-found', reply.statusCode)
  })
  fastify.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/json; charset=utf-8').send(errorBody('MG_ERR_NOT_FOUND'))
  })
  fastify.setErrorHandler((error, request, reply) => {
    const json = 'application/json; charset=utf-8'
    const known = error instanceof MgError ? error : fromFastify(error)
    if (known !== null) {
      if (known.status >= 500) request.log.error({ err: error }, 'request failed')
      return reply.code(known.status).type(json).send(errorBody(known.code, known.message))
    }
    const status = (error as { statusCode?: unknown }).statusCode
    const code = (error as { code?: unknown }).code
    if (typeof status === 'number' && status >= 400 && status < 500 && typeof code === 'string') {
      // Another client error of Fastify's own (FST_ERR_*): its code and message pass through.
      return reply.code(status).type(json).send(JSON.stringify({ error: code, message: (error as Error).message }))
    }
    // Anything else is ours to fix: logged in full, and the client learns nothing of it.
    request.log.error({ err: error }, 'request failed')
    reply.code(ERRORS.MG_ERR_INTERNAL.status).type(json).send(errorBody('MG_ERR_INTERNAL'))
  })

  registerHealth(fastify, app, metrics, deps.fleet)
  registerExplain(fastify, { config, redirector, geoip: deps.geoip, proxies, classifier, fleet: deps.fleet })
  registerMirrors(fastify, { config, fleet: deps.fleet, traffic, load: deps.load ?? null })
  registerStatusPage(fastify, { config, fleet: deps.fleet, traffic, load: deps.load ?? null })
  registerDnsHealth(fastify, { directory: deps.directory })
  registerAdmin(fastify, { token: config.admin.token, fleet: deps.fleet, control: deps.control })
  return app
}
