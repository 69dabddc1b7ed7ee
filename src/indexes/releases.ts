// The release images a branch's latest-releases.yaml lists on the master, with their sizes and
// SHA-256 sums, for Metalink documents. Fetched when first asked for and kept `ttlMs`; an expired
// listing is renewed with a conditional GET, one fetch per folder at a time. When the master
// fails, the last listing stays in use, and the master is not asked again for FAILURE_BACKOFF_MS.

import { LRUCache } from 'lru-cache'
import { parseLatestReleases, type ListedFile } from './apkindex.js'
import { fetchFile } from './fetch-file.js'
import { RELEASES } from './master-indexes.js'

/** The listing of one folder: its files by name, or null when the master has no latest-releases.yaml there. */
export type ReleaseListing =
  | { readonly ok: true, readonly files: ReadonlyMap<string, ListedFile> | null }
  | { readonly ok: false, readonly reason: string }

interface Entry {
  /** undefined until the master has answered once. */
  files: ReadonlyMap<string, ListedFile> | null | undefined
  etag: string | null
  lastModified: string | null
  expires: number
  failedUntil: number
  reason: string
  fetching: Promise<void> | null
}

/** After a failed fetch, the master is left alone this long (the last listing, if any, serves). */
const FAILURE_BACKOFF_MS = 5_000
/** A real latest-releases.yaml is some 20 kB. */
const MAX_BYTES = 1024 * 1024

export interface ReleaseIndexOptions {
  readonly ttlMs: number
  readonly timeoutMs: number
  /** Folders kept; callers bound which folders they ask for (see isReleaseFolder), so this holds them all. */
  readonly maxFolders?: number
  readonly now?: () => number
}

export class ReleaseIndex {
  readonly #master: string
  readonly #ttlMs: number
  readonly #timeoutMs: number
  readonly #now: () => number
  readonly #entries: LRUCache<string, Entry>

  /** `master` is a base URL ending in '/' (probes.master). */
  constructor (master: string, opts: ReleaseIndexOptions) {
    this.#master = master
    this.#ttlMs = opts.ttlMs
    this.#timeoutMs = opts.timeoutMs
    this.#now = opts.now ?? Date.now
    this.#entries = new LRUCache({ max: opts.maxFolders ?? 2048 })
  }

  /** The files of `dir` (such as `v3.22/releases/x86_64/`), fetched or renewed when due. */
  async list (dir: string): Promise<ReleaseListing> {
    let entry = this.#entries.get(dir)
    if (entry === undefined) {
      entry = { files: undefined, etag: null, lastModified: null, expires: 0, failedUntil: 0, reason: '', fetching: null }
      this.#entries.set(dir, entry)
    }
    const now = this.#now()
    if (entry.expires <= now && entry.failedUntil <= now) {
      const e = entry
      e.fetching ??= this.#fetch(dir, e).finally(() => { e.fetching = null })
      await e.fetching
    }
    return entry.files === undefined ? { ok: false, reason: entry.reason } : { ok: true, files: entry.files }
  }

  async #fetch (dir: string, entry: Entry): Promise<void> {
    const headers: Record<string, string> = {}
    if (entry.files !== undefined && entry.files !== null) {
      if (entry.etag !== null) headers['if-none-match'] = entry.etag
      if (entry.lastModified !== null) headers['if-modified-since'] = entry.lastModified
    }
    const got = await fetchFile(this.#master + dir + RELEASES, { method: 'GET', headers, timeoutMs: this.#timeoutMs, maxBytes: MAX_BYTES })
    const fail = (reason: string): void => {
      entry.failedUntil = this.#now() + FAILURE_BACKOFF_MS
      entry.reason = reason
    }
    if (!got.ok) return fail(got.reason)
    if (got.status === 304 && entry.files !== undefined) {
      entry.expires = this.#now() + this.#ttlMs
      return
    }
    if (got.status === 404 || got.status === 410) {
      Object.assign(entry, { files: null, etag: null, lastModified: null, expires: this.#now() + this.#ttlMs })
      return
    }
    if (got.status !== 200) return fail(`HTTP ${got.status}`)
    let listed: ListedFile[]
    try {
      listed = parseLatestReleases(got.body.toString('utf8'))
    } catch (err) {
      return fail((err as Error).message)
    }
    entry.files = new Map(listed.map((f) => [f.name, f]))
    entry.etag = got.headers.get('etag')
    entry.lastModified = got.headers.get('last-modified')
    entry.expires = this.#now() + this.#ttlMs
  }
}
