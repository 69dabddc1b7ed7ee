// What the master's index files list, and their last few versions, in a compact form: one
// sorted array of 53-bit file-name hashes per index (the union of the versions kept), the size
// of each file, and one bitmap per version saying which of those files it lists: 16 bytes a
// file plus a bit per file and version, so an index set of a million files stays in tens of MB. Pure: the fetching is in src/indexes/.

import { fnv1a32 } from './hash.js'

/** A file an index lists: its name in the index's folder, and its size when the index says. */
export interface Listed {
  readonly name: string
  readonly size: number | null
}

/** How a copy of an index file is told apart from another: what a HEAD answers. */
export interface Identity {
  /** Last-Modified in ms: rsync -a keeps the master's mtime, so mirrors serve the same. */
  readonly lastModified: number | null
  readonly size: number | null
}

export interface IndexVersion extends Identity {
  /** `${lastModified}/${size}`: equal keys, same copy of the index. */
  readonly key: string
  readonly etag: string | null
  /** When this process first saw the master serve it. */
  readonly seenAt: number
  /** Bitmap over the history's files: which of them this version lists. */
  readonly listed: Uint8Array
  readonly count: number
}

export interface IndexHistory {
  /** The index file below the mirror base, e.g. `v3.22/main/x86_64/APKINDEX.tar.gz`. */
  readonly path: string
  /** Its folder (the subtree it describes), ending in '/'. */
  readonly dir: string
  /** Its file name: a request for exactly this is a request for the index. */
  readonly name: string
  /** Sorted hashes (fileHash) of every file some kept version lists. */
  readonly files: Float64Array
  /** Bytes of each of those files (0 when no version said). */
  readonly sizes: Float64Array
  /** Newest first. */
  readonly versions: readonly IndexVersion[]
}

/** Versions of each index kept by default: enough for an apk index up to a few syncs old. */
export const KEEP_VERSIONS = 4

const SECOND = 2 ** 32

/**
 * A 53-bit hash of a file name (two 32-bit hashes in one exact double): at 30,000 names an
 * index, a collision is a chance in tens of millions, and it can only make a mirror look as if
 * it held one file it lacks.
 */
export function fileHash (name: string): number {
  let h = 0x9e3779b9
  for (let i = 0; i < name.length; i++) {
    h = Math.imul(h ^ name.charCodeAt(i), 0x5bd1e995)
    h ^= h >>> 15
  }
  return (fnv1a32(name) & 0x1fffff) * SECOND + (h >>> 0)
}

export function identityKey (id: Identity): string {
  return `${id.lastModified ?? '?'}/${id.size ?? '?'}`
}

/** The position of a file in the history, or -1 when no kept version lists it. */
export function findFile (history: IndexHistory, hash: number): number {
  const files = history.files
  let lo = 0
  let hi = files.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const v = files[mid] as number
    if (v === hash) return mid
    if (v < hash) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}

export function lists (version: IndexVersion, file: number): boolean {
  return file >= 0 && ((version.listed[file >>> 3] as number) & (1 << (file & 7))) !== 0
}

/** The version with this identity key, newest first; -1 when it is not (or no longer) kept. */
export function versionIndex (history: IndexHistory, key: string): number {
  return history.versions.findIndex((v) => v.key === key)
}

/**
 * The history with one more version, placed by Last-Modified among those kept (the master's
 * new version goes on top; an older copy first met on a mirror goes where it was), keeping at
 * most `keep`. A version already kept, or older than every kept one when `keep` are kept,
 * gives back `previous` unchanged.
 */
export function addVersion (previous: IndexHistory | null, path: string, identity: Identity & { etag: string | null }, listed: readonly Listed[], seenAt: number, keep = KEEP_VERSIONS): IndexHistory {
  const key = identityKey(identity)
  const before = previous?.versions ?? []
  if (before.some((v) => v.key === key)) return previous as IndexHistory
  // A tie (Last-Modified has whole seconds) counts the version seen later as the newer.
  let at = 0
  while (at < before.length && identity.lastModified !== null && (before[at] as IndexVersion).lastModified !== null &&
    ((before[at] as IndexVersion).lastModified as number) > identity.lastModified) at++
  if (at >= keep) return previous as IndexHistory
  const kept = before.slice(0, Math.max(0, keep - 1))
  // The new version's files, hashed, with their sizes.
  const mine = new Map<number, number>()
  for (const f of listed) mine.set(fileHash(f.name), f.size ?? 0)
  // The union: the new files, and every file another kept version lists.
  const union = new Map<number, number>()
  if (previous !== null) {
    for (let f = 0; f < previous.files.length; f++) {
      if (kept.some((v) => lists(v, f))) union.set(previous.files[f] as number, previous.sizes[f] as number)
    }
  }
  for (const [hash, size] of mine) union.set(hash, size !== 0 ? size : union.get(hash) ?? 0)
  const files = Float64Array.from(union.keys()).sort()
  const sizes = new Float64Array(files.length)
  files.forEach((h, i) => { sizes[i] = union.get(h) as number })
  const bitmap = (has: (hash: number) => boolean): { listed: Uint8Array, count: number } => {
    const bits = new Uint8Array((files.length + 7) >>> 3)
    let count = 0
    files.forEach((h, i) => {
      if (!has(h)) return
      bits[i >>> 3] = (bits[i >>> 3] as number) | (1 << (i & 7))
      count++
    })
    return { listed: bits, count }
  }
  const added: IndexVersion = Object.freeze({ key, lastModified: identity.lastModified, size: identity.size, etag: identity.etag, seenAt, ...bitmap((h) => mine.has(h)) })
  const rebased = kept.map((v) => Object.freeze({ ...v, ...bitmap((h) => lists(v, findFile(previous as IndexHistory, h))) }))
  const versions = Object.freeze([...rebased.slice(0, at), added, ...rebased.slice(at)].slice(0, keep))
  const slash = path.lastIndexOf('/')
  return Object.freeze({ path, dir: path.slice(0, slash + 1), name: path.slice(slash + 1), files, sizes, versions })
}

/** Bytes held by a history's arrays: what the memory figures in the README count. */
export function historyBytes (history: IndexHistory): number {
  return history.files.byteLength + history.sizes.byteLength + history.versions.reduce((n, v) => n + v.listed.byteLength, 0)
}
