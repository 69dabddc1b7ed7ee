// What this process has sent each mirror lately, against the mirror's budget: redirects and
// estimated bytes a second, each an exponentially decaying rate (one multiply and one exp per
// redirect, no timers). Bytes come from the size the master's index lists for the file
// (core/coverage.ts), else a configured mean for its kind of path. Each process enforces its
// share of a budget: the instance's `capacity.share`, divided among its cluster workers.

import { loadRatio } from '../core/capacity.js'
import { fileSize, pathFacts, type Coverage } from '../core/coverage.js'
import type { Mirror } from '../core/types.js'

export interface MeanBytes {
  readonly package: number
  readonly index: number
  readonly release: number
  readonly other: number
}

export interface LoadOptions {
  /** The fraction of every budget this process may use. */
  readonly share: number
  /** The rates' time constant: load older than a few of these no longer counts. */
  readonly windowMs: number
  readonly meanBytes: MeanBytes
  /** Where file sizes come from (the Fleet). */
  readonly coverage: () => Coverage
  readonly now?: () => number
}

/**
 * Redirects and bytes a second to one mirror, as exponentially decaying rates kept together:
 * both decay by the same factor, so one exp serves both.
 */
class Meter {
  requests = 0
  bytes = 0
  at = 0

  /** One redirect of `bytes` at `now`; rates are per second. */
  add (bytes: number, now: number, tauMs: number): void {
    const keep = this.decay(now, tauMs)
    this.requests = this.requests * keep + 1000 / tauMs
    this.bytes = this.bytes * keep + bytes * 1000 / tauMs
    if (now > this.at) this.at = now
  }

  /** How much of the last recorded rates remains at `now`. */
  decay (now: number, tauMs: number): number {
    return now <= this.at ? 1 : Math.exp((this.at - now) / tauMs)
  }
}

/** The kind of file a path names, for the mean size when the index does not say. */
export function pathKind (rest: string): keyof MeanBytes {
  if (rest.endsWith('.apk')) return 'package'
  if (rest.endsWith('/APKINDEX.tar.gz')) return 'index'
  if (rest.includes('releases/')) return 'release'
  return 'other'
}

export class LoadMeter {
  readonly #options: LoadOptions
  readonly #now: () => number
  readonly #meters = new Map<string, Meter>()

  constructor (options: LoadOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
  }

  get share (): number { return this.#options.share }

  /** The bytes a request for this path is estimated to cost its mirror. */
  bytesFor (rest: string): number {
    const coverage = this.#options.coverage()
    // Sizes come from followed indexes only: with none, skip hashing the path.
    const size = coverage.indexes.size === 0 ? null : fileSize(coverage, pathFacts(rest))
    return size ?? this.#options.meanBytes[pathKind(rest)]
  }

  /** One redirect to mirror `id` for the file `rest`. */
  record (id: string, rest: string): void {
    let m = this.#meters.get(id)
    if (m === undefined) this.#meters.set(id, m = new Meter())
    m.add(this.bytesFor(rest), this.#now(), this.#options.windowMs)
  }

  /** Redirects and bytes a second to one mirror, now. */
  rates (id: string): { requestsPerSecond: number, bytesPerSecond: number } {
    const m = this.#meters.get(id)
    if (m === undefined) return { requestsPerSecond: 0, bytesPerSecond: 0 }
    const keep = m.decay(this.#now(), this.#options.windowMs)
    return { requestsPerSecond: m.requests * keep, bytesPerSecond: m.bytes * keep }
  }

  /** A mirror's load over this process's share of its budget; 0 without a budget. */
  ratio (mirror: Mirror): number {
    if (mirror.budget === null) return 0
    const m = this.#meters.get(mirror.id)
    if (m === undefined) return 0
    const keep = m.decay(this.#now(), this.#options.windowMs)
    return loadRatio(mirror.budget, m.requests * keep, m.bytes * keep, this.#options.share)
  }
}
