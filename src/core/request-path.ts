// Turns a raw request target into the path below a served prefix, or says why it is bad.
// Everything that reaches a Location header passes through here, so the rules are strict:
// only RFC 3986 path and query characters, valid percent escapes, no control bytes once
// decoded, no dot segments (encoded or not), no encoded slashes or backslashes.

export type PathErrorCode =
  | 'MG_ERR_PATH_TOO_LONG' | 'MG_ERR_PATH_CONTROL' | 'MG_ERR_PATH_TRAVERSAL' | 'MG_ERR_PATH_INVALID'

export type ParsedTarget =
  | { readonly ok: true; readonly prefix: string | null; readonly rest: string; readonly query: string; readonly hint: string | null }
  | { readonly ok: false; readonly code: PathErrorCode }

export const MAX_TARGET_LENGTH = 2048

// pchar = unreserved / pct-encoded / sub-delims / ":" / "@", plus "/" between segments.
const PATH_CHARS = charTable("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%")
const QUERY_CHARS = charTable("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?%")

function charTable (chars: string): Uint8Array {
  const t = new Uint8Array(128)
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1
  return t
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** Checks characters and escapes of one component; returns an error code or null. */
function checkComponent (s: string, allowed: Uint8Array, isPath: boolean): PathErrorCode | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) return 'MG_ERR_PATH_CONTROL'
    if (c >= 128 || allowed[c] !== 1) return 'MG_ERR_PATH_INVALID'
    if (c !== 37) continue // '%'
    const hi = hexValue(s.charCodeAt(i + 1))
    const lo = hexValue(s.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) return 'MG_ERR_PATH_INVALID'
    const byte = hi * 16 + lo
    if (byte < 0x20 || byte === 0x7f) return 'MG_ERR_PATH_CONTROL'
    // An encoded '/' or '\' in a path would change its segments once a mirror decodes it.
    if (isPath && (byte === 0x2f || byte === 0x5c)) return 'MG_ERR_PATH_TRAVERSAL'
    i += 2
  }
  return null
}

/**
 * Parses a request target such as `/alpine/v3.22/main/x86_64/APKINDEX.tar.gz?x=1`.
 * `prefix` is the served prefix it falls under (or null), `rest` the path below it, safe to
 * append to a mirror base; `query` is the raw query without '?', already validated.
 */
export function parseTarget (target: string, prefixes: readonly string[]): ParsedTarget {
  if (target.length > MAX_TARGET_LENGTH) return { ok: false, code: 'MG_ERR_PATH_TOO_LONG' }
  if (target.charCodeAt(0) !== 47) return { ok: false, code: 'MG_ERR_PATH_INVALID' } // origin-form only
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  const query = q === -1 ? '' : target.slice(q + 1)
  const bad = checkComponent(path, PATH_CHARS, true) ?? checkComponent(query, QUERY_CHARS, false)
  if (bad !== null) return { ok: false, code: bad }
  // '%2e' is a dot to the mirror, so dot segments are checked on the decoded form too.
  if (hasDotSegment(path.includes('%') ? path.replace(/%2e/gi, '.') : path)) return { ok: false, code: 'MG_ERR_PATH_TRAVERSAL' }
  // A region hint, /_r/<region>/<prefix>..., pins the client's region (see core/regions.ts).
  let hint: string | null = null
  let served = path
  if (path.startsWith(HINT_PREFIX)) {
    const end = path.indexOf('/', HINT_PREFIX.length)
    if (end !== -1) {
      hint = path.slice(HINT_PREFIX.length, end)
      served = path.slice(end)
    }
  }
  for (const prefix of prefixes) {
    if (served.startsWith(prefix)) {
      // Collapse empty segments so the rest never starts with '/' (no '//host' look-alikes).
      let rest = served.slice(prefix.length)
      if (rest.includes('//') || rest.charCodeAt(0) === 47) rest = rest.split('/').filter((s, i, a) => s !== '' || i === a.length - 1).join('/')
      return { ok: true, prefix, rest, query, hint }
    }
  }
  return { ok: true, prefix: null, rest: path, query, hint: null }
}

const HINT_PREFIX = '/_r/'

function hasDotSegment (path: string): boolean {
  let start = 0
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47) {
      const len = i - start
      if ((len === 1 && path.charCodeAt(start) === 46) ||
          (len === 2 && path.charCodeAt(start) === 46 && path.charCodeAt(start + 1) === 46)) return true
      start = i + 1
    }
  }
  return false
}
