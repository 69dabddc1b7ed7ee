// <prefix>MIRRORS.txt, answered by mirrorgate itself: one base URL per line (the format Alpine
// publishes at the root of dl-cdn), ranked for the requesting client. First every mirror the
// redirect could send it to (eligible, healthy, fresh), in the redirector's order; then the other
// enabled mirrors that would serve it (down, behind, drained, another IP family), nearest first.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { distanceKm } from '../core/geo.js'
import type { Ip } from '../core/ip.js'
import { baseOf, type ExclusionCode } from '../core/selection.js'
import { baseFor } from '../core/table.js'
import type { Scheme } from '../core/types.js'
import type { Metrics } from '../metrics.js'
import type { Explanation, PinnedRegion, Redirector } from '../redirector.js'

export const MIRROR_LIST = 'MIRRORS.txt'

/** Exclusions that are the mirror's own terms (or the operator's), not its state: never listed. */
const NOT_OFFERED: ReadonlySet<ExclusionCode> = new Set<ExclusionCode>(['disabled', 'scheme', 'only-countries', 'only-continents', 'excluded-country', 'participation'])

/** The base URLs, ranked for the explained client (volatile class, no path). */
export function rankedBases (explanation: Explanation): string[] {
  const { client, selection } = explanation
  const first = selection.ranked.map((r) => baseOf(r, client))
  const { latitude, longitude } = client.place
  const rest = selection.excluded
    .filter((e) => !NOT_OFFERED.has(e.code) && baseFor(e.site, client.scheme) !== null)
    .map((e) => ({ site: e.site, km: distanceKm(latitude, longitude, e.site.latitude, e.site.longitude) }))
    .sort((a, b) => a.km - b.km || (a.site.id < b.site.id ? -1 : 1))
    .map((e) => baseFor(e.site, client.scheme) as string)
  return [...new Set([...first, ...rest])]
}

export type MirrorListHandler = (req: IncomingMessage, res: ServerResponse, ip: Ip, scheme: Scheme, pinned: PinnedRegion | null) => void

export function createMirrorList (deps: { readonly redirector: Redirector, readonly metrics: Metrics }): MirrorListHandler {
  const { redirector, metrics } = deps
  return function mirrorList (req, res, ip, scheme, pinned) {
    // Indexes are what a client's mirror must have fresh: rank as for them, over every mirror.
    const bases = rankedBases(redirector.explain(ip, scheme, 'volatile', pinned))
    const body = bases.length === 0 ? '' : bases.join('\n') + '\n'
    metrics.request('mirror-list', 200)
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      // The order depends on the client: no shared cache may keep it.
      'Cache-Control': 'private, no-store'
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}
