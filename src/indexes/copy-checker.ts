// Which copy of each index each mirror holds: a HEAD of the index on the mirror, compared (by
// Last-Modified and size, which rsync -a keeps) with the master's versions. Polite by
// construction: one request at a time per mirror, evenly spaced so that every followed index
// is checked once per `cycleMs` and never two closer than `minGapMs`; a mirror that fails is
// backed off. When a mirror's canary shows a new sync, its cycle starts again from the top
// (edge and the newest branches first), at the same pace. Runs where the probes run.
//
// A copy older than anything this process saw the master serve (it started after the master
// moved on) is fetched once from the first mirror found holding it, and kept as an older
// version: that is the only way to know the files of a mirror that lags.

import type { IndexesConfig } from '../config/schema.js'
import type { IndexCheck } from '../core/coverage.js'
import { addVersion, identityKey, type IndexHistory } from '../core/file-set.js'
import type { Mirror } from '../core/types.js'
import type { Fleet } from '../live/fleet.js'
import { fetchFile, lastModifiedOf, sizeOf } from './fetch-file.js'
import { byDemand, filesOf } from './master-indexes.js'

export interface CheckerHooks {
  onCheck?: (mirror: string, dir: string, check: IndexCheck) => void
  now?: () => number
  random?: () => number
}

/** The pace: how long between two checks of one mirror. */
export function checkGapMs (config: Pick<IndexesConfig, 'cycleMs' | 'minGapMs'>, indexes: number, failures = 0): number {
  const gap = Math.max(config.minGapMs, config.cycleMs / Math.max(1, indexes))
  // Backed off while failing: doubling, up to one whole cycle.
  return failures === 0 ? gap : Math.min(Math.max(gap, config.cycleMs), gap * 2 ** Math.min(failures, 16))
}

/** HEAD requests one mirror sees an hour from one instance: the followed indexes, once per cycle, at most one per gap. */
export function checksPerHour (config: Pick<IndexesConfig, 'cycleMs' | 'minGapMs'>, indexes: number): number {
  return indexes === 0 ? 0 : 3_600_000 / checkGapMs(config, indexes)
}

interface Loop {
  mirror: Mirror
  timer: NodeJS.Timeout | undefined
  /** Where in the index order the next check is. */
  next: number
  failures: number
  running: Promise<void> | null
  /** The Last-Modified header of each copy seen, for If-Modified-Since. */
  seen: Map<string, { header: string, key: string }>
}

export class CopyChecker {
  readonly #fleet: Fleet
  readonly #config: IndexesConfig
  readonly #timeoutMs: number
  readonly #hooks: CheckerHooks
  readonly #now: () => number
  readonly #random: () => number
  readonly #loops = new Map<string, Loop>()
  /** Older copies already fetched (or being fetched, or failed) by `${dir} ${key}`: each is fetched once. */
  readonly #learnt = new Set<string>()
  #stopped = false
  #unsubscribe: () => void = () => {}

  constructor (fleet: Fleet, config: IndexesConfig, timeoutMs: number, hooks: CheckerHooks = {}) {
    this.#fleet = fleet
    this.#config = config
    this.#timeoutMs = timeoutMs
    this.#hooks = hooks
    this.#now = hooks.now ?? Date.now
    this.#random = hooks.random ?? Math.random
  }

  start (): void {
    this.#unsubscribe = this.#fleet.subscribe((next, previous) => {
      if (next.table !== previous.table) this.#sync()
      // A mirror that synced: check its copies again, the busiest first.
      for (const s of next.mirrors) {
        const loop = this.#loops.get(s.mirror.id)
        if (loop !== undefined && s.syncTime !== null && s.syncTime !== previous.byId.get(s.mirror.id)?.syncTime) loop.next = 0
      }
    })
    this.#sync()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#unsubscribe()
    for (const loop of this.#loops.values()) clearTimeout(loop.timer)
    await Promise.allSettled([...this.#loops.values()].map((l) => l.running))
  }

  /** Checks every followed index of one mirror (or all) now, in order; for tests and the admin API. */
  async checkAll (id?: string): Promise<void> {
    const loops = [...this.#loops.values()].filter((l) => id === undefined || l.mirror.id === id)
    await Promise.all(loops.map(async (loop) => {
      for (const dir of this.#order()) {
        if (this.#stopped) return
        await this.#checkAlone(loop, dir)
      }
    }))
  }

  /**
   * Checks `dir` once no check of the mirror runs: one request at a time per mirror, whoever
   * asks (the timed loop, checkAll). Two callers waiting for the same check both wake when it
   * ends, and the first to go starts the next: the other waits again.
   */
  async #checkAlone (loop: Loop, dir: string): Promise<void> {
    while (loop.running !== null) await loop.running
    if (this.#stopped) return
    await this.#check(loop, dir)
  }

  /** The followed indexes by folder, in checking order. */
  #order (): string[] {
    return [...this.#fleet.coverage.indexes.values()].map((h) => h.path).sort(byDemand).map((p) => p.slice(0, p.lastIndexOf('/') + 1))
  }

  /** One loop per enabled mirror of the table in force. */
  #sync (): void {
    if (this.#stopped) return
    const table = this.#fleet.table
    for (const [id, loop] of this.#loops) {
      if (table.byId.get(id)?.enabled === true) continue
      clearTimeout(loop.timer)
      this.#loops.delete(id)
    }
    for (const mirror of table.mirrors) {
      const loop = this.#loops.get(mirror.id)
      if (loop !== undefined) {
        loop.mirror = mirror
        continue
      }
      if (!mirror.enabled) continue
      const fresh: Loop = { mirror, timer: undefined, next: 0, failures: 0, running: null, seen: new Map() }
      this.#loops.set(mirror.id, fresh)
      // Spread the mirrors' first checks over one gap.
      this.#arm(fresh, this.#random() * checkGapMs(this.#config, this.#order().length))
    }
  }

  #arm (loop: Loop, delayMs: number): void {
    clearTimeout(loop.timer)
    loop.timer = setTimeout(() => { void this.#tick(loop) }, delayMs).unref()
  }

  async #tick (loop: Loop): Promise<void> {
    if (this.#stopped || this.#loops.get(loop.mirror.id) !== loop) return
    const order = this.#order()
    if (order.length > 0) {
      if (loop.next >= order.length) loop.next = 0
      const dir = order[loop.next++] as string
      await this.#checkAlone(loop, dir)
    }
    if (!this.#stopped) this.#arm(loop, checkGapMs(this.#config, order.length, loop.failures))
  }

  #check (loop: Loop, dir: string): Promise<void> {
    const run = this.#head(loop, dir).finally(() => { if (loop.running === run) loop.running = null })
    loop.running = run
    return run
  }

  async #head (loop: Loop, dir: string): Promise<void> {
    const history = this.#fleet.coverage.indexes.get(dir)
    const base = loop.mirror.http ?? loop.mirror.https
    if (history === undefined || base === null) return
    const seen = loop.seen.get(dir)
    const at = this.#now()
    const got = await fetchFile(base + history.path, {
      method: 'HEAD',
      headers: seen === undefined ? {} : { 'if-modified-since': seen.header },
      timeoutMs: this.#timeoutMs,
      maxBytes: 0
    })
    const syncTime = this.#fleet.snapshot.byId.get(loop.mirror.id)?.syncTime ?? null
    let check: IndexCheck
    if (got.ok && got.status === 304 && seen !== undefined) check = { kind: 'copy', key: seen.key, at, syncTime }
    else if (got.ok && got.status === 200) {
      const key = identityKey({ lastModified: lastModifiedOf(got.headers), size: sizeOf(got.headers) })
      const header = got.headers.get('last-modified')
      if (header !== null) loop.seen.set(dir, { header, key })
      check = { kind: 'copy', key, at, syncTime }
    } else if (got.ok && (got.status === 404 || got.status === 410)) check = { kind: 'missing', at }
    else check = { kind: 'failing', at, detail: got.ok ? `HTTP ${got.status}` : got.reason }
    loop.failures = check.kind === 'failing' ? loop.failures + 1 : 0
    if (this.#stopped) return
    if (check.kind === 'copy' && got.ok && got.status === 200) await this.#learn(base, history, check.key, got.headers)
    this.#fleet.recordIndexCheck(loop.mirror.id, dir, check)
    this.#hooks.onCheck?.(loop.mirror.id, dir, check)
  }

  /** Fetches a copy older than every version known, once, and keeps it as an older version. */
  async #learn (base: string, history: IndexHistory, key: string, headers: Headers): Promise<void> {
    const lastModified = lastModifiedOf(headers)
    const newest = history.versions[0]
    const known = `${history.dir} ${key}`
    if (history.versions.some((v) => v.key === key) || this.#learnt.has(known)) return
    // Newer than the master's: the master's own fetch will bring it.
    if (lastModified === null || newest?.lastModified == null || lastModified >= newest.lastModified) return
    this.#learnt.add(known)
    const got = await fetchFile(base + history.path, { method: 'GET', timeoutMs: this.#timeoutMs, maxBytes: this.#config.maxIndexBytes })
    if (!got.ok || got.status !== 200 || identityKey({ lastModified: lastModifiedOf(got.headers), size: got.body.length }) !== key) return
    let files
    try {
      files = filesOf(history.path, got.body, this.#config.maxIndexBytes)
    } catch {
      return
    }
    const current = this.#fleet.coverage.indexes.get(history.dir)
    if (current === undefined || this.#stopped) return
    const next = addVersion(current, current.path, { lastModified, size: got.body.length, etag: got.headers.get('etag') }, files, this.#now(), this.#config.keepVersions)
    if (next !== current) this.#fleet.setIndex(next)
  }
}
