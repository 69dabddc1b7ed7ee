// Reads the two indexes Alpine publishes beside its files: a repository's APKINDEX.tar.gz and
// releases/<arch>/latest-releases.yaml. I/O-free: bytes or text in, the listed files out.

import { gunzipSync } from 'node:zlib'
import { parse } from 'yaml'

/** A file an index says the directory holds: its name, its size if stated, its SHA-256 if stated. */
export interface ListedFile { readonly name: string; readonly size: number | null; readonly sha256?: string }

const BLOCK = 512
const WHERE = 'APKINDEX.tar.gz'
const RELEASES = 'latest-releases.yaml'

/**
 * The package files an APKINDEX.tar.gz lists. It is a signature gzip member (a tar cut
 * before its end-of-archive blocks) followed by a member holding DESCRIPTION and APKINDEX;
 * unsigned indexes have the second member only. Decompressed together they form one tar.
 */
export function parseApkIndex (archive: Buffer, maxBytes = 256 * 1024 * 1024): ListedFile[] {
  const tar = gunzipAll(archive, maxBytes)
  const text = tarFile(tar, 'APKINDEX')
  if (text === null) throw new Error(`${WHERE}: no APKINDEX entry in the archive`)
  return parseIndexText(text.toString('utf8'))
}

/** The release images a latest-releases.yaml lists: one per entry with a usable `file`. */
export function parseLatestReleases (text: string): ListedFile[] {
  let doc: unknown
  try {
    // failsafe keeps every scalar a string: a sha256 of digits only must not become a number
    doc = parse(text, { schema: 'failsafe' })
  } catch (err) {
    throw new Error(`${RELEASES}: not valid YAML: ${(err as Error).message}`, { cause: err })
  }
  if (!Array.isArray(doc)) throw new Error(`${RELEASES}: the document is not a sequence of releases`)
  const out: ListedFile[] = []
  for (const entry of doc as unknown[]) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue
    const { file, size, sha256 } = entry as Record<string, unknown>
    if (typeof file !== 'string' || !isPlainName(file)) continue
    const bytes = typeof size === 'string' ? sizeOf(size) : null
    const sum = typeof sha256 === 'string' && /^[0-9a-fA-F]{64}$/.test(sha256) ? sha256.toLowerCase() : undefined
    out.push(sum === undefined ? { name: file, size: bytes } : { name: file, size: bytes, sha256: sum })
  }
  return out
}

/** A single path segment: anything else could step out of the directory the index describes. */
function isPlainName (name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/')
}

/** A non-negative integer written in decimal, or null. */
function sizeOf (s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null
  const n = Number(s)
  return Number.isSafeInteger(n) ? n : null
}

function gunzipAll (archive: Buffer, maxBytes: number): Buffer {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`)
  if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) throw new Error(`${WHERE}: not gzip data`)
  try {
    // Node's gunzip carries on into every following gzip member, so both members come out
    // here; maxOutputLength stops a decompression bomb before it is held in memory.
    return gunzipSync(archive, { maxOutputLength: maxBytes })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`${WHERE}: decompresses to more than ${maxBytes} bytes`, { cause: err })
    if (code === 'Z_BUF_ERROR') throw new Error(`${WHERE}: truncated gzip data`, { cause: err })
    throw new Error(`${WHERE}: corrupt gzip data: ${(err as Error).message}`, { cause: err })
  }
}

/** The data of the first regular file whose full path is `wanted`, or null if the tar ends first. */
function tarFile (tar: Buffer, wanted: string): Buffer | null {
  let off = 0
  let zeros = 0
  let longName: string | null = null
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK)
    if (h.every((b) => b === 0)) {
      // Two zero blocks end the archive; apk reads past a lone one, and so do we
      if (++zeros === 2) return null
      off += BLOCK
      continue
    }
    checkSum(h, off)
    const size = entrySize(h, off)
    const start = off + BLOCK
    if (start + size > tar.length) throw new Error(`${WHERE}: truncated tar: the entry at offset ${off} needs ${size} bytes, ${tar.length - start} remain`)
    const data = tar.subarray(start, start + size)
    const type = h[156]
    const name = longName ?? entryName(h)
    longName = null
    if (type === 0x4c) {
      // 'L': GNU long name, which apk-tools writes for paths over 99 bytes; it names the next entry
      longName = cString(data, 0, data.length)
    } else if ((type === 0x30 || type === 0 || type === 0x37) && name === wanted) {
      return data
    }
    off = start + Math.ceil(size / BLOCK) * BLOCK
  }
  if (off < tar.length) throw new Error(`${WHERE}: truncated tar: ${tar.length - off} bytes of a header at offset ${off}`)
  return null
}

/** name, with the ustar prefix before it when there is one (pax headers use the field otherwise). */
function entryName (h: Buffer): string {
  const name = cString(h, 0, 100)
  const ustar = h.toString('latin1', 257, 262) === 'ustar'
  const type = h[156]
  if (!ustar || h[345] === 0 || type === 0x78 || type === 0x67) return name
  return `${cString(h, 345, 155)}/${name}`
}

/** Header checksum: the byte sum with the field itself read as spaces, unsigned or (old tars) signed. */
function checkSum (h: Buffer, off: number): void {
  const stored = octal(h, 148, 8)
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i] as number
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  if (stored !== unsigned && stored !== signed) throw new Error(`${WHERE}: bad tar header checksum at offset ${off}`)
}

/** Octal size, or GNU's base-256 form (high bit set) that tar uses for sizes of 8 GiB and more. */
function entrySize (h: Buffer, off: number): number {
  const first = h[124] as number
  if ((first & 0x80) !== 0) {
    if (first === 0xff) throw new Error(`${WHERE}: negative base-256 size in the tar header at offset ${off}`)
    let n = first & 0x7f
    for (let i = 125; i < 136; i++) n = n * 256 + (h[i] as number)
    if (!Number.isSafeInteger(n)) throw new Error(`${WHERE}: base-256 size too large in the tar header at offset ${off}`)
    return n
  }
  const n = octal(h, 124, 12)
  if (n === null) throw new Error(`${WHERE}: bad size field in the tar header at offset ${off}`)
  return n
}

/** An octal field: optional leading spaces, digits, then NULs or spaces; null if anything else. */
function octal (h: Buffer, start: number, len: number): number | null {
  const end = start + len
  let i = start
  while (i < end && h[i] === 0x20) i++
  let n = 0
  for (; i < end && (h[i] as number) >= 0x30 && (h[i] as number) <= 0x37; i++) n = n * 8 + (h[i] as number) - 0x30
  for (; i < end; i++) if (h[i] !== 0 && h[i] !== 0x20) return null
  return n
}

function cString (b: Buffer, start: number, len: number): string {
  const nul = b.indexOf(0, start)
  const end = nul === -1 || nul > start + len ? start + len : nul
  return b.toString('utf8', start, end)
}

/** APKINDEX text: records of `X:value` lines separated by blank lines. */
function parseIndexText (text: string): ListedFile[] {
  const out: ListedFile[] = []
  let p = ''
  let v = ''
  let s = ''
  const flush = (): void => {
    const name = `${p}-${v}.apk`
    if (p !== '' && v !== '' && isPlainName(name)) out.push({ name, size: sizeOf(s) })
    p = v = s = ''
  }
  let pos = 0
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos)
    if (nl === -1) nl = text.length
    if (nl === pos) {
      flush()
    } else if (text.charCodeAt(pos + 1) === 0x3a) {
      // Only the three fields a file listing needs are kept; the index has a dozen more
      const key = text[pos]
      if (key === 'P') p = text.slice(pos + 2, nl)
      else if (key === 'V') v = text.slice(pos + 2, nl)
      else if (key === 'S') s = text.slice(pos + 2, nl)
    }
    pos = nl + 1
  }
  flush()
  return out
}
