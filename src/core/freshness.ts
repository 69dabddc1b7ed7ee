// Freshness: which files must come from an up-to-date mirror, and how far behind the
// reference sync point a mirror may be for each. Pure; patterns compile once at setup.

export type PathClass = 'volatile' | 'versioned'

export interface FreshnessPolicy {
  /** Lag allowed for volatile files (indexes, last-updated, release manifests). */
  readonly volatileMaxLagMs: number
  /** Lag allowed for versioned files (packages, release images). */
  readonly versionedMaxLagMs: number
}

/** Compiles a glob over the path below the prefix: `**` spans folders, `*` and `?` do not. */
export function compileGlob (glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*' && glob[i + 1] === '*') {
      // '**/' also matches nothing at all, so '**/APKINDEX.tar.gz' matches at the top too.
      if (glob[i + 2] === '/') { re += '(?:.*/)?'; i += 2 } else { re += '.*'; i++ }
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/**
 * Classifies paths. Volatile patterns win (latest-releases.yaml is a manifest
 * inside a versioned folder); anything unmatched is volatile, the safe side.
 */
export class PathClassifier {
  // One alternation per class: a single regex run per request instead of one per glob.
  readonly #versioned: RegExp
  readonly #volatile: RegExp
  /** apk asks for the same few thousand paths over and over: remember their class. */
  readonly #memo = new Map<string, PathClass>()

  constructor (versioned: readonly string[], volatile: readonly string[]) {
    this.#versioned = anyOf(versioned)
    this.#volatile = anyOf(volatile)
  }

  classify (rest: string): PathClass {
    let cls = this.#memo.get(rest)
    if (cls === undefined) {
      cls = this.#volatile.test(rest) || !this.#versioned.test(rest) ? 'volatile' : 'versioned'
      if (this.#memo.size >= MEMO_SIZE) this.#memo.clear()
      this.#memo.set(rest, cls)
    }
    return cls
  }
}

const MEMO_SIZE = 10_000

function anyOf (globs: readonly string[]): RegExp {
  if (globs.length === 0) return /(?!)/
  return new RegExp(globs.map((g) => compileGlob(g).source).map((src) => `(?:${src})`).join('|'))
}

/** How far a mirror is behind the reference sync point, in ms; null when either is unknown. */
export function lagMs (syncTime: number | null, reference: number | null): number | null {
  if (syncTime === null || reference === null) return null
  return Math.max(0, reference - syncTime)
}

export function maxLagFor (cls: PathClass, policy: FreshnessPolicy): number {
  return cls === 'volatile' ? policy.volatileMaxLagMs : policy.versionedMaxLagMs
}
