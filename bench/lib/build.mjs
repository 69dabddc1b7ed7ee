// Which mirrorgate to benchmark, always built outside the shared dist/:
//  - the working tree: src/, data/, package.json and tsconfig.json copied to
//    bench/results/tree/ and built there, so one run measures one version even while
//    others keep editing src/ and rebuilding dist/;
//  - a committed ref: exported with `git archive` into bench/results/ref-<sha>/ and built.

import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const SOURCES = ['src', 'data', 'package.json', 'tsconfig.json']

/** A hash of the files that go into the build, to skip rebuilding an unchanged tree. */
function sourceHash (root) {
  const h = createHash('sha256')
  const walk = (rel) => {
    const abs = join(root, rel)
    if (!existsSync(abs)) return
    const entries = readdirSync(abs, { withFileTypes: true })
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = join(rel, e.name)
      if (e.isDirectory()) walk(r)
      else if (e.isFile()) h.update(r).update('\0').update(readFileSync(join(root, r))).update('\0')
    }
  }
  for (const name of SOURCES) {
    const abs = join(root, name)
    if (!existsSync(abs)) continue
    if (name.includes('.')) h.update(name).update('\0').update(readFileSync(abs)).update('\0')
    else walk(name)
  }
  return h.digest('hex')
}

function run (cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts })
  if (r.error) throw r.error
  return r
}

function compile (root, dir, what) {
  // The copy uses the main checkout's installed dependencies (and its TypeScript).
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const b = run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir })
  if (b.status !== 0 || !existsSync(join(dir, 'dist', 'main.js'))) {
    throw new Error(`building ${what} failed:\n${b.stdout}\n${b.stderr}`)
  }
}

/**
 * Copies the working tree's sources to resultsDir/tree and builds them; returns
 * { dir, reused }. An unchanged tree (same source hash as the last build) is not rebuilt.
 */
export function buildWorkingTree (root, resultsDir) {
  const dir = join(resultsDir, 'tree')
  const hash = sourceHash(root)
  const stamp = join(dir, '.source-hash')
  if (existsSync(join(dir, 'dist', 'main.js')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    return { dir, reused: true, hash }
  }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const name of SOURCES) {
    if (existsSync(join(root, name))) cpSync(join(root, name), join(dir, name), { recursive: true })
  }
  // Sources may change while we copy; the hash names what was copied, so hash the copy.
  const copied = sourceHash(dir)
  compile(root, dir, 'the working tree (use --ref HEAD for the last commit)')
  writeFileSync(stamp, copied)
  return { dir, reused: false, hash: copied }
}

/** Exports `ref` (src, data, package.json, tsconfig.json) and builds it; returns its root. */
export function buildRef (root, ref, resultsDir) {
  const rev = run('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root })
  if (rev.status !== 0) throw new Error(`unknown git ref ${ref}: ${rev.stderr.trim()}`)
  const sha = rev.stdout.trim()
  const dir = join(resultsDir, `ref-${sha.slice(0, 12)}`)
  if (existsSync(join(dir, 'dist', 'main.js'))) return { dir, sha }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  // git archive only reads the repository; tar writes below bench/results/ (git-ignored).
  const archive = run('sh', ['-c', `git archive --format=tar "${sha}" src data package.json tsconfig.json | tar -x -C "${dir}"`], { cwd: root })
  if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr}`)
  compile(root, dir, `${ref} (${sha.slice(0, 12)})`)
  return { dir, sha }
}
