// Builds real Alpine index files for tests, byte for byte in the layout Alpine publishes:
// APKINDEX.tar.gz as abuild-sign and apk-tools write it (a signature gzip member whose tar is
// cut before its end-of-archive blocks, then a member with DESCRIPTION and APKINDEX), and
// latest-releases.yaml as the release scripts write it. Also the index set Alpine serves
// today with package counts, and synthetic packages to fill it, for memory measurements.

import { gzipSync } from 'node:zlib'
import { fnv1a32 } from '../../src/core/hash.js'

export interface PackageSpec {
  name: string
  version: string
  size?: number
  arch?: string
  origin?: string
  description?: string
  depends?: string[]
}

export interface ReleaseSpec {
  file: string
  size: number
  sha256: string
  title?: string
  flavor?: string
  version?: string
  branch?: string
  arch?: string
}

const BLOCK = 512
/** Fixed times keep every build byte-identical. */
const MTIME = 1_748_600_000
const SIGN_NAME = '.SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub'
/** Two zero blocks: the tar end-of-archive marker. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK)

export function packageFile (p: PackageSpec): string {
  return `${p.name}-${p.version}.apk`
}

/** A deterministic generator of floats in [0, 1) (mulberry32), seeded by a string. */
function random (seed: string): () => number {
  let a = fnv1a32(seed)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function bytes (seed: string, n: number): Buffer {
  const next = random(seed)
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
  return b
}

export interface TarEntryOptions {
  /** ustar prefix (at most 155 bytes); switches the header to POSIX magic, where the field means that. */
  prefix?: string
  mode?: number
  mtime?: number
  /** Write the size in GNU's base-256 form instead of octal. */
  sizeBase256?: boolean
  /** '0' (a regular file) unless given, e.g. 'L' for a GNU long-name entry. */
  typeflag?: string
}

/** Writes `value` as zero-padded octal filling `len - 1` bytes, then a NUL. */
function putOctal (h: Buffer, at: number, len: number, value: number): void {
  h.write(value.toString(8).padStart(len - 1, '0'), at, len - 1, 'latin1')
  h[at + len - 1] = 0
}

/**
 * One regular-file entry: header, data and padding to the block. By default the header is
 * what apk-tools and busybox tar write: GNU magic "ustar  \0", owner root, mode 0644.
 */
export function tarEntry (name: string, data: Buffer | string, opts: TarEntryOptions = {}): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const h = Buffer.alloc(BLOCK)
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name over 100 bytes: ${name}`)
  h.write(name, 0, 100, 'utf8')
  putOctal(h, 100, 8, opts.mode ?? 0o644)
  putOctal(h, 108, 8, 0)
  putOctal(h, 116, 8, 0)
  if (opts.sizeBase256 === true) {
    h[124] = 0x80
    h.writeUIntBE(body.length, 130, 6)
  } else {
    putOctal(h, 124, 12, body.length)
  }
  putOctal(h, 136, 12, opts.mtime ?? MTIME)
  h.write(opts.typeflag ?? '0', 156, 1, 'latin1')
  if (opts.prefix === undefined) {
    h.write('ustar  \0', 257, 8, 'latin1')
  } else {
    if (Buffer.byteLength(opts.prefix) > 155) throw new Error(`ustar prefix over 155 bytes: ${opts.prefix}`)
    h.write('ustar\x0000', 257, 8, 'latin1')
    h.write(opts.prefix, 345, 155, 'utf8')
  }
  h.write('root', 265, 32, 'latin1')
  h.write('root', 297, 32, 'latin1')
  // POSIX checksum: unsigned byte sum with the field as spaces, stored as 6 octal digits, NUL, space
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1')
  h[154] = 0
  const pad = (BLOCK - (body.length % BLOCK)) % BLOCK
  return Buffer.concat([h, body, Buffer.alloc(pad)])
}

function record (p: PackageSpec): string {
  const key = packageFile(p)
  const next = random(key)
  const origin = p.origin ?? p.name
  const lines = [
    `C:Q1${bytes(key, 20).toString('base64')}`,
    `P:${p.name}`,
    `V:${p.version}`,
    `A:${p.arch ?? 'x86_64'}`
  ]
  if (p.size !== undefined) lines.push(`S:${p.size}`)
  lines.push(
    `I:${Math.round((p.size ?? 4096) * (2 + next() * 2))}`,
    `T:${p.description ?? `The ${p.name} package`}`,
    `U:https://example.org/${origin}`,
    'L:MIT',
    `o:${origin}`,
    'm:Natanael Copa <ncopa@alpinelinux.org>',
    `t:${MTIME - Math.floor(next() * 30_000_000)}`,
    `c:${bytes(`${key}#commit`, 20).toString('hex')}`
  )
  if (p.depends !== undefined && p.depends.length > 0) lines.push(`D:${p.depends.join(' ')}`)
  return lines.join('\n') + '\n\n'
}

/**
 * An APKINDEX.tar.gz listing `packages`. A package without `size` gets no S: line. Signed
 * (the default) puts a signature member first, with 256 pseudo-random bytes as the signature.
 */
export function buildApkIndex (packages: PackageSpec[], opts: { signed?: boolean; description?: string } = {}): Buffer {
  const text = packages.map(record).join('')
  const index = gzipSync(Buffer.concat([
    tarEntry('DESCRIPTION', opts.description ?? 'v3.22.0-123-gabc'),
    tarEntry('APKINDEX', text),
    TAR_END
  ]))
  if (opts.signed === false) return index
  // abuild-sign: tar of the signature, end-of-archive cut off (abuild-tar --cut), gzip -9
  const signature = gzipSync(tarEntry(SIGN_NAME, bytes(text, 256)), { level: 9 })
  return Buffer.concat([signature, index])
}

/** A YAML scalar: plain when that reads back as the same string, double-quoted otherwise. */
function scalar (s: string): string {
  const plain = /^[A-Za-z0-9_][A-Za-z0-9._+~-]*$/.test(s) && !/^[0-9.]+$/.test(s) && !/^(null|true|false|yes|no|on|off)$/i.test(s)
  return plain ? s : JSON.stringify(s)
}

/** latest-releases.yaml in the shape Alpine writes it: `---`, then one `-` mapping per image. */
export function buildLatestReleases (entries: ReleaseSpec[]): string {
  const out = ['---']
  for (const e of entries) {
    const flavor = e.flavor ?? 'alpine-minirootfs'
    const version = e.version ?? '3.22.0'
    out.push(
      '-',
      `  title: ${JSON.stringify(e.title ?? 'Mini root filesystem')}`,
      '  desc: |',
      '    Minimal root filesystem.',
      '    For use in containers',
      '    and minimal chroots.',
      `  profile: ${scalar(flavor.replace(/^alpine-/, ''))}`,
      '  date: 2025-05-30',
      '  time: 09:46:59',
      `  file: ${scalar(e.file)}`,
      `  iso: ${scalar(e.file)}`,
      `  sha256: ${scalar(e.sha256)}`,
      `  sha512: ${bytes(`${e.file}#sha512`, 64).toString('hex')}`,
      `  size: ${e.size}`,
      `  version: ${version}`,
      `  flavor: ${scalar(flavor)}`,
      `  branch: ${e.branch ?? `v${version.split('.').slice(0, 2).join('.')}`}`,
      `  arch: ${e.arch ?? 'x86_64'}`
    )
  }
  return out.join('\n') + '\n'
}

const BRANCHES = ['v3.13', 'v3.14', 'v3.15', 'v3.16', 'v3.17', 'v3.18', 'v3.19', 'v3.20', 'v3.21', 'v3.22', 'v3.23', 'edge']
/** Share of the x86_64 count each architecture builds: the less common ones miss some packages. */
const ARCH_SHARE: Record<string, number> = {
  x86_64: 1,
  aarch64: 0.99,
  x86: 0.95,
  armv7: 0.95,
  armhf: 0.93,
  ppc64le: 0.93,
  s390x: 0.9,
  riscv64: 0.86,
  loongarch64: 0.82
}

function archesOf (branch: string): string[] {
  const minor = branch === 'edge' ? Infinity : Number(branch.split('.')[1])
  const arches = ['x86', 'x86_64', 'aarch64', 'armhf', 'armv7', 'ppc64le', 's390x']
  if (minor >= 20) arches.push('riscv64')
  if (minor >= 21) arches.push('loongarch64')
  return arches
}

/**
 * Every APKINDEX.tar.gz Alpine serves today (v3.13 to v3.23 and edge; main and community,
 * testing on edge only) with the number of packages each lists. The counts are ESTIMATES,
 * not measurements: about 5,500 (main) and 20,000 (community) per architecture on recent
 * branches, growing linearly from about 4,600 and 13,000 on v3.13, 12,000 for edge/testing,
 * scaled down for the less common architectures. Good enough to size memory, not to assert on.
 */
export function realisticIndexSet (): Array<{ path: string; packages: number }> {
  const out: Array<{ path: string; packages: number }> = []
  for (const [i, branch] of BRANCHES.entries()) {
    // 0 on v3.13, 1 on v3.23, a little more on edge
    const age = branch === 'edge' ? 1.02 : i / 10
    const repos: Array<[string, number]> = [['main', 4600 + 900 * age], ['community', 13_000 + 7000 * age]]
    if (branch === 'edge') repos.push(['testing', 12_000])
    for (const [repo, count] of repos) {
      for (const arch of archesOf(branch)) {
        out.push({ path: `${branch}/${repo}/${arch}/APKINDEX.tar.gz`, packages: Math.round(count * (ARCH_SHARE[arch] ?? 1) / 10) * 10 })
      }
    }
  }
  return out
}

const PREFIXES = ['', '', '', 'py3-', 'py3-', 'perl-', 'lua5.4-', 'ruby-', 'php83-', 'font-', 'go-', 'rust-', 'lib', 'xfce4-', 'kf6-', 'gst-']
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ro', 'su', 'ti', 'va', 'xen', 'bar', 'cor', 'dex', 'fin', 'gal', 'hub', 'jet', 'lux', 'mod', 'nix', 'pix', 'qu', 'rex', 'syn', 'tor', 'vim', 'wav', 'zip']
const SUFFIXES = ['', '', '', '', '-dev', '-doc', '-lang', '-openrc', '-libs', '-pyc', '-static', '-bash-completion', '-zsh-completion']

function pick<T> (next: () => number, from: readonly T[]): T {
  return from[Math.floor(next() * from.length)] as T
}

/** `count` distinct, realistic-looking packages (py3-foo 1.2.3-r0 and the like), the same for the same seed. */
export function syntheticPackages (count: number, seed: string): PackageSpec[] {
  const next = random(seed)
  const seen = new Set<string>()
  const out: PackageSpec[] = []
  while (out.length < count) {
    let stem = ''
    for (let n = 1 + Math.floor(next() * 3); n > 0; n--) stem += pick(next, SYLLABLES)
    const origin = pick(next, PREFIXES) + stem
    let name = origin + pick(next, SUFFIXES)
    if (seen.has(name)) name += `${out.length}`
    seen.add(name)
    let version = `${Math.floor(next() * 30)}.${Math.floor(next() * 20)}.${Math.floor(next() * 12)}`
    const extra = next()
    if (extra < 0.08) version += `_git2025${String(1 + Math.floor(next() * 12)).padStart(2, '0')}${String(1 + Math.floor(next() * 28)).padStart(2, '0')}`
    else if (extra < 0.12) version += `_rc${1 + Math.floor(next() * 4)}`
    version += `-r${Math.floor(next() * next() * 8)}`
    // Sizes spread log-uniformly from 2 KiB to 50 MiB, as real packages do
    const size = Math.round(2048 * Math.pow(25_600, next()))
    out.push({ name, version, size, origin, depends: next() < 0.6 ? ['so:libc.musl-x86_64.so.1'] : undefined })
  }
  return out
}
