// GET /api/v1/explain?ip=&path=&scheme=&region=: why this client goes to this mirror.

import type { FastifyInstance } from 'fastify'
import { formatIp, parseIp } from '../../core/ip.js'
import { parseTarget } from '../../core/request-path.js'
import type { Scheme } from '../../core/types.js'
import type { Config } from '../../config/schema.js'
import { MgError } from '../../errors.js'
import type { GeoIp } from '../../geoip/reader.js'
import type { PinnedRegion, Redirector } from '../../redirector.js'
import { regionPlace } from '../../core/regions.js'
import { baseOf } from '../../core/selection.js'
import type { PathClassifier } from '../../core/freshness.js'
import type { TrustedProxies } from '../client-address.js'

export const ATTRIBUTION = 'IP geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0, when the embedded database is used'

interface ExplainDeps {
  /** Only what explain reads: the prefixes it parses paths against, this instance, the fallback. */
  readonly config: Pick<Config, 'prefixes' | 'instance' | 'fallback'>
  readonly redirector: Redirector
  readonly geoip: GeoIp
  readonly proxies: TrustedProxies
  readonly classifier: PathClassifier
}

function param (q: Record<string, unknown>, name: string): string | undefined {
  const v = q[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw new MgError('MG_ERR_BAD_QUERY', `${name} must be given once`)
  return v
}

export function registerExplain (fastify: FastifyInstance, deps: ExplainDeps): void {
  const { config, redirector, proxies } = deps
  const round = (n: number): number => Math.round(n * 10) / 10

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
    const { client, selection, appliedClass } = redirector.explain(ip, scheme, cls, pinned)
    // As the redirect does: known-dead mirrors come after the fallback.
    const first = selection.standing === 'down' && config.fallback !== null ? undefined : selection.ranked[0]
    reply.header('Cache-Control', 'no-store')
    return {
      instance: config.instance,
      client: { ip: formatIp(ip), network: client.network, family: client.family, scheme, place: client.place },
      path: pathText,
      pathClass: cls,
      freshnessApplied: appliedClass,
      // fresh, behind (no mirror within the bound: the freshest serve), unprobed, or down (a last resort).
      standing: selection.standing,
      choice: first !== undefined
        ? { mirror: first.site.id, location: baseOf(first, client) + suffix, reason: selection.groupReason }
        : config.fallback !== null
          ? {
              mirror: null,
              location: config.fallback + suffix,
              reason: selection.ranked.length > 0 ? 'every mirror that could serve this client is down: the configured fallback first' : 'no eligible mirror: the configured fallback'
            }
          : { mirror: null, location: null, reason: 'no eligible mirror and no fallback: 503' },
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
  })
}
