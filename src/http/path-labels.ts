// The labels demand is counted by: the branch and architecture a request path names, and the
// kind of file. Bounded: anything unexpected is 'other', so no client can grow the label sets.

import { pathKind } from '../live/load.js'

export type PathKind = ReturnType<typeof pathKind>

/** The architectures Alpine builds for (and has built for); any other third segment is 'other'. */
export const ARCHES: readonly string[] = Object.freeze(['x86', 'x86_64', 'aarch64', 'armhf', 'armv7', 'ppc64le', 's390x', 'riscv64', 'loongarch64', 'mips64'])
const ARCH_SET: ReadonlySet<string> = new Set(ARCHES)

/** edge, latest-stable and v3.0 to v3.99: at most 102 values besides 'other'. */
const BRANCH = /^(?:edge|latest-stable|v3\.(?:0|[1-9][0-9]?))$/

export interface PathLabels {
  readonly branch: string
  readonly arch: string
  readonly kind: PathKind
}

/** The labels of a path below the prefix: `<branch>/<repository or releases>/<arch>/<file>`. */
export function pathLabels (rest: string): PathLabels {
  const parts = rest.split('/')
  const first = parts[0] as string
  const third = parts.length >= 4 ? parts[2] as string : ''
  return {
    branch: BRANCH.test(first) ? first : 'other',
    arch: ARCH_SET.has(third) ? third : 'other',
    kind: pathKind(rest)
  }
}

/** A release folder whose latest-releases.yaml mirrorgate may fetch: a known-looking branch and architecture. */
export function isReleaseFolder (dir: string): boolean {
  const parts = dir.split('/')
  return parts.length === 4 && parts[3] === '' && parts[1] === 'releases' &&
    BRANCH.test(parts[0] as string) && ARCH_SET.has(parts[2] as string)
}
