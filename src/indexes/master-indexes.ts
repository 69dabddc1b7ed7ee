// The master's index files: which ones exist (its directory listings, filtered by the
// configuration), and each one's content whenever it changes. A conditional GET of every index
// runs whenever the master's canary moves (a new sync point) and at least every
// `masterIntervalMs`; a new version goes into the fleet's coverage (core/file-set.ts keeps the
// last few). Only the process that probes (the primary) runs this.

import type { IndexesConfig } from '../config/schema.js'
import { compileGlob } from '../core/freshness.js'
import { addVersion, type IndexHistory, type Listed } from '../core/file-set.js'
import type { Fleet } from '../live/fleet.js'
import { parseApkIndex, parseLatestReleases } from './apkindex.js'
import { fetchFile, lastModifiedOf, sizeOf } from './fetch-file.js'

export const APKINDEX = 'APKINDEX.tar.gz'
export const RELEASES = 'latest-releases.yaml'

/** Folders of the master that hold branches: edge, latest-stable and v3.NN. */
const BRANCH = /^(?:edge|latest-stable|v\d+\.\d+)$/
/** A folder name in a listing: no slashes, dots only inside. */
const FOLDER = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/

export interface MasterHooks {
  now?: () => number
  onError?: (path: string, reason: string) => void
  onVersion?: (history: IndexHistory) => void
}

/** The folder names a directory listing (nginx, Apache or lighttpd autoindex) links to. */
export function listedFolders (html: string): string[] {
  const names = new Set<string>()
  for (const m of html.matchAll(/href="([^"?#]+)\/"/g)) {
    const name = decodeURIComponent(m[1] as string)
    if (FOLDER.test(name)) names.add(name)
  }
  return [...names]
}

/** Parses an index file's bytes into the files it lists, by its name. */
export function filesOf (path: string, body: Buffer, maxBytes: number): Listed[] {
  if (path.endsWith('/' + APKINDEX) || path === APKINDEX) return parseApkIndex(body, maxBytes * 8)
  if (path.endsWith('/' + RELEASES) || path === RELEASES) return parseLatestReleases(body.toString('utf8'))
  throw new Error(`not an index file mirrorgate reads (${APKINDEX} or ${RELEASES})`)
}

export class MasterIndexes {
  readonly #fleet: Fleet
  readonly #master: string
  readonly #config: IndexesConfig
  readonly #timeoutMs: number
  readonly #hooks: MasterHooks
  readonly #now: () => number
  readonly #include: RegExp[]
  readonly #exclude: RegExp[]
  /** The followed index paths, as last discovered (plus the configured ones). */
  #paths: string[] = []
  /** Validators for the conditional GET, by path. */
  readonly #validators = new Map<string, { etag: string | null, lastModified: string | null }>()
  #timers: NodeJS.Timeout[] = []
  #running: Promise<void> | null = null
  #again = false
  #stopped = false
  #unsubscribe: () => void = () => {}

  constructor (fleet: Fleet, master: string, config: IndexesConfig, timeoutMs: number, hooks: MasterHooks = {}) {
    this.#fleet = fleet
    this.#master = master
    this.#config = config
    this.#timeoutMs = timeoutMs
    this.#hooks = hooks
    this.#now = hooks.now ?? Date.now
    this.#include = config.include.map(compileGlob)
    this.#exclude = config.exclude.map(compileGlob)
  }

  /** The index paths followed now. */
  get paths (): readonly string[] { return this.#paths }

  /** Discovers, fetches every index, then keeps them current. Resolves when the first round is in. */
  async start (): Promise<void> {
    // A new sync point on the master: fetch what changed.
    this.#unsubscribe = this.#fleet.subscribe((next, previous) => {
      if (next.master.syncTime !== previous.master.syncTime && previous.master.syncTime !== null) void this.refresh()
    })
    await this.discover()
    await this.refresh()
    this.#timers = [
      setInterval(() => { void this.discover().then(() => this.refresh()) }, this.#config.discoverIntervalMs).unref(),
      setInterval(() => { void this.refresh() }, this.#config.masterIntervalMs).unref()
    ]
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#unsubscribe()
    for (const t of this.#timers) clearInterval(t)
    await this.#running
  }

  /** Lists the master's folders for branches, repositories and architectures. */
  async discover (): Promise<readonly string[]> {
    const found = new Set(this.#config.paths)
    let failed = false
    const list = async (folder: string): Promise<string[]> => {
      const names = await this.#list(folder)
      if (names === null) failed = true
      return names ?? []
    }
    if (this.#config.discover) {
      for (const branch of (await list('')).filter((b) => BRANCH.test(b))) {
        for (const repo of await list(`${branch}/`)) {
          const file = repo === 'releases' ? RELEASES : APKINDEX
          for (const arch of await list(`${branch}/${repo}/`)) found.add(`${branch}/${repo}/${arch}/${file}`)
        }
      }
    }
    // A listing that failed (the root, or one branch's) finds nothing below it: keep what was
    // known rather than forget it. An index really gone is dropped on its 404 meanwhile.
    if (failed) for (const p of this.#paths) found.add(p)
    const paths = [...found].filter((p) => this.#include.some((g) => g.test(p)) && !this.#exclude.some((g) => g.test(p)))
    const kept = new Set(paths.map(dirOf))
    for (const dir of this.#fleet.coverage.indexes.keys()) if (!kept.has(dir)) this.#fleet.dropIndex(dir)
    this.#paths = paths.sort(byDemand)
    return this.#paths
  }

  /** Fetches every followed index whose content changed; one run at a time, a call during a run runs again after it. */
  refresh (): Promise<void> {
    if (this.#running !== null) {
      this.#again = true
      return this.#running
    }
    this.#running = (async () => {
      do {
        this.#again = false
        for (const path of this.#paths) {
          if (this.#stopped) return
          await this.#fetch(path)
        }
      } while (this.#again && !this.#stopped)
    })().finally(() => { this.#running = null })
    return this.#running
  }

  /** The folders a listing links to; null when the listing failed. */
  async #list (folder: string): Promise<string[] | null> {
    const got = await fetchFile(this.#master + folder, { method: 'GET', timeoutMs: this.#timeoutMs, maxBytes: 4 * 1024 * 1024 })
    if (!got.ok || got.status !== 200) {
      this.#hooks.onError?.(folder === '' ? '/' : folder, got.ok ? `HTTP ${got.status}` : got.reason)
      return null
    }
    return listedFolders(got.body.toString('utf8'))
  }

  async #fetch (path: string): Promise<void> {
    // Conditional only while the coverage holds what those validators stand for: an index
    // dropped (no longer listed, say) and back unchanged must be fetched whole, not 304'd away.
    const known = this.#fleet.coverage.indexes.get(dirOf(path))?.path === path ? this.#validators.get(path) : undefined
    const conditional: Record<string, string> = {}
    if (known?.etag != null) conditional['if-none-match'] = known.etag
    if (known?.lastModified != null) conditional['if-modified-since'] = known.lastModified
    const got = await fetchFile(this.#master + path, { method: 'GET', headers: conditional, timeoutMs: this.#timeoutMs, maxBytes: this.#config.maxIndexBytes })
    if (!got.ok) return this.#hooks.onError?.(path, got.reason)
    if (got.status === 304) return
    if (got.status === 404 || got.status === 410) {
      // Gone from the master (an architecture dropped, say): its mirrors' copies no longer matter.
      this.#validators.delete(path)
      this.#fleet.dropIndex(dirOf(path))
      return
    }
    if (got.status !== 200) return this.#hooks.onError?.(path, `HTTP ${got.status}`)
    let files: Listed[]
    try {
      files = filesOf(path, got.body, this.#config.maxIndexBytes)
    } catch (err) {
      return this.#hooks.onError?.(path, (err as Error).message)
    }
    this.#validators.set(path, { etag: got.headers.get('etag'), lastModified: got.headers.get('last-modified') })
    const identity = { lastModified: lastModifiedOf(got.headers), size: sizeOf(got.headers) ?? got.body.length, etag: got.headers.get('etag') }
    const previous = this.#fleet.coverage.indexes.get(dirOf(path)) ?? null
    const history = addVersion(previous, path, identity, files, this.#now(), this.#config.keepVersions)
    if (history === previous) return
    this.#fleet.setIndex(history)
    this.#hooks.onVersion?.(history)
  }
}

export function dirOf (path: string): string {
  return path.slice(0, path.lastIndexOf('/') + 1)
}

/**
 * The order indexes are fetched and checked in: where clients are, first. edge and the newest
 * branches before older ones; within a branch, paths in order.
 */
export function byDemand (a: string, b: string): number {
  return branchRank(b) - branchRank(a) || (a < b ? -1 : a > b ? 1 : 0)
}

function branchRank (path: string): number {
  const branch = path.slice(0, path.indexOf('/'))
  if (branch === 'edge') return 1e6
  if (branch === 'latest-stable') return 1e6 - 1
  const m = /^v(\d+)\.(\d+)$/.exec(branch)
  return m === null ? 0 : Number(m[1]) * 1000 + Number(m[2])
}
