// Each mirror's recent share of redirects, for the status API and page: counts over the
// current and the previous window, so the share reflects the last few minutes, not all time.

export class TrafficShare {
  readonly #windowMs: number
  readonly #now: () => number
  #current = new Map<string, number>()
  #previous = new Map<string, number>()
  #windowStart: number

  constructor (windowMs = 300_000, now: () => number = Date.now) {
    this.#windowMs = windowMs
    this.#now = now
    this.#windowStart = now()
  }

  count (id: string): void {
    this.#current.set(id, (this.#current.get(id) ?? 0) + 1)
  }

  #rotate (): void {
    const now = this.#now()
    if (now - this.#windowStart < this.#windowMs) return
    this.#previous = now - this.#windowStart < 2 * this.#windowMs ? this.#current : new Map()
    this.#current = new Map()
    this.#windowStart = now
  }

  /** Share per mirror id (0..1) over the last one to two windows. */
  shares (): Map<string, number> {
    this.#rotate()
    const sum = new Map(this.#previous)
    for (const [id, n] of this.#current) sum.set(id, (sum.get(id) ?? 0) + n)
    let total = 0
    for (const n of sum.values()) total += n
    const out = new Map<string, number>()
    for (const [id, n] of sum) out.set(id, n / total)
    return out
  }
}
