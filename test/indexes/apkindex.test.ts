// src/indexes/apkindex.ts against index files built in Alpine's own layout
// (test/helpers/apkindex.ts), checked in turn against the system tar and gzip where present.

import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { parseApkIndex, parseLatestReleases } from '../../src/indexes/apkindex.js'
import {
  buildApkIndex, buildLatestReleases, packageFile, realisticIndexSet, syntheticPackages, TAR_END, tarEntry, type PackageSpec
} from '../helpers/apkindex.js'

const SIGN = '.SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub'

const PACKAGES: PackageSpec[] = [
  { name: 'musl', version: '1.2.5-r10', size: 410_123, depends: [] },
  { name: 'busybox', version: '1.37.0-r18', size: 520_871, depends: ['so:libc.musl-x86_64.so.1'] },
  { name: 'py3-pip', version: '25.1.1-r0', size: 3_402_003, origin: 'py-pip', description: 'Tool for installing Python packages' },
  { name: 'libstdc++', version: '14.2.0-r6', size: 0 },
  { name: 'font-noto-cjk~extra', version: '1.0-r0' }
]

const listing = (ps: PackageSpec[]): Array<{ name: string, size: number | null }> =>
  ps.map((p) => ({ name: packageFile(p), size: p.size ?? null }))

/** A gzip member holding a tar of the entries given, with its end-of-archive blocks. */
const tarGz = (...entries: Buffer[]): Buffer => gzipSync(Buffer.concat([...entries, TAR_END]))

t.test('round trip: signed and unsigned give exactly the names and sizes built', async (t) => {
  for (const signed of [true, false]) {
    t.strictSame(parseApkIndex(buildApkIndex(PACKAGES, { signed })), listing(PACKAGES), `signed: ${signed}`)
  }
  t.strictSame(parseApkIndex(buildApkIndex([])), [], 'an empty index lists nothing')
  const many = syntheticPackages(3000, 'round-trip')
  t.strictSame(parseApkIndex(buildApkIndex(many)), listing(many), '3000 synthetic packages')
})

t.test('the signed archive is two gzip members, the first a tar without end-of-archive blocks', async (t) => {
  const signed = buildApkIndex(PACKAGES)
  const unsigned = buildApkIndex(PACKAGES, { signed: false })
  t.ok(signed.length > unsigned.length + 20)
  t.same(signed.subarray(signed.length - unsigned.length), unsigned, 'the index member follows the signature member')
  const sig = signed.subarray(0, signed.length - unsigned.length)
  t.equal(sig[0], 0x1f)
  t.equal(sig[1], 0x8b)
  const sigTar = gunzipSync(sig)
  t.equal(sigTar.length, 1024, 'signature tar: one header and 256 bytes padded to a block, no end-of-archive blocks')
  t.equal(sigTar.toString('latin1', 0, SIGN.length + 1), `${SIGN}\0`)
  t.equal(sigTar.toString('latin1', 257, 265), 'ustar  \0', 'GNU magic, as apk-tools and busybox tar write')
  const indexTar = gunzipSync(unsigned)
  t.ok(indexTar.subarray(indexTar.length - 1024).equals(TAR_END), 'the index tar ends with two zero blocks')
  t.equal(indexTar.toString('latin1', 0, 12), 'DESCRIPTION\0', 'DESCRIPTION comes first')
  t.throws(() => parseApkIndex(sig), { message: /no APKINDEX entry/ }, 'the signature member alone lists nothing')
})

t.test('the records are in Alpine\'s field order', async (t) => {
  const text = tarFileText(buildApkIndex(PACKAGES.slice(1, 2), { signed: false }))
  const keys = text.split('\n').filter((l) => l !== '').map((l) => l.slice(0, 2))
  t.strictSame(keys, ['C:', 'P:', 'V:', 'A:', 'S:', 'I:', 'T:', 'U:', 'L:', 'o:', 'm:', 't:', 'c:', 'D:'])
  t.match(text, /^C:Q1[A-Za-z0-9+/]{27}=\n/, 'C: is Q1 and the base64 of 20 bytes')
  t.match(text, /\nc:[0-9a-f]{40}\n/)
  t.ok(text.endsWith('\n\n'), 'a blank line ends the record')
})

t.test('records without P or V are skipped; a bad S: gives a null size', async (t) => {
  const text = [
    'C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:nov\nS:100\n',
    'P:ok\nV:1.0-r0\nS:12\n',
    'V:2.0-r0\nS:5\n',
    'P:neg\nV:1-r0\nS:-3\n',
    'P:hex\nV:1-r0\nS:0x10\n',
    'P:evil/../x\nV:1-r0\nS:1\n',
    'P:last\nV:3-r1\nS:7'
  ].join('\n')
  t.strictSame(parseApkIndex(tarGz(tarEntry('DESCRIPTION', 'x'), tarEntry('APKINDEX', text))), [
    { name: 'ok-1.0-r0.apk', size: 12 },
    { name: 'neg-1-r0.apk', size: null },
    { name: 'hex-1-r0.apk', size: null },
    { name: 'last-3-r1.apk', size: 7 }
  ])
})

t.test('entry names: the ustar prefix and the GNU base-256 size are read', async (t) => {
  const decoy = 'P:decoy\nV:1-r0\nS:1\n\n'
  const real = 'P:real\nV:1-r0\nS:2\n\n'
  const long = 'a-directory-name-long-enough/to-need-the-ustar-prefix-field/because-the-whole-path-is-over-one-hundred-bytes'
  const archive = tarGz(
    tarEntry('APKINDEX', decoy, { prefix: long }),
    tarEntry('APKINDEX', real, { sizeBase256: true })
  )
  t.strictSame(parseApkIndex(archive), [{ name: 'real-1-r0.apk', size: 2 }], `${long}/APKINDEX is not APKINDEX`)
  const listed = systemTar(t, archive, join(t.testdir(), 'prefix.tar.gz'))
  if (listed !== null) t.strictSame(listed, [`${long}/APKINDEX`, 'APKINDEX'], 'tar reads the same names')
})

t.test('entry names: a GNU long name names the entry after it', async (t) => {
  const long = `${'d'.repeat(120)}/APKINDEX`
  const archive = tarGz(
    tarEntry('././@LongLink', `${long}\0`, { typeflag: 'L' }),
    tarEntry('APKINDEX', 'P:decoy\nV:1-r0\n\n'),
    tarEntry('APKINDEX', 'P:real\nV:1-r0\n\n')
  )
  t.strictSame(parseApkIndex(archive), [{ name: 'real-1-r0.apk', size: null }])
  const listed = systemTar(t, archive, join(t.testdir(), 'longname.tar.gz'))
  if (listed !== null) t.strictSame(listed, [long, 'APKINDEX'], 'tar reads the same names')
})

t.test('archives written by the system tar parse, in each format it writes', async (t) => {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}`
  const dir = t.testdir({ [long.split('/')[0] as string]: { [long.split('/')[1] as string]: { APKINDEX: 'P:decoy\nV:1-r0\nS:1\n\n' } }, APKINDEX: 'P:real\nV:2-r0\nS:9\n', DESCRIPTION: 'x' })
  for (const format of ['gnu', 'ustar', 'pax']) {
    const r = spawnSync('tar', [`--format=${format}`, '-czf', '-', 'DESCRIPTION', `${long}/APKINDEX`, 'APKINDEX'], { cwd: dir })
    if (r.error !== undefined) {
      t.skip(`tar --format=${format}: tar is not installed`, () => {})
      continue
    }
    t.equal(r.status, 0, `tar --format=${format}: ${String(r.stderr)}`)
    t.strictSame(parseApkIndex(r.stdout), [{ name: 'real-2-r0.apk', size: 9 }], format)
  }
})

t.test('broken archives throw clearly', async (t) => {
  const good = buildApkIndex(PACKAGES)
  t.throws(() => parseApkIndex(Buffer.from('P:musl\nV:1\n')), { message: /not gzip/ })
  t.throws(() => parseApkIndex(Buffer.alloc(0)), { message: /not gzip/ })
  t.throws(() => parseApkIndex(good.subarray(0, good.length - 10)), { message: /truncated gzip/ })
  t.throws(() => parseApkIndex(good.subarray(0, good.length - 300)), { message: /truncated gzip/ })
  t.throws(() => parseApkIndex(gzipSync('not a tar at all, just some text that is longer than nothing'.repeat(20))), { message: /checksum/ })
  // A whole gzip member whose tar stops inside the APKINDEX data
  const entry = tarEntry('APKINDEX', 'P:a\nV:1\n\n'.repeat(200))
  t.throws(() => parseApkIndex(gzipSync(entry.subarray(0, 1024))), { message: /truncated tar/ })
  t.throws(() => parseApkIndex(gzipSync(entry.subarray(0, 300))), { message: /truncated tar/ })
  const corrupt = Buffer.from(good)
  corrupt[corrupt.length - 5] = (corrupt[corrupt.length - 5] as number) ^ 0xff
  t.throws(() => parseApkIndex(corrupt), { message: /APKINDEX\.tar\.gz: / }, 'a bad gzip trailer')
  t.throws(() => parseApkIndex(tarGz(tarEntry('DESCRIPTION', 'x'))), { message: /no APKINDEX entry/ })
})

t.test('a decompression bomb stops at maxBytes', async (t) => {
  const bomb = tarGz(tarEntry('APKINDEX', Buffer.alloc(4 * 1024 * 1024, 0x0a)))
  t.ok(bomb.length < 20_000, `${bomb.length} compressed bytes`)
  t.throws(() => parseApkIndex(bomb, 1024 * 1024), { message: /decompresses to more than 1048576 bytes/ })
  t.strictSame(parseApkIndex(bomb, 8 * 1024 * 1024), [], 'and parses under a larger limit')
  t.throws(() => parseApkIndex(bomb, 0), RangeError)
})

t.test('system tar and gzip accept the built archive', async (t) => {
  const archive = buildApkIndex(PACKAGES, { description: 'v3.22.0-123-gabc' })
  const path = join(t.testdir(), 'APKINDEX.tar.gz')
  const listed = systemTar(t, archive, path)
  if (listed !== null) t.strictSame(listed, [SIGN, 'DESCRIPTION', 'APKINDEX'])
  const gzip = spawnSync('gzip', ['-t', path])
  if (gzip.error !== undefined) t.skip('gzip -t: gzip is not installed', () => {})
  else t.equal(gzip.status, 0, `gzip -t: ${String(gzip.stderr)}`)
})

t.test('latest-releases.yaml round trip', async (t) => {
  const sha = (c: string): string => c.repeat(64)
  const yaml = buildLatestReleases([
    { file: 'alpine-minirootfs-3.22.0-x86_64.tar.gz', size: 3_641_224, sha256: sha('a') },
    { file: 'alpine-standard-3.22.0-x86_64.iso', size: 272_629_760, sha256: sha('B'), title: 'Standard', flavor: 'alpine-standard' },
    { file: 'alpine-virt-3.22.0-x86_64.iso', size: 68_157_440, sha256: '0123456789'.repeat(6) + '0123', flavor: 'alpine-virt' },
    { file: 'alpine-netboot-3.22.0-x86_64.tar.gz', size: 0, sha256: 'not-a-sum', flavor: 'alpine-netboot' },
    { file: 'x/../alpine-evil.iso', size: 1, sha256: sha('c') },
    { file: '..', size: 1, sha256: sha('c') },
    { file: '.', size: 1, sha256: sha('c') }
  ])
  t.match(yaml, /^---\n-\n {2}title: "Mini root filesystem"\n/)
  t.strictSame(parseLatestReleases(yaml), [
    { name: 'alpine-minirootfs-3.22.0-x86_64.tar.gz', size: 3_641_224, sha256: sha('a') },
    { name: 'alpine-standard-3.22.0-x86_64.iso', size: 272_629_760, sha256: sha('b') },
    { name: 'alpine-virt-3.22.0-x86_64.iso', size: 68_157_440, sha256: '0123456789'.repeat(6) + '0123' },
    { name: 'alpine-netboot-3.22.0-x86_64.tar.gz', size: 0 }
  ])
})

t.test('latest-releases.yaml: odd entries and bad documents', async (t) => {
  const text = '---\n- file: a.iso\n  size: -1\n- file: b.iso\n  size: 1.5\n- just a string\n- [1, 2]\n- size: 3\n- file: [x]\n'
  t.strictSame(parseLatestReleases(text), [{ name: 'a.iso', size: null }, { name: 'b.iso', size: null }])
  t.throws(() => parseLatestReleases('file: a.iso\nsize: 3\n'), { message: /not a sequence/ })
  t.throws(() => parseLatestReleases(''), { message: /not a sequence/ })
  t.throws(() => parseLatestReleases('- a: [\n'), { message: /latest-releases\.yaml: not valid YAML/ })
})

t.test('realisticIndexSet and syntheticPackages', async (t) => {
  const set = realisticIndexSet()
  const paths = new Set(set.map((s) => s.path))
  t.equal(paths.size, set.length, 'no path twice')
  for (const p of ['v3.13/main/x86/APKINDEX.tar.gz', 'v3.22/community/x86_64/APKINDEX.tar.gz', 'v3.20/main/riscv64/APKINDEX.tar.gz',
    'v3.21/community/loongarch64/APKINDEX.tar.gz', 'edge/testing/s390x/APKINDEX.tar.gz']) t.ok(paths.has(p), p)
  for (const p of ['v3.19/main/riscv64/APKINDEX.tar.gz', 'v3.20/main/loongarch64/APKINDEX.tar.gz', 'v3.22/testing/x86_64/APKINDEX.tar.gz']) {
    t.notOk(paths.has(p), `not ${p}`)
  }
  const count = (path: string): number => set.find((s) => s.path === path)?.packages ?? -1
  t.ok(Math.abs(count('v3.23/main/x86_64/APKINDEX.tar.gz') - 5500) <= 300, 'main is about 5,500')
  t.ok(Math.abs(count('v3.23/community/x86_64/APKINDEX.tar.gz') - 20_000) <= 1000, 'community is about 20,000')
  t.ok(Math.abs(count('edge/testing/x86_64/APKINDEX.tar.gz') - 12_000) <= 1000, 'testing is about 12,000')
  t.ok(count('v3.13/community/x86_64/APKINDEX.tar.gz') < count('v3.23/community/x86_64/APKINDEX.tar.gz'), 'older branches have fewer')
  t.ok(count('v3.23/community/s390x/APKINDEX.tar.gz') < count('v3.23/community/x86_64/APKINDEX.tar.gz'), 'less common arches have fewer')

  const a = syntheticPackages(5000, 'seed')
  t.strictSame(syntheticPackages(5000, 'seed'), a, 'deterministic')
  t.notSame(syntheticPackages(50, 'other'), a.slice(0, 50), 'the seed matters')
  t.equal(new Set(a.map(packageFile)).size, a.length, 'distinct file names')
  for (const p of a) {
    if (!/^[a-z0-9][a-z0-9.+_-]*-[0-9]+\.[0-9]+\.[0-9]+(_git[0-9]{8}|_rc[0-9])?-r[0-9]+\.apk$/.test(packageFile(p))) {
      t.fail(`odd name ${packageFile(p)}`)
      break
    }
  }
})

/** The text of the APKINDEX entry, found by hand (name at 0, octal size at 124, data after the header). */
function tarFileText (archive: Buffer): string {
  const tar = gunzipSync(archive)
  const at = tar.indexOf('APKINDEX\0')
  const size = parseInt(tar.toString('latin1', at + 124, at + 135), 8)
  return tar.toString('utf8', at + 512, at + 512 + size)
}

/** Lists the archive with the system tar, or skips (returning null) when there is none. */
function systemTar (t: Test, archive: Buffer, path: string): string[] | null {
  writeFileSync(path, archive)
  const r = spawnSync('tar', ['-tzf', path], { encoding: 'utf8' })
  if (r.error !== undefined) {
    t.skip('tar -tzf lists the entries: tar is not installed', () => {})
    return null
  }
  t.equal(r.status, 0, `tar -tzf: ${r.stderr}`)
  return r.stdout.split('\n').filter((l) => l !== '')
}
