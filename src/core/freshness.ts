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
  readonly #versioned: readonly RegExp[]
  readonly #volatile: readonly RegExp[]

  constructor (versioned: readonly string[], volatile: readonly string[]) {
    this.#versioned = versioned.map(compileGlob)
    this.#volatile = volatile.map(compileGlob)
  }

  classify (rest: string): PathClass {
    for (const re of this.#volatile) if (re.test(rest)) return 'volatile'
    for (const re of this.#versioned) if (re.test(rest)) return 'versioned'
    return 'volatile'
  }
}

/** How far a mirror is behind the reference sync point, in ms; null when either is unknown. */
export function lagMs (syncTime: number | null, reference: number | null): number | null {
  if (syncTime === null || reference === null) return null
  return Math.max(0, reference - syncTime)
}

export function maxLagFor (cls: PathClass, policy: FreshnessPolicy): number {
  return cls === 'volatile' ? policy.volatileMaxLagMs : policy.versionedMaxLagMs
}
