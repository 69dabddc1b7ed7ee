// Metalink 4 (RFC 5854) documents for release images: the file's size and SHA-256 from its
// branch's latest-releases.yaml on the master, and a URL on each mirror ranked for the client,
// best first. Asked for as <file>.meta4, or with Accept: application/metalink4+xml (then a file
// mirrorgate cannot describe is redirected as usual; a .meta4 it cannot answer is a 404).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { PathClassifier } from '../core/freshness.js'
import type { Ip } from '../core/ip.js'
import { baseOf } from '../core/selection.js'
import type { Scheme } from '../core/types.js'
import type { ReleaseIndex } from '../indexes/releases.js'
import type { Metrics } from '../metrics.js'
import type { PinnedRegion, Redirector } from '../redirector.js'
import { isReleaseFolder } from './path-labels.js'
import { sendError } from './reply.js'

export const METALINK_TYPE = 'application/metalink4+xml'
const SUFFIX = '.meta4'
const RETRY = { 'Retry-After': '60' }

/** Whether an Accept header lists the Metalink 4 type with a q above 0. */
export function acceptsMetalink (accept: string): boolean {
  for (const range of accept.split(',')) {
    const params = range.split(';')
    if ((params[0] as string).trim().toLowerCase() !== METALINK_TYPE) continue
    const q = params.slice(1).map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='))
    if (q === undefined || Number(q.slice(2)) > 0) return true
  }
  return false
}

/**
 * What a request asks a Metalink of: the release file (path below the prefix), and whether it
 * asked by name (.meta4); null when it asks for none. Only paths under <branch>/releases/.
 */
export function metalinkRequest (rest: string, accept: string | undefined): { readonly file: string, readonly named: boolean } | null {
  const named = rest.endsWith(SUFFIX)
  if (!named && (accept === undefined || !accept.includes('metalink4') || !acceptsMetalink(accept))) return null
  const file = named ? rest.slice(0, -SUFFIX.length) : rest
  const slash = file.indexOf('/')
  return slash > 0 && file.startsWith('releases/', slash + 1) ? { file, named } : null
}

export interface MetalinkUrl { readonly url: string, readonly location: string | null }

export interface MetalinkFile {
  readonly name: string
  readonly size: number | null
  readonly sha256: string | null
  /** Best first: the first gets priority 1. */
  readonly urls: readonly MetalinkUrl[]
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Text safe in XML 1.0 content and attribute values: markup escaped, characters XML forbids replaced. */
export function xmlText (s: string): string {
  return s
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** The Metalink 4 document for one file. */
export function metalinkDocument (file: MetalinkFile): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<metalink xmlns="urn:ietf:params:xml:ns:metalink">',
    '  <generator>mirrorgate</generator>',
    `  <file name="${xmlText(file.name)}">`
  ]
  if (file.size !== null) lines.push(`    <size>${file.size}</size>`)
  if (file.sha256 !== null) lines.push(`    <hash type="sha-256">${xmlText(file.sha256)}</hash>`)
  file.urls.forEach((u, i) => {
    const location = u.location === null ? '' : ` location="${xmlText(u.location)}"`
    lines.push(`    <url${location} priority="${i + 1}">${xmlText(u.url)}</url>`)
  })
  lines.push('  </file>', '</metalink>', '')
  return lines.join('\n')
}

export interface MetalinkDeps {
  readonly redirector: Redirector
  /** The master's release listings; null without a master (then no Metalink). */
  readonly releases: ReleaseIndex | null
  readonly classifier: PathClassifier
  readonly fallback: string | null
  readonly metrics: Metrics
  /** A failure of ours (a bug): the client gets a 500, the log the error. */
  readonly onError?: (err: unknown) => void
}

export type MetalinkHandler = (req: IncomingMessage, res: ServerResponse, ip: Ip, scheme: Scheme, pinned: PinnedRegion | null,
  asked: { readonly file: string, readonly named: boolean }, otherwise: () => void) => Promise<void>

export function createMetalink (deps: MetalinkDeps): MetalinkHandler {
  const { redirector, releases, classifier, fallback, metrics, onError } = deps

  function fail (res: ServerResponse, code: 'MG_ERR_NO_METALINK' | 'MG_ERR_MASTER_UNAVAILABLE' | 'MG_ERR_NO_MIRROR' | 'MG_ERR_INTERNAL'): void {
    const retry = code === 'MG_ERR_MASTER_UNAVAILABLE' || code === 'MG_ERR_NO_MIRROR'
    metrics.request('metalink', code === 'MG_ERR_NO_METALINK' ? 404 : code === 'MG_ERR_INTERNAL' ? 500 : 503)
    sendError(res, code, retry ? RETRY : undefined)
  }

  /** The file's entry in its folder's listing; a string says why there is none. */
  async function entryOf (file: string): Promise<{ name: string, size: number | null, sha256: string | null } | 'MG_ERR_NO_METALINK' | 'MG_ERR_MASTER_UNAVAILABLE'> {
    const dir = file.slice(0, file.lastIndexOf('/') + 1)
    if (releases === null || !isReleaseFolder(dir)) return 'MG_ERR_NO_METALINK'
    let name: string
    try {
      name = decodeURIComponent(file.slice(dir.length))
    } catch {
      return 'MG_ERR_NO_METALINK' // an escape that is not UTF-8 names no file
    }
    const listing = await releases.list(dir)
    if (!listing.ok) return 'MG_ERR_MASTER_UNAVAILABLE'
    const listed = listing.files?.get(name)
    if (listed === undefined) return 'MG_ERR_NO_METALINK'
    return { name: listed.name, size: listed.size, sha256: listed.sha256 ?? null }
  }

  return async function metalink (req, res, ip, scheme, pinned, asked, otherwise) {
    try {
      const entry = await entryOf(asked.file)
      if (typeof entry === 'string') return asked.named ? fail(res, entry) : otherwise()
      // Every mirror that may serve this client the file, in the redirector's order; where what
      // mirrors hold is known, those known to lack it are left out.
      const { client, selection } = redirector.explain(ip, scheme, classifier.classify(asked.file), pinned, asked.file)
      const urls: MetalinkUrl[] = selection.ranked.map((r) => ({ url: baseOf(r, client) + asked.file, location: r.site.country.toLowerCase() }))
      if (fallback !== null) {
        const last = { url: fallback + asked.file, location: null }
        // As the redirect does: known-dead mirrors come after the fallback.
        if (selection.standing === 'down') urls.unshift(last)
        else urls.push(last)
      }
      if (urls.length === 0) return fail(res, 'MG_ERR_NO_MIRROR')
      const body = metalinkDocument({ ...entry, urls })
      metrics.request('metalink', 200)
      res.writeHead(200, {
        'Content-Type': METALINK_TYPE,
        'Content-Length': String(Buffer.byteLength(body)),
        // Ranked for this client: no shared cache may keep it.
        'Cache-Control': 'private, no-store',
        Vary: 'Accept'
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (err) {
      onError?.(err)
      if (!res.headersSent) fail(res, 'MG_ERR_INTERNAL')
    }
  }
}
