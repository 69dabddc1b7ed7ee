// Which files each mirror holds, as far as is known: the master's index histories (file-set.ts),
// what a HEAD of each index on each mirror answered, and what the table declares. One immutable
// value, replaced whole on every change by its owner (src/live/fleet.ts). Pure.

import { compileGlob } from './freshness.js'
import { fileHash, findFile, lists, versionIndex, type IndexHistory, type IndexVersion } from './file-set.js'
import type { CoverageRule, Mirror } from './types.js'

/** What a HEAD of one index on one mirror answered. */
export type IndexCheck =
  /** A copy: its identity key (file-set.ts), and the mirror's sync time from its canary then. */
  | { readonly kind: 'copy', readonly key: string, readonly at: number, readonly syncTime: number | null }
  /** 404: the mirror does not carry this subtree. */
  | { readonly kind: 'missing', readonly at: number }
  /** Anything else (timeout, 5xx, refused): says nothing about the files. */
  | { readonly kind: 'failing', readonly at: number, readonly detail: string }

export interface Coverage {
  /** The master's indexes, by folder (`v3.22/main/x86_64/`). */
  readonly indexes: ReadonlyMap<string, IndexHistory>
  /** The last check of each index on each mirror: by folder, then mirror id. */
  readonly checks: ReadonlyMap<string, ReadonlyMap<string, IndexCheck>>
}

export const EMPTY_COVERAGE: Coverage = Object.freeze({ indexes: new Map(), checks: new Map() })

/**
 * One mirror's copy of one index, for people and routing: the master's newest version
 * ('current'), an older one the master served before ('behind', `version` steps back), one
 * not among the kept versions ('unknown'), none (404: 'missing'), no answer ('failing'), or
 * not checked yet ('unchecked').
 */
export type IndexState = 'current' | 'behind' | 'unknown' | 'missing' | 'failing' | 'unchecked'

export interface MirrorIndex {
  readonly state: IndexState
  /** For 'current' and 'behind': which version, 0 the newest. */
  readonly version: number | null
  readonly check: IndexCheck | null
}

export function mirrorIndex (coverage: Coverage, dir: string, mirrorId: string): MirrorIndex {
  const check = coverage.checks.get(dir)?.get(mirrorId) ?? null
  if (check === null) return { state: 'unchecked', version: null, check }
  if (check.kind !== 'copy') return { state: check.kind, version: null, check }
  const history = coverage.indexes.get(dir)
  const version = history === undefined ? -1 : versionIndex(history, check.key)
  if (version < 0) return { state: 'unknown', version: null, check }
  return { state: version === 0 ? 'current' : 'behind', version, check }
}

/** A request path (below the prefix) as the coverage reads it: its folder and file. */
export interface PathFacts {
  readonly dir: string
  readonly name: string
  readonly hash: number
}

export function pathFacts (rest: string): PathFacts | null {
  const slash = rest.lastIndexOf('/')
  const name = rest.slice(slash + 1)
  if (name === '') return null
  return { dir: rest.slice(0, slash + 1), name, hash: fileHash(name) }
}

/** Globs a table entry may give for what it carries, below its base (`coverage:` in the table). */
export interface DeclaredCoverage {
  readonly include: readonly string[]
  readonly exclude: readonly string[]
}

export function compileCoverage (declared: DeclaredCoverage | null): CoverageRule | null {
  if (declared === null || (declared.include.length === 0 && declared.exclude.length === 0)) return null
  const any = (globs: readonly string[]): RegExp | null => globs.length === 0 ? null : new RegExp(globs.map((g) => `(?:${compileGlob(g).source})`).join('|'))
  const globs = Object.freeze({ include: Object.freeze([...declared.include]), exclude: Object.freeze([...declared.exclude]) })
  return Object.freeze({ include: any(declared.include), exclude: any(declared.exclude), globs })
}

export function declaredCarries (rule: CoverageRule, rest: string): boolean {
  return (rule.include === null || rule.include.test(rest)) && (rule.exclude === null || !rule.exclude.test(rest))
}

export type Holds = 'yes' | 'no' | 'unknown'

export interface Holding {
  readonly holds: Holds
  /** What says so: a HEAD of the subtree's index, the table's declaration, or nothing. */
  readonly basis: 'measured' | 'declared' | 'none'
  /** The request is for the subtree's index file itself. */
  readonly isIndex: boolean
  /** The file is listed in some kept version of its index (so someone's holding can be known). */
  readonly listed: boolean
  /** The file is listed in the master's newest version (the master, and any fallback in step with it, has it). */
  readonly inNewest: boolean
  readonly index: MirrorIndex | null
}

/**
 * Whether a mirror holds the file a request names. A copy of the subtree's index says so for
 * every file that version lists; a 404 for the index says no for the whole subtree. A mirror
 * that has synced since its copy was checked (`syncTime`, from its canary, is newer) may have
 * dropped files: it still holds what both its checked copy and the master's newest version list
 * (file names carry versions, so a file dropped never comes back), and is unknown for the rest.
 * Where nothing is measured, the table's declaration can say no. Allocates nothing: it runs for
 * every request the redirect serves.
 */
export function holds (coverage: Coverage, mirror: Mirror, facts: PathFacts | null, rest: string, syncTime: number | null): Holds {
  const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
  const check = history === undefined ? undefined : coverage.checks.get(history.dir)?.get(mirror.id)
  if (history === undefined || check === undefined || check.kind === 'failing') return declaredHolds(mirror, rest)
  if (check.kind === 'missing') return 'no'
  let version = -1
  for (let i = 0; i < history.versions.length; i++) if ((history.versions[i] as IndexVersion).key === check.key) { version = i; break }
  if (version < 0) return declaredHolds(mirror, rest)
  const f = facts as PathFacts
  if (f.name === history.name) return 'yes'
  const file = findFile(history, f.hash)
  if (file < 0) return 'unknown'
  const has = lists(history.versions[version] as IndexVersion, file)
  if (syncTime === null || check.syncTime === null || syncTime <= check.syncTime) return has ? 'yes' : 'no'
  // Synced since: a file it had and the newest lists is still there; anything else may have changed.
  return has && lists(history.versions[0] as IndexVersion, file) ? 'yes' : 'unknown'
}

function declaredHolds (mirror: Mirror, rest: string): Holds {
  return mirror.coverage === null || declaredCarries(mirror.coverage, rest) ? 'unknown' : 'no'
}

/** holds(), with what a person (explain) or a gate needs to know about it. */
export function holding (coverage: Coverage, mirror: Mirror, facts: PathFacts | null, rest: string, syncTime: number | null): Holding {
  const answer = holds(coverage, mirror, facts, rest, syncTime)
  const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
  if (history === undefined || facts === null) {
    return { holds: answer, basis: answer === 'no' ? 'declared' : 'none', isIndex: false, listed: false, inNewest: false, index: null }
  }
  const isIndex = facts.name === history.name
  const file = isIndex ? -1 : findFile(history, facts.hash)
  const newest = history.versions[0]
  const index = mirrorIndex(coverage, facts.dir, mirror.id)
  const measured = index.state === 'missing' || index.version !== null
  return {
    holds: answer,
    basis: measured ? 'measured' : answer === 'no' ? 'declared' : 'none',
    isIndex,
    listed: isIndex || file >= 0,
    inNewest: isIndex || (newest !== undefined && lists(newest, file)),
    index
  }
}

/**
 * How long ago the master replaced the version a mirror's copy is (0 for 'current'); null when
 * not known. The replacing version's Last-Modified is when the master published it.
 */
export function indexLagMs (coverage: Coverage, dir: string, index: MirrorIndex, now: number): number | null {
  if (index.version === null) return null
  if (index.version === 0) return 0
  const next = coverage.indexes.get(dir)?.versions[index.version - 1]
  if (next === undefined) return null
  return Math.max(0, now - (next.lastModified ?? next.seenAt))
}

/**
 * The size in bytes of the file a request names, as the master's index lists it (`S:` in an
 * APKINDEX, `size:` in latest-releases.yaml); null when not listed. This is what turns a count
 * of redirects into bytes sent to a mirror (sponsor budgets).
 */
export function fileSize (coverage: Coverage, facts: PathFacts | null): number | null {
  const history = facts === null ? undefined : coverage.indexes.get(facts.dir)
  if (history === undefined) return null
  const file = findFile(history, (facts as PathFacts).hash)
  const size = file < 0 ? 0 : history.sizes[file] as number
  return size > 0 ? size : null
}
