// A bounded cache from a client network's number (see networkId) to a shared value: a
// place, a decision. Keys sit in a Float64Array, so a lookup allocates nothing and the
// garbage collector traces one array of values instead of a Map entry and a boxed number
// per network (at 100,000 networks a Map-based LRU was most of the live heap's objects).
//
// Set-associative: a key may only live in the WAYS slots of its set; a new key replaces the
// least recently used of them. With twice as many slots as the capacity asked for, about
// 0.2% of a full cache's keys are pushed out early by a crowded set (measured in the test):
// nearly a full LRU, at a fixed cost per operation.

// Eight keys are 64 bytes: one cache line holds a whole set.
const WAYS = 8

export class NetworkCache<V> {
  /** Each slot's key plus one: a new Float64Array is zeroed, and 0 then means empty. */
  readonly #keys: Float64Array
  readonly #values: Array<V | undefined>
  /** When each slot was last read or written, by #clock. */
  readonly #used: Uint32Array
  readonly #setMask: number
  #clock = 0

  /** Sized for `capacity` entries: at least twice as many slots, in a power of two of sets. */
  constructor (capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`cache capacity must be a positive integer, not ${capacity}`)
    let sets = 1
    while (sets * WAYS < 2 * capacity) sets *= 2
    this.#setMask = sets - 1
    this.#keys = new Float64Array(sets * WAYS)
    this.#values = new Array<V | undefined>(sets * WAYS)
    this.#used = new Uint32Array(sets * WAYS)
  }

  /** How many entries it can hold at most. */
  get slots (): number { return this.#keys.length }

  /** `key`: a non-negative integer below 2^53 - 1. */
  get (key: number): V | undefined {
    const first = this.#setOf(key)
    const stored = key + 1
    for (let i = first; i < first + WAYS; i++) {
      if (this.#keys[i] === stored) {
        this.#used[i] = this.#tick()
        return this.#values[i]
      }
    }
    return undefined
  }

  set (key: number, value: V): void {
    const first = this.#setOf(key)
    const stored = key + 1
    let slot = first
    for (let i = first; i < first + WAYS; i++) {
      if (this.#keys[i] === stored) { slot = i; break }
      // An empty slot has used 0, so it is taken before any slot in use.
      if ((this.#used[i] as number) < (this.#used[slot] as number)) slot = i
    }
    this.#keys[slot] = stored
    this.#values[slot] = value
    this.#used[slot] = this.#tick()
  }

  clear (): void {
    this.#keys.fill(0)
    this.#values.fill(undefined)
    this.#used.fill(0)
    this.#clock = 0
  }

  /** Never 0, which marks a slot never used. Wrapping after 2^32 - 1 operations only blurs one eviction order. */
  #tick (): number {
    this.#clock = this.#clock === 0xffffffff ? 1 : this.#clock + 1
    return this.#clock
  }

  /** The first slot of the key's set. Mixes both halves, so neighbouring networks spread over sets. */
  #setOf (key: number): number {
    const low = key % 0x4000000 // 2^26
    const high = (key - low) / 0x4000000
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b)
    h ^= h >>> 15
    return (h & this.#setMask) * WAYS
  }
}
