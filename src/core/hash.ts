// Weighted rendezvous (highest random weight) hashing. Each (client network, mirror) pair
// gets a pseudo-random draw; the mirror with the highest weight-scaled draw wins. Removing a
// mirror moves only the clients it won, and wins are proportional to weight.

/** 32-bit FNV-1a over UTF-16 code units: cheap and stable across processes and versions. */
export function fnv1a32 (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Murmur3's finaliser: spreads every input bit over the output, so xor-combined seeds stay independent. */
function fmix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

/**
 * The rendezvous score of a mirror (seed, weight) for a client (hash). Uses the
 * exponential-race form w / -ln(u), whose argmax picks each mirror with probability
 * weight / total weight.
 */
export function rendezvousScore (clientHash: number, mirrorSeed: number, weight: number): number {
  const u = (fmix32(fmix32(clientHash ^ mirrorSeed) + mirrorSeed) + 0.5) / 4294967296
  return weight / -Math.log(u)
}
