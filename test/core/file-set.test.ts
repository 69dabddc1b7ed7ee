// src/core/file-set.ts: the master's index histories as compact file sets. The hash is checked
// for spread over realistic names, addVersion for what each version lists after the union is
// rebuilt, and the whole index set Alpine serves for the memory it takes.

import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  addVersion, fileHash, findFile, historyBytes, identityKey, lists, versionIndex,
  type IndexHistory, type IndexVersion, type Listed
} from '../../src/core/file-set.js'
import { packageFile, realisticIndexSet, syntheticPackages, type PackageSpec } from '../helpers/apkindex.js'

const PATH = 'v3.22/main/x86_64/APKINDEX.tar.gz'
const HOUR = 3_600_000
const T0 = Date.UTC(2025, 5, 1, 12)

const id = (lastModified: number | null, size: number | null = 1_000_000) => ({ lastModified, size, etag: null })
const listing = (...names: string[]): Listed[] => names.map((name, i) => ({ name, size: 1000 * (i + 1) }))

/** Whether each version (newest first) lists `name`: the membership matrix, by name. */
const membership = (h: IndexHistory, name: string): boolean[] => h.versions.map((v) => lists(v, findFile(h, fileHash(name))))

const sizeOf = (h: IndexHistory, name: string): number | undefined => h.sizes[findFile(h, fileHash(name))]

// ---------- fileHash ----------

t.test('fileHash: the same name always gives the same safe integer below 2^53', async (t) => {
  const name = 'py3-cryptography-44.0.3-r0.apk'
  const h = fileHash(name)
  t.equal(fileHash(name), h)
  t.equal(fileHash(['py3-cryptography', '44.0.3-r0.apk'].join('-')), h, 'a name built another way')
  t.ok(Number.isSafeInteger(h) && h >= 0 && h < 2 ** 53, `${h} is an integer in [0, 2^53)`)
  t.not(fileHash('py3-cryptography-44.0.3-r1.apk'), h, 'one character more in the release')
  t.not(fileHash(''), fileHash('a'))
})

t.test('fileHash: no collision over 200,000 realistic package file names', async (t) => {
  const names = syntheticPackages(200_000, 'file-hash').map(packageFile)
  t.equal(new Set(names).size, names.length, 'the names are distinct')
  const hashes = new Set<number>()
  const low = new Set<number>()
  const high = new Set<number>()
  let bad = 0
  for (const name of names) {
    const h = fileHash(name)
    if (!Number.isSafeInteger(h) || h < 0) bad++
    hashes.add(h)
    low.add(h % 2 ** 32)
    high.add(Math.floor(h / 2 ** 32))
  }
  t.equal(bad, 0, 'every hash is a non-negative safe integer')
  t.equal(hashes.size, names.length, 'no two names share a hash')
  // Each half spreads on its own, as a random value of its width would: a weak half makes the
  // 53 bits worth less than they say.
  const n = names.length
  const lowCollisions = n - low.size
  t.ok(lowCollisions < 30, `low 32 bits: ${lowCollisions} collisions (random: about ${(n * n / 2 / 2 ** 32).toFixed(1)})`)
  const expected = 2 ** 21 * (1 - Math.exp(-n / 2 ** 21))
  t.ok(Math.abs(high.size - expected) < expected * 0.01, `high 21 bits: ${high.size} distinct values (random: about ${Math.round(expected)})`)
})

t.test('fileHash: names that differ only in version or release do not collide', async (t) => {
  const names: string[] = []
  for (let p = 0; p < 400; p++) {
    for (let v = 0; v < 50; v++) {
      for (let r = 0; r < 10; r++) names.push(`py3-pkg${p}-1.${v}.0-r${r}.apk`)
    }
  }
  t.equal(new Set(names.map(fileHash)).size, names.length, `${names.length} near names, as many hashes`)
})

// ---------- identityKey ----------

t.test('identityKey: Last-Modified and size, ? for what a HEAD did not say', async (t) => {
  t.equal(identityKey({ lastModified: 1_748_600_000_000, size: 912_345 }), '1748600000000/912345')
  t.equal(identityKey({ lastModified: null, size: 912_345 }), '?/912345')
  t.equal(identityKey({ lastModified: 1_748_600_000_000, size: null }), '1748600000000/?')
  t.equal(identityKey({ lastModified: null, size: null }), '?/?')
  t.not(identityKey({ lastModified: 1, size: 23 }), identityKey({ lastModified: 12, size: 3 }), 'the separator keeps fields apart')
})

// ---------- addVersion ----------

t.test('addVersion: the first version lists exactly its files, with their sizes', async (t) => {
  const files: Listed[] = [
    { name: 'busybox-1.37.0-r18.apk', size: 512_000 },
    { name: 'musl-1.2.5-r10.apk', size: 410_000 },
    { name: 'zlib-1.3.1-r2.apk', size: 53_000 },
    { name: 'apk-tools-2.14.9-r2.apk', size: null },
    { name: 'alpine-baselayout-3.7.0-r0.apk', size: 8_200 }
  ]
  const h = addVersion(null, PATH, { lastModified: T0, size: 912_345, etag: '"abc"' }, files, T0 + 5000)
  t.equal(h.path, PATH)
  t.equal(h.dir, 'v3.22/main/x86_64/')
  t.equal(h.name, 'APKINDEX.tar.gz')
  t.equal(h.versions.length, 1)
  const v = h.versions[0] as IndexVersion
  t.match(v, { key: `${T0}/912345`, lastModified: T0, size: 912_345, etag: '"abc"', seenAt: T0 + 5000, count: 5 })
  t.equal(h.files.length, 5)
  t.same([...h.files], [...h.files].sort((a, b) => a - b), 'hashes sorted ascending')
  for (const f of files) {
    const at = findFile(h, fileHash(f.name))
    t.ok(at >= 0 && lists(v, at), `lists ${f.name}`)
    t.equal(h.sizes[at], f.size ?? 0, `size of ${f.name}`)
  }
  t.equal(findFile(h, fileHash('busybox-1.37.0-r17.apk')), -1, 'another version of a listed package is not found')
  t.equal(lists(v, -1), false, 'a file not found is not listed')
  t.equal(historyBytes(h), 5 * 8 + 5 * 8 + 1)
})

t.test('addVersion: the same identity gives back the same history', async (t) => {
  const h1 = addVersion(null, PATH, id(T0), listing('a-1-r0.apk', 'b-1-r0.apk'), T0)
  t.equal(addVersion(h1, PATH, id(T0), listing('c-1-r0.apk'), T0 + HOUR), h1, 'the newest again, whatever it lists')
  const h2 = addVersion(h1, PATH, id(T0 + HOUR), listing('a-1-r0.apk', 'c-1-r0.apk'), T0 + HOUR)
  t.not(h2, h1)
  t.equal(addVersion(h2, PATH, id(T0), listing('z-1-r0.apk'), T0 + 2 * HOUR), h2, 'an older version already kept')
  t.not(addVersion(h2, PATH, id(T0 + HOUR, 999), listing('a-1-r0.apk'), T0 + HOUR), h2, 'same Last-Modified, another size: another copy')
})

// Three sync points of one index: a package added at each, one dropped at each.
const V1 = listing('busybox-1.36.1-r0.apk', 'musl-1.2.5-r0.apk', 'curl-8.9.0-r0.apk')
const V2 = listing('busybox-1.36.1-r0.apk', 'musl-1.2.5-r1.apk', 'curl-8.9.0-r0.apk', 'zlib-1.3.1-r0.apk')
const V3 = listing('busybox-1.37.0-r0.apk', 'musl-1.2.5-r1.apk', 'zlib-1.3.1-r0.apk', 'xz-5.6.3-r0.apk')
const ALL_NAMES = [...new Set([...V1, ...V2, ...V3].map((f) => f.name))]

function threeVersions (keep?: number): IndexHistory {
  const h1 = addVersion(null, PATH, id(T0, 100), V1, T0, keep)
  const h2 = addVersion(h1, PATH, id(T0 + HOUR, 200), V2, T0 + HOUR, keep)
  return addVersion(h2, PATH, id(T0 + 2 * HOUR, 300), V3, T0 + 2 * HOUR, keep)
}

t.test('addVersion: a new version goes on top, older ones keep what they listed', async (t) => {
  const h = threeVersions()
  t.same(h.versions.map((v) => v.lastModified), [T0 + 2 * HOUR, T0 + HOUR, T0], 'newest first')
  t.same(h.versions.map((v) => v.count), [4, 4, 3])
  t.equal(h.files.length, ALL_NAMES.length, 'the union of the three')
  t.same([...h.files], [...h.files].sort((a, b) => a - b), 'still sorted after two rebuilds')
  // The union grew twice, so positions moved: each version must still list the same names.
  for (const name of ALL_NAMES) {
    t.same(membership(h, name), [V3, V2, V1].map((v) => v.some((f) => f.name === name)), name)
  }
  t.equal(sizeOf(h, 'musl-1.2.5-r0.apk'), 2000, 'a file only the oldest lists keeps its size')
  t.equal(sizeOf(h, 'xz-5.6.3-r0.apk'), 4000)
})

t.test('addVersion: a size the new version does not give is kept from an older one', async (t) => {
  const h1 = addVersion(null, PATH, id(T0), [{ name: 'a-1-r0.apk', size: 777 }], T0)
  const h2 = addVersion(h1, PATH, id(T0 + HOUR), [{ name: 'a-1-r0.apk', size: null }, { name: 'b-1-r0.apk', size: null }], T0 + HOUR)
  t.equal(sizeOf(h2, 'a-1-r0.apk'), 777)
  t.equal(sizeOf(h2, 'b-1-r0.apk'), 0)
  const h3 = addVersion(h2, PATH, id(T0 + 2 * HOUR), [{ name: 'a-1-r0.apk', size: 778 }], T0 + 2 * HOUR)
  t.equal(sizeOf(h3, 'a-1-r0.apk'), 778, 'a size the new version gives wins')
})

t.test('addVersion: at most `keep` versions; files only the dropped ones list leave the union', async (t) => {
  const h = threeVersions(2)
  t.same(h.versions.map((v) => v.lastModified), [T0 + 2 * HOUR, T0 + HOUR])
  t.equal(findFile(h, fileHash('musl-1.2.5-r0.apk')), -1, 'only the dropped version listed it')
  t.same(membership(h, 'curl-8.9.0-r0.apk'), [false, true], 'in the dropped version and a kept one: stays')
  t.same(membership(h, 'busybox-1.36.1-r0.apk'), [false, true])
  t.same(membership(h, 'xz-5.6.3-r0.apk'), [true, false])
  t.equal(h.files.length, 6)
  t.equal(historyBytes(h), 6 * 16 + 2 * 1)

  const one = threeVersions(1)
  t.equal(one.versions.length, 1)
  t.equal(one.files.length, V3.length, 'keep 1: the newest alone')
})

t.test('addVersion: an older copy goes where its Last-Modified places it', async (t) => {
  const h1 = addVersion(null, PATH, id(T0), V1, T0)
  const h3 = addVersion(h1, PATH, id(T0 + 2 * HOUR, 300), V3, T0 + 2 * HOUR)
  // A mirror is met holding the copy the master served in between, before this process ran.
  const h = addVersion(h3, PATH, id(T0 + HOUR, 200), V2, T0 + 3 * HOUR)
  t.same(h.versions.map((v) => v.lastModified), [T0 + 2 * HOUR, T0 + HOUR, T0])
  for (const name of ALL_NAMES) {
    t.same(membership(h, name), [V3, V2, V1].map((v) => v.some((f) => f.name === name)), name)
  }
  t.equal(versionIndex(h, identityKey(id(T0 + HOUR, 200))), 1)

  const full = threeVersions(3)
  t.equal(addVersion(full, PATH, id(T0 - HOUR), listing('old-1-r0.apk'), T0 + 3 * HOUR, 3), full, 'older than every kept one, with `keep` kept: unchanged')
  const between = addVersion(full, PATH, id(T0 + HOUR / 2, 150), listing('mid-1-r0.apk'), T0 + 3 * HOUR, 3)
  t.same(between.versions.map((v) => v.lastModified), [T0 + 2 * HOUR, T0 + HOUR, T0 + HOUR / 2], 'in between: the oldest leaves')
  t.equal(findFile(between, fileHash('musl-1.2.5-r0.apk')), -1, 'with the files only it listed')
  t.same(membership(between, 'mid-1-r0.apk'), [false, false, true])
})

t.test('addVersion: a new master version with the Last-Modified of the newest goes on top', async (t) => {
  const h1 = addVersion(null, PATH, id(T0, 100), V1, T0)
  // Last-Modified has whole seconds: the master republished the index within the same second.
  const h2 = addVersion(h1, PATH, id(T0, 101), V2, T0 + 60_000)
  t.equal(h2.versions[0]?.key, identityKey(id(T0, 101)), 'the copy the master serves now is the newest')
  t.same(membership(h2, 'zlib-1.3.1-r0.apk'), [true, false])
})

t.test('versionIndex: the position of a kept version by its key, -1 for any other', async (t) => {
  const h = threeVersions()
  t.equal(versionIndex(h, `${T0 + 2 * HOUR}/300`), 0)
  t.equal(versionIndex(h, `${T0 + HOUR}/200`), 1)
  t.equal(versionIndex(h, `${T0}/100`), 2)
  t.equal(versionIndex(h, `${T0}/101`), -1)
  t.equal(versionIndex(h, '?/?'), -1)
  const dropped = threeVersions(2)
  t.equal(versionIndex(dropped, `${T0}/100`), -1, 'no longer kept')
})

// ---------- memory ----------

/** global.gc when node runs with --expose-gc; otherwise the flag is set now and gc read from a new context. */
function collector (): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? gc as () => void : null
  } catch {
    return null
  }
}

function heap (gc: (() => void) | null): number {
  if (gc !== null) { gc(); gc() }
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** The next release of a package: its old file replaced by a new one. */
const rebuilt = (p: PackageSpec): PackageSpec => ({ ...p, version: p.version.replace(/-r(\d+)$/, (_, r: string) => `-r${Number(r) + 1}`) })

t.test('memory: every index Alpine serves, two versions each, stays well below 64 MB', async (t) => {
  const indexes = realisticIndexSet()
  const gc = collector()
  const before = heap(gc)
  const started = performance.now()
  const histories: IndexHistory[] = []
  let listedFiles = 0
  let wrongUnion = 0
  let adding = 0
  for (const [n, { path, packages }] of indexes.entries()) {
    const pkgs = syntheticPackages(packages, path)
    const first = pkgs.map((p): Listed => ({ name: packageFile(p), size: p.size ?? null }))
    // The next sync point: every 20th package (5%) has a new release, its old file gone.
    const second = pkgs.map((p, i): Listed => i % 20 === 0 ? { name: packageFile(rebuilt(p)), size: p.size ?? null } : first[i] as Listed)
    const lm = T0 + n * 1000
    const a = performance.now()
    let h = addVersion(null, path, id(lm, 1_000_000 + n), first, lm)
    h = addVersion(h, path, id(lm + HOUR, 1_000_000 + n), second, lm + HOUR)
    adding += performance.now() - a
    if (h.files.length !== packages + Math.ceil(packages / 20)) wrongUnion++
    listedFiles += packages
    histories.push(h)
  }
  const ms = performance.now() - started
  const after = heap(gc)
  const bytes = histories.reduce((n, h) => n + historyBytes(h), 0)
  const files = histories.reduce((n, h) => n + h.files.length, 0)
  const mb = (b: number): string => (b / 2 ** 20).toFixed(1)
  t.comment(`${indexes.length} indexes, ${listedFiles} packages listed, ${files} files in the unions (2 versions, 5% replaced)`)
  t.comment(`historyBytes: ${mb(bytes)} MB, ${(bytes / files).toFixed(2)} bytes a file (${(bytes / listedFiles).toFixed(2)} a package)`)
  t.comment(`heap + array buffers retained: ${mb(after - before)} MB${gc === null ? ' (no gc exposed: an upper bound, garbage included)' : ' (after gc)'}`)
  t.comment(`built in ${(ms / 1000).toFixed(1)} s, ${(adding / 1000).toFixed(1)} s of it in addVersion (the rest: generating the synthetic packages)`)
  t.equal(wrongUnion, 0, 'every union holds each package once and each replaced one twice')
  t.ok(listedFiles > 1_900_000, `the set is the full one (${listedFiles} packages)`)
  t.ok(bytes < 64 * 2 ** 20, `${mb(bytes)} MB < 64 MB`)
})
