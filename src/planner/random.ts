// A small seeded generator (mulberry32): one seed gives one sample, one interleaving, one plan.

export interface Random {
  /** A float in [0, 1). */
  float (): number
  /** An integer in [0, n). */
  int (n: number): number
}

export function seeded (seed: number): Random {
  let a = seed >>> 0
  const float = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { float, int: (n) => Math.floor(float() * n) }
}

/** Picks an index with probability proportional to its weight: a binary search over running totals. */
export function picker (weights: readonly number[], random: Random): () => number {
  const totals = new Float64Array(weights.length)
  let total = 0
  weights.forEach((w, i) => { total += w; totals[i] = total })
  return () => {
    const r = random.float() * total
    let lo = 0
    let hi = totals.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((totals[mid] as number) > r) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}
