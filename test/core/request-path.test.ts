// src/core/request-path.ts: everything that reaches a Location header passes through
// parseTarget, so it is tested by example for each rule and by a property over random input.

import t from 'tap'
import { MAX_TARGET_LENGTH, parseTarget, type ParsedTarget, type PathErrorCode } from '../../src/core/request-path.js'

const PREFIXES = ['/alpine/', '/alpine-edge/'] as const

/** Printable in a TAP line: JSON with everything outside printable ASCII escaped. */
const show = (s: string): string =>
  JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

const code = (target: string): PathErrorCode | 'ok' => {
  const r = parseTarget(target, PREFIXES)
  return r.ok ? 'ok' : r.code
}

t.test('normal apk paths pass unchanged', async (t) => {
  const paths = [
    '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz',
    '/alpine/edge/community/aarch64/py3-pip-25.1.1-r0.apk',
    '/alpine/v3.21/releases/x86_64/alpine-minirootfs-3.21.3-x86_64.tar.gz',
    '/alpine/v3.20/main/armv7/libstdc++-13.2.1_git20240309-r1.apk',
    '/alpine/latest-stable/releases/x86_64/latest-releases.yaml',
    '/alpine/edge/testing/x86_64/font-noto-cjk~extra-1.0-r0.apk',
    "/alpine/v3.22/main/x86_64/a!$&'()*+,;=:@b.apk",
    '/alpine/v3.22/main/x86_64/%C3%A9t%C3%A9.apk',
    '/alpine/...',
    '/alpine/.hidden/..x/x../.x.'
  ]
  for (const p of paths) {
    t.same(parseTarget(p, PREFIXES), { ok: true, prefix: '/alpine/', rest: p.slice('/alpine/'.length), query: '', hint: null }, p)
  }
  t.same(parseTarget('/alpine/v3.22/main/x86_64/APKINDEX.tar.gz?v=3&x=a/b?c:d@e', PREFIXES),
    { ok: true, prefix: '/alpine/', rest: 'v3.22/main/x86_64/APKINDEX.tar.gz', query: 'v=3&x=a/b?c:d@e', hint: null }, 'query split off, kept raw')
  t.same(parseTarget('/alpine/x?', PREFIXES), { ok: true, prefix: '/alpine/', rest: 'x', query: '', hint: null }, 'empty query')
  t.same(parseTarget('/alpine/', PREFIXES), { ok: true, prefix: '/alpine/', rest: '', query: '', hint: null }, 'the prefix itself')
  t.same(parseTarget('/alpine/x?a=%2F%5c', PREFIXES), { ok: true, prefix: '/alpine/', rest: 'x', query: 'a=%2F%5c', hint: null }, 'encoded slashes are fine in a query')
})

t.test('prefix matching', async (t) => {
  t.equal((parseTarget('/alpine-edge/x86_64/a.apk', PREFIXES) as { prefix: string }).prefix, '/alpine-edge/')
  t.equal((parseTarget('/alpine-edge/x86_64/a.apk', PREFIXES) as { rest: string }).rest, 'x86_64/a.apk')
  t.same(parseTarget('/alpine-edge/', ['/alpine/', '/alpine-edge/']), { ok: true, prefix: '/alpine-edge/', rest: '', query: '', hint: null })
  t.same(parseTarget('/mirror/alpine/v3.22/x', ['/mirror/alpine/']), { ok: true, prefix: '/mirror/alpine/', rest: 'v3.22/x', query: '', hint: null }, 'nested prefix')
  t.same(parseTarget('/x/y', ['/']), { ok: true, prefix: '/', rest: 'x/y', query: '', hint: null }, "'/' as the only prefix")
  for (const outside of ['/', '/alpine', '/alpinex/v3.22', '/Alpine/v3.22', '/api/v1/explain', '/metrics', '/x/alpine/', '/%61lpine/x']) {
    t.same(parseTarget(outside, PREFIXES), { ok: true, prefix: null, rest: outside, query: '', hint: null }, `${outside} is outside every prefix`)
  }
  t.same(parseTarget('/healthz?full=1', PREFIXES), { ok: true, prefix: null, rest: '/healthz', query: 'full=1', hint: null })
  t.same(parseTarget('/alpine/x', []), { ok: true, prefix: null, rest: '/alpine/x', query: '', hint: null }, 'no prefixes at all')
})

t.test("empty segments are collapsed: rest never starts with '/'", async (t) => {
  const cases: Array<[string, string]> = [
    ['/alpine//v3.22/main/', 'v3.22/main/'],
    ['/alpine///evil.example/x', 'evil.example/x'],
    ['/alpine/v3.22//main//x86_64/a.apk', 'v3.22/main/x86_64/a.apk'],
    ['/alpine//', ''],
    ['/alpine////', ''],
    ['/alpine/a//', 'a/'],
    ['/alpine//a', 'a']
  ]
  for (const [target, rest] of cases) t.same(parseTarget(target, PREFIXES), { ok: true, prefix: '/alpine/', rest, query: '', hint: null }, target)
  t.same(parseTarget('/alpine//x?a//b', PREFIXES), { ok: true, prefix: '/alpine/', rest: 'x', query: 'a//b', hint: null }, 'the query is left alone')
})

t.test('dot segments, raw or encoded, are traversal', async (t) => {
  const dots = ['.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '.%2E', '%2E.']
  for (const d of dots) {
    for (const target of [`/alpine/${d}/x`, `/alpine/a/${d}`, `/alpine/a/${d}/b`, `/alpine/${d}`, `/${d}/alpine/x`, `/alpine/x/${d}?q=1`]) {
      t.equal(code(target), 'MG_ERR_PATH_TRAVERSAL', target)
    }
  }
  t.equal(code('/alpine/../../etc/passwd'), 'MG_ERR_PATH_TRAVERSAL')
  t.equal(code('/..'), 'MG_ERR_PATH_TRAVERSAL')
  t.equal(code('/alpine/x?path=../..'), 'ok', 'dots in the query are not path segments')
  t.equal(code('/alpine/%252e%252e/x'), 'ok', "'%252e' decodes to '%2e', not to a dot")
})

t.test('encoded slashes and backslashes are traversal', async (t) => {
  for (const e of ['%2f', '%2F', '%5c', '%5C']) {
    t.equal(code(`/alpine/a${e}b`), 'MG_ERR_PATH_TRAVERSAL', e)
    t.equal(code(`/alpine/..${e}..${e}etc`), 'MG_ERR_PATH_TRAVERSAL', `..${e}..`)
    t.equal(code(`/alpine/${e}`), 'MG_ERR_PATH_TRAVERSAL', `${e} alone`)
  }
})

t.test('control characters, raw or encoded, are MG_ERR_PATH_CONTROL', async (t) => {
  for (const c of ['\u0000', '\r', '\n', '\t', '\u001b', '\u007f']) {
    t.equal(code(`/alpine/a${c}b`), 'MG_ERR_PATH_CONTROL', `raw ${show(c)} in the path`)
    t.equal(code(`/alpine/a?x=${c}`), 'MG_ERR_PATH_CONTROL', `raw ${show(c)} in the query`)
  }
  for (const e of ['%00', '%0d', '%0D', '%0a', '%0A', '%09', '%1f', '%1F', '%7f', '%7F']) {
    t.equal(code(`/alpine/a${e}b`), 'MG_ERR_PATH_CONTROL', `${e} in the path`)
    t.equal(code(`/alpine/a?x=${e}`), 'MG_ERR_PATH_CONTROL', `${e} in the query`)
  }
  t.equal(code('/alpine/a%0d%0aLocation:%20http://evil/'), 'MG_ERR_PATH_CONTROL', 'header injection attempt')
  t.equal(code('/alpine/a%20b'), 'ok', '%20 is a space, not a control character')
})

t.test('characters outside RFC 3986 and bad escapes are MG_ERR_PATH_INVALID', async (t) => {
  const bad = [' ', '"', '<', '>', '\\', '^', '`', '{', '|', '}', '#', '[', ']', 'é', '\u00a0', '\u2028', '日', '\ud83d\ude00',
    '%', '%z', '%zz', '%g0', '%0g', '%%', '%-1', '% 1']
  for (const c of bad) {
    t.equal(code(`/alpine/a${c}b`), 'MG_ERR_PATH_INVALID', `${show(c)} in the path`)
  }
  for (const c of [' ', '"', '<', '>', '\\', '#', '[', 'é', '%', '%zz', '%a']) {
    t.equal(code(`/alpine/a?x=${c}`), 'MG_ERR_PATH_INVALID', `${show(c)} in the query`)
  }
  t.equal(code('/alpine/a%'), 'MG_ERR_PATH_INVALID', 'trailing %')
  t.equal(code('/alpine/a%4'), 'MG_ERR_PATH_INVALID', 'trailing %4')
  t.equal(code('/alpine/a?b%'), 'MG_ERR_PATH_INVALID', 'trailing % in the query')
  for (const target of ['', 'alpine/x', 'http://evil.example/alpine/x', '*', '?x', '\\alpine\\x']) {
    t.equal(code(target), 'MG_ERR_PATH_INVALID', `not origin-form: ${show(target)}`)
  }
  t.equal(code("/alpine/'quoted'"), 'ok', "a single quote is a sub-delim")
})

t.test('length limit', async (t) => {
  const exact = '/alpine/' + 'a'.repeat(MAX_TARGET_LENGTH - '/alpine/'.length)
  t.equal(exact.length, MAX_TARGET_LENGTH)
  t.equal(code(exact), 'ok', 'exactly the limit')
  t.equal(code(exact + 'a'), 'MG_ERR_PATH_TOO_LONG', 'one over')
  t.equal(code('/alpine/x?' + 'q'.repeat(MAX_TARGET_LENGTH)), 'MG_ERR_PATH_TOO_LONG', 'the query counts')
  t.equal(code('/alpine/' + '\u0000'.repeat(MAX_TARGET_LENGTH)), 'MG_ERR_PATH_TOO_LONG', 'length is checked first')
})

// ---------- property ----------

// RFC 3986 pchar (unreserved, sub-delims, ':' '@', pct-encoded) plus '/'; a query may add '?'.
const SAFE_PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/
const SAFE_QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/
const hasDotSegment = (rest: string): boolean => rest.split('/').some((s) => /^(?:\.|%2e){1,2}$/i.test(s))

t.test('property: random targets are rejected or safe to append to a mirror base', async (t) => {
  let seed = 0xdecaf
  const r = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296 }
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T
  // Heavy on the characters that matter: separators, dots, escapes and their pieces.
  const pieces = ['/', '/', '/', '.', '.', '..', '%', '%2e', '%2E', '%2f', '%5C', '%25', '%00', '%0a', '%41', '%e9', '%zz',
    '?', '#', '\\', ' ', '\u0000', '\r', '\n', 'é', '@', ':', ';', '=', '&', '~', '!', "'", '*', '+', ',', '$', '(', ')',
    'a', 'b', 'alpine', 'v3.22', 'x86_64', 'APKINDEX.tar.gz', '<', '>', '"', '[', ']', '{', '|', '^', '`', 'evil.example',
    'http:', '//', '2e', 'e', 'f', '5c']
  const safe = ['/', '/', '.', '..', '%2e', '%2E', '%25', '%41', '%e9', '@', ':', ';', '=', '&', '~', '!', "'", '*', '+', ',', '$',
    'a', 'b', 'alpine', 'v3.22', 'x86_64', 'APKINDEX.tar.gz', 'evil.example', 'http:', '//', '?', 'e']
  const bases = ['https://dl-cdn.alpinelinux.org/alpine/', 'http://mirror.example.org:8080/pub/linux/alpine/', 'https://m.example/']
  const counts = { ok: 0, prefixed: 0, rejected: 0 }
  const failures: string[] = []
  const fail = (target: string, why: string): void => { if (failures.length < 10) failures.push(`${show(target)}: ${why}`) }

  for (let i = 0; i < 30_000; i++) {
    let target = pick(['/alpine/', '/alpine/', '/alpine-edge/', '/', '//', '/alpine', ''])
    const n = Math.floor(r() * 12)
    for (let k = 0; k < n; k++) target += r() < 0.6 ? pick(safe) : pick(pieces)
    const res: ParsedTarget = parseTarget(target, PREFIXES)
    if (!res.ok) { counts.rejected++; continue }
    counts.ok++
    if (!SAFE_PATH.test(res.rest)) fail(target, `rest ${show(res.rest)} has unsafe characters`)
    if (!SAFE_QUERY.test(res.query)) fail(target, `query ${show(res.query)} has unsafe characters`)
    if (hasDotSegment(res.rest)) fail(target, `rest ${show(res.rest)} has a dot segment`)
    if (/%(?:2f|5c)/i.test(res.rest)) fail(target, `rest ${show(res.rest)} has an encoded slash`)
    if (res.prefix === null) continue
    counts.prefixed++
    if (res.rest.startsWith('/')) fail(target, `rest ${show(res.rest)} starts with '/'`)
    if (!target.startsWith(res.prefix)) fail(target, `prefix ${res.prefix} is not where the target starts`)
    // What the redirect builds: base + rest [+ '?' + query]. It must stay on the mirror, below its path.
    const base = pick(bases)
    const location = base + res.rest + (res.query === '' ? '' : '?' + res.query)
    let url: URL
    try { url = new URL(location) } catch { fail(target, `${location} does not parse`); continue }
    const b = new URL(base)
    if (url.origin !== b.origin) fail(target, `${location} leaves ${b.origin} for ${url.origin}`)
    if (!url.pathname.startsWith(b.pathname)) fail(target, `${location} leaves ${b.pathname}: ${url.pathname}`)
    if (url.pathname !== b.pathname + res.rest) fail(target, `${location} is rewritten by URL parsing to ${url.pathname}`)
  }
  t.same(failures, [], `${counts.ok} accepted (${counts.prefixed} under a prefix), ${counts.rejected} rejected`)
  t.ok(counts.prefixed > 3000 && counts.rejected > 3000, 'both outcomes are well represented')
})

t.test('region hints: /_r/<region>/ before a prefix', async (t) => {
  t.same(parseTarget('/_r/eu/alpine/v3.22/x.apk', PREFIXES), { ok: true, prefix: '/alpine/', rest: 'v3.22/x.apk', query: '', hint: 'eu' })
  t.same(parseTarget('/_r/de/alpine/', PREFIXES), { ok: true, prefix: '/alpine/', rest: '', query: '', hint: 'de' })
  t.same(parseTarget('/_r/eu/other/x', PREFIXES), { ok: true, prefix: null, rest: '/_r/eu/other/x', query: '', hint: null }, 'a hint outside the prefixes is just a path')
  t.same(parseTarget('/_r/eu', PREFIXES), { ok: true, prefix: null, rest: '/_r/eu', query: '', hint: null })
  t.same(parseTarget('/_r/../alpine/x', PREFIXES), { ok: false, code: 'MG_ERR_PATH_TRAVERSAL' }, 'hints pass the same checks')
})
