// src/network-cache.ts: hits, overwrites, sizing, least-recently-used replacement
// within a set, and how much of a full cache of real network numbers stays retrievable.

import t from 'tap'
import { NetworkCache } from '../src/network-cache.js'
import { networkId, parseIp, type Ip } from '../src/core/ip.js'

const ip = (s: string): Ip => {
  const parsed = parseIp(s)
  if (parsed === null) throw new Error(`bad test address ${s}`)
  return parsed
}

t.test('a miss is undefined; a set key is found; setting it again replaces the value', async (t) => {
  const c = new NetworkCache<string>(16)
  t.equal(c.get(42), undefined)
  c.set(42, 'a')
  t.equal(c.get(42), 'a')
  c.set(42, 'b')
  t.equal(c.get(42), 'b')
  t.equal(c.get(43), undefined, 'a neighbour is another key')
  t.equal(c.get(0), undefined, 'an empty slot does not answer for network 0')
  c.set(0, 'zero')
  t.equal(c.get(0), 'zero', '0 is a key like any other')
})

t.test('keys that differ only in their high bits are different entries', async (t) => {
  const c = new NetworkCache<number>(64)
  const k = networkId(ip('2001:db8:1::1')) * 8 + 5 // a decision key: IPv6 network x kind, above 2^32
  const others = [k + 1, k + 2 ** 26, k + 2 ** 32, k + 2 ** 40, 0]
  c.set(k, 1)
  for (const o of others) t.equal(c.get(o), undefined, `${o} is not ${k}`)
  others.forEach((o, i) => c.set(o, i + 2))
  t.equal(c.get(k), 1)
  others.forEach((o, i) => t.equal(c.get(o), i + 2))
})

t.test('slots: at least twice the capacity, in eight-way sets of a power of two', async (t) => {
  t.equal(new NetworkCache(1).slots, 8)
  t.equal(new NetworkCache(4).slots, 8)
  t.equal(new NetworkCache(5).slots, 16)
  t.equal(new NetworkCache(100_000).slots, 262_144)
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
    t.throws(() => new NetworkCache(bad), RangeError, `capacity ${bad}`)
  }
})

t.test('a full set replaces its least recently used entry', async (t) => {
  const c = new NetworkCache<string>(1) // one set of eight
  const value = (k: number): string => `v${k}`
  for (let k = 1; k <= 8; k++) c.set(k, value(k))
  t.equal(c.get(1), 'v1') // 1 is now the most recently used, 2 the least
  c.set(9, 'v9')
  t.equal(c.get(2), undefined, 'the least recently used went')
  t.same([1, 3, 4, 5, 6, 7, 8, 9].map((k) => c.get(k)), [1, 3, 4, 5, 6, 7, 8, 9].map(value))
  // Those reads used 1, 3, ..., 9 in that order; a write counts as a use too, so 3 is now the oldest.
  c.set(1, 'v1b')
  c.set(10, 'v10')
  t.equal(c.get(3), undefined)
  t.same([1, 4, 10].map((k) => c.get(k)), ['v1b', 'v4', 'v10'])
})

t.test('clear empties every slot and the cache works again', async (t) => {
  const c = new NetworkCache<number>(100)
  for (let k = 0; k < 100; k++) c.set(k, k)
  c.clear()
  let found = 0
  for (let k = 0; k < 100; k++) if (c.get(k) !== undefined) found++
  t.equal(found, 0)
  c.set(7, 70)
  t.equal(c.get(7), 70)
})

t.test('filled to capacity with real network numbers, at least 99.5% stay retrievable', async (t) => {
  // Neighbouring /24s and /48s (what a busy region sends) and far-apart ones, in equal parts:
  // a weak set index would crowd the neighbours into few sets.
  const keys = new Set<number>()
  for (let i = 0; keys.size < 25_000; i++) keys.add(networkId(ip(`81.${(i >> 8) & 255}.${i & 255}.1`)))
  for (let i = 0; keys.size < 50_000; i++) keys.add(networkId(ip(`2a02:${(i >> 8).toString(16)}:${(i & 255).toString(16)}::1`)))
  let x = 12345
  while (keys.size < 100_000) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    keys.add(x % 2 === 0 ? x >>> 8 : networkId(ip(`2600:${(x >>> 16).toString(16)}:${(x & 0xffff).toString(16)}::1`)))
  }
  for (const scale of [1, 8]) { // 8: decision keys are network x 8 + kind
    const c = new NetworkCache<number>(100_000)
    for (const k of keys) c.set(k * scale, k)
    let kept = 0
    for (const k of keys) if (c.get(k * scale) === k) kept++
    t.ok(kept / keys.size >= 0.995, `keys x${scale}: ${kept} of ${keys.size} kept`)
  }
})
