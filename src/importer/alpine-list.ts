// Alpine's own mirror list (aports main/alpine-mirrors/mirrors.yaml: a list of {name, location,
// bandwidth, urls}), read and checked. A malformed entry is an ImportError naming its index;
// entries mirrorgate cannot use (dl-cdn itself, GeoDNS names, no http(s) URL) are kept aside
// with the reason, for the report.

import { parse as parseYaml } from 'yaml'
import { COUNTRIES } from '../core/countries.js'
import { ImportError } from './errors.js'

/** The name mirrorgate answers for: an entry for it would send clients back to us. */
export const FRONTED_NAME = 'dl-cdn.alpinelinux.org'

export interface AlpineEntry {
  /** Position in the list, from 0. */
  readonly index: number
  readonly name: string
  readonly location: string | null
  /** The entry's own `country:` code, uppercase, when it has one. */
  readonly country: string | null
  readonly bandwidth: string | number | null
  /** The host of the first http(s) URL: the mirror's identity and what is resolved. */
  readonly host: string
  /** http(s) base URLs ending in '/', https first, at most one of each scheme. */
  readonly urls: readonly string[]
  /** What was left out or is odd about the entry, for review. */
  readonly notes: readonly string[]
}

export interface Skipped { readonly index: number, readonly name: string, readonly reason: string }

export interface AlpineList {
  readonly entries: readonly AlpineEntry[]
  readonly skipped: readonly Skipped[]
  /** Things worth saying that change nothing (unknown fields). */
  readonly warnings: readonly string[]
}

/** Fields of Alpine's format; `contact` is read past, others are reported. */
const KNOWN = new Set(['name', 'location', 'bandwidth', 'urls', 'contact', 'country'])

function describe (v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return typeof v === 'string' ? `"${v}"` : `${typeof v} ${String(v)}`
}

/** An http(s) URL as a base: lowercase scheme and host, path ending in '/', nothing after it. */
function baseUrl (url: URL): string {
  const base = new URL(url.href)
  base.search = ''
  base.hash = ''
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return base.href
}

function entryOf (file: string, index: number, v: unknown, warnings: string[]): AlpineEntry | Skipped {
  const at = `${file}: entry [${index}]`
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ImportError(`${at}: expected a mapping (name, location, bandwidth, urls), got ${describe(v)}`)
  const e = v as Record<string, unknown>
  if (typeof e.name !== 'string' || e.name.trim() === '') throw new ImportError(`${at}: name: expected a non-empty string, got ${describe(e.name)}`)
  const name = e.name.trim()
  const where = `${at} ("${name}")`
  for (const k of Object.keys(e)) if (!KNOWN.has(k)) warnings.push(`${where}: unknown field "${k}" ignored`)
  if (!Array.isArray(e.urls) || e.urls.length === 0) throw new ImportError(`${where}: urls: expected a non-empty list of URLs, got ${describe(e.urls)}`)
  if (e.location !== undefined && typeof e.location !== 'string') throw new ImportError(`${where}: location: expected text, got ${describe(e.location)}`)
  if (e.bandwidth !== undefined && typeof e.bandwidth !== 'string' && typeof e.bandwidth !== 'number') {
    throw new ImportError(`${where}: bandwidth: expected text such as "1 Gbit/s", got ${describe(e.bandwidth)}`)
  }
  let country: string | null = null
  if (e.country !== undefined) {
    const code = typeof e.country === 'string' ? e.country.trim().toUpperCase() : ''
    if (!COUNTRIES.has(code)) throw new ImportError(`${where}: country: ${describe(e.country)} is not an ISO 3166-1 alpha-2 country code`)
    country = code
  }
  const urls: URL[] = e.urls.map((u, i) => {
    let url: URL | null = null
    try { url = typeof u === 'string' ? new URL(u.trim()) : null } catch {}
    if (url === null) throw new ImportError(`${where}: urls[${i}]: ${describe(u)} is not a URL`)
    return url
  })
  const location = typeof e.location === 'string' && e.location.trim() !== '' ? e.location.trim() : null
  if (urls.some((u) => u.hostname === FRONTED_NAME) || name.toLowerCase() === FRONTED_NAME) {
    return { index, name, reason: `${FRONTED_NAME} is the name mirrorgate answers for` }
  }
  if (location !== null && /\bgeo-?dns\b/i.test(location)) {
    return { index, name, reason: 'GeoDNS: its place depends on who asks; add it in the overrides file\'s extra entries to use it' }
  }
  const web = urls.filter((u) => u.protocol === 'http:' || u.protocol === 'https:')
  if (web.length === 0) return { index, name, reason: 'no http or https URL (apk follows only those)' }
  const notes: string[] = []
  const kept: URL[] = []
  for (const scheme of ['https:', 'http:']) {
    const same = web.filter((u) => u.protocol === scheme)
    if (same[0] !== undefined) kept.push(same[0])
    if (same.length > 1) notes.push(`more than one ${scheme.slice(0, -1)} URL; kept ${baseUrl(same[0] as URL)}`)
  }
  // An IPv6 literal's hostname keeps its brackets; the resolver wants the bare address.
  const host = (web[0] as URL).hostname.replace(/^\[(.*)\]$/, '$1')
  const hosts = [...new Set(kept.map((u) => u.hostname))]
  if (hosts.length > 1) notes.push(`URLs on different hosts (${hosts.join(', ')}); placed by ${host}`)
  return {
    index,
    name,
    location,
    country,
    bandwidth: e.bandwidth === undefined ? null : e.bandwidth as string | number,
    host,
    urls: kept.map(baseUrl),
    notes
  }
}

/** Reads the list's text; `file` names it in errors. */
export function parseAlpineList (text: string, file: string): AlpineList {
  let doc: unknown
  try {
    doc = parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    throw new ImportError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  if (!Array.isArray(doc)) throw new ImportError(`${file}: expected a list of mirrors (Alpine's mirrors.yaml), got ${describe(doc)}`)
  if (doc.length === 0) throw new ImportError(`${file}: the list of mirrors is empty`)
  const warnings: string[] = []
  const read = doc.map((v, i) => entryOf(file, i, v, warnings))
  return {
    entries: read.filter((r): r is AlpineEntry => 'urls' in r),
    skipped: read.filter((r): r is Skipped => 'reason' in r),
    warnings
  }
}
