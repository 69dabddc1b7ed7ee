// An Alpine repository that moves through sync points, as a master and its mirrors see it:
// real APKINDEX.tar.gz files (test/helpers/apkindex.ts) and latest-releases.yaml, packages
// whose newer versions replace (delete) older ones, each file with the mtime of the sync point
// that wrote it (rsync -a keeps it, so every mirror serves the master's Last-Modified).

import { createHash } from 'node:crypto'
import { buildApkIndex, buildLatestReleases, packageFile, type PackageSpec } from './apkindex.js'
import type { FakeMirror } from './fake-mirror.js'

export interface SyncPoint {
  readonly time: number
  /** Every file below the base at this point, with its mtime. */
  readonly files: ReadonlyMap<string, { readonly body: Buffer, readonly mtime: number }>
  /** Package files per folder, as this point's index lists them. */
  readonly packages: ReadonlyMap<string, readonly string[]>
}

export interface RepositoryShape {
  /** Package folders, e.g. `v3.22/main/x86_64/`. */
  readonly dirs: readonly string[]
  /** Release folders, e.g. `v3.22/releases/x86_64/`. */
  readonly releases?: readonly string[]
  /** Packages per folder. */
  readonly packages: number
  readonly points: number
  readonly start: number
  readonly stepMs: number
}

/**
 * The repository at each sync point. At point p a third of the packages (those with i % 3 ===
 * p % 3) and every fourth one (fast movers, whose versions live for one sync point only) get a
 * new version, deleting the old file, and one new package appears.
 */
export function syncPoints (shape: RepositoryShape): SyncPoint[] {
  const points: SyncPoint[] = []
  const versions = new Map<string, { version: number, since: number }>()
  let files = new Map<string, { body: Buffer, mtime: number }>()
  for (let p = 0; p < shape.points; p++) {
    const time = shape.start + p * shape.stepMs
    const next = new Map<string, { body: Buffer, mtime: number }>()
    const packages = new Map<string, string[]>()
    for (const dir of shape.dirs) {
      const specs: PackageSpec[] = []
      for (let i = 0; i < shape.packages + p; i++) {
        const key = `${dir}${i}`
        let v = versions.get(key)
        if (v === undefined || (p > 0 && (i % 3 === p % 3 || i % 4 === 0) && i < shape.packages)) versions.set(key, v = { version: (v?.version ?? 0) + 1, since: time })
        const spec: PackageSpec = { name: i < shape.packages ? `pkg${i}` : `new${i}`, version: `1.${v.version}-r0`, arch: dir.split('/')[2] ?? 'x86_64' }
        const body = Buffer.from(`${dir}${packageFile(spec)}\n`)
        specs.push({ ...spec, size: body.length })
        const path = dir + packageFile(spec)
        next.set(path, files.get(path) ?? { body, mtime: v.since })
      }
      packages.set(dir, specs.map(packageFile))
      next.set(dir + 'APKINDEX.tar.gz', { body: buildApkIndex(specs), mtime: time })
    }
    for (const dir of shape.releases ?? []) {
      const arch = dir.split('/')[2] ?? 'x86_64'
      const iso = `alpine-standard-3.22.${p}-${arch}.iso`
      const body = Buffer.from(`iso ${iso}\n`)
      next.set(dir + iso, files.get(dir + iso) ?? { body, mtime: time })
      next.set(dir + 'latest-releases.yaml', {
        body: Buffer.from(buildLatestReleases([{ file: iso, size: body.length, sha256: createHash('sha256').update(body).digest('hex') }])),
        mtime: time
      })
      packages.set(dir, [iso])
    }
    files = next
    points.push({ time, files, packages })
  }
  return points
}

/**
 * Puts a fake mirror at a sync point (as an rsync with --delete-after leaves it), except the
 * paths `skip` says it does not carry.
 */
export function putAt (fake: FakeMirror, point: SyncPoint, skip: (path: string) => boolean = () => false): void {
  fake.files.clear()
  fake.mtimes.clear()
  for (const [path, f] of point.files) {
    if (skip(path)) continue
    fake.files.set(path, f.body)
    fake.mtimes.set(path, f.mtime)
  }
  fake.syncTime = point.time
}
