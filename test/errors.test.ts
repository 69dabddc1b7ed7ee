// The error catalogue: every code well formed, every code the source sends listed, and the
// HTTP edge answering anything unforeseen with MG_ERR_INTERNAL and Fastify's body errors
// with catalogue codes. On the real service: a route made to fail, and real bad bodies.

import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERRORS, MgError, type ErrorCode } from '../src/errors.js'
import { fromFastify } from '../src/http/app.js'
import { errorBody } from '../src/http/reply.js'
import { startService } from './helpers/service.js'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))
const CODES = Object.keys(ERRORS) as ErrorCode[]

/** Every quoted MG_ERR_… literal in a source text (any case after the prefix, so typos count too). */
function literals (text: string): string[] {
  return [...text.matchAll(/['"`](MG_ERR_[A-Za-z0-9_]*)['"`]/g)].map((m) => m[1] as string)
}

/** The literals in `text` that are not catalogue codes. */
const missing = (text: string): string[] => literals(text).filter((c) => !Object.hasOwn(ERRORS, c))

t.test('every code has a 4xx/5xx status and a message, and is well named', async (t) => {
  t.ok(CODES.length >= 20, 'the catalogue is not empty')
  for (const code of CODES) {
    t.match(code, /^MG_ERR_[A-Z_]+$/, code)
    const { status, message } = ERRORS[code]
    t.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: status ${status}`)
    t.ok(typeof message === 'string' && message.trim() !== '', `${code}: a message`)
  }
  t.same(ERRORS.MG_ERR_INTERNAL, { status: 500, message: 'Internal error' })
})

t.test('no two codes share a message', async (t) => {
  const seen = new Map<string, string>()
  for (const code of CODES) {
    const message = ERRORS[code].message
    t.notOk(seen.has(message), seen.has(message) ? `${code} and ${seen.get(message) ?? ''} both say "${message}"` : `${code}: its own message`)
    seen.set(message, code)
  }
})

t.test('every MG_ERR_ literal in src/ is in the catalogue', async (t) => {
  const files = (readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'))
  t.ok(files.length > 10, 'found the sources')
  const used = new Set<string>()
  for (const f of files) {
    const text = readFileSync(join(SRC, f), 'utf8')
    for (const c of literals(text)) used.add(c)
    t.same(missing(text), [], relative(SRC, join(SRC, f)))
  }
  // The scan finds what it should: codes sent from several files, among them the error handler's.
  t.ok(used.size >= 15, `${used.size} distinct codes used`)
  t.ok(used.has('MG_ERR_INTERNAL'), 'the error handler\'s code is seen')
  // And it would catch a code sent but never catalogued.
  t.same(missing("throw new MgError('MG_ERR_NOT_A_CODE')\nerror: \"MG_ERR_typo\"\n`MG_ERR_NOT_FOUND`"), ['MG_ERR_NOT_A_CODE', 'MG_ERR_typo'])
  t.same(missing("'MG_ERR_toString' 'MG_ERR_'"), ['MG_ERR_toString', 'MG_ERR_'])
})

t.test('MgError carries code, status and message, with the detail appended', async (t) => {
  const plain = new MgError('MG_ERR_UNKNOWN_MIRROR')
  t.ok(plain instanceof Error)
  t.equal(plain.name, 'MgError')
  t.equal(plain.code, 'MG_ERR_UNKNOWN_MIRROR')
  t.equal(plain.status, 404)
  t.equal(plain.message, ERRORS.MG_ERR_UNKNOWN_MIRROR.message)
  const cause = new Error('underneath')
  const detailed = new MgError('MG_ERR_TABLE_INVALID', 'mirrors.yaml: mirrors[0].id: missing', { cause })
  t.equal(detailed.status, 422)
  t.equal(detailed.message, 'Mirror table is invalid: mirrors.yaml: mirrors[0].id: missing')
  t.equal(detailed.cause, cause)
  t.same(JSON.parse(errorBody('MG_ERR_INTERNAL')), { error: 'MG_ERR_INTERNAL', message: 'Internal error' })
  t.same(JSON.parse(errorBody('MG_ERR_BAD_BODY', detailed.message)), { error: 'MG_ERR_BAD_BODY', message: detailed.message })
})

t.test('Fastify body errors map onto catalogue codes; nothing else does', async (t) => {
  const fst = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code, statusCode: 400 })
  t.match(fromFastify(fst('FST_ERR_CTP_INVALID_JSON_BODY', 'Body is not valid JSON')), { code: 'MG_ERR_BAD_BODY', status: 400, message: 'Request body is invalid: Body is not valid JSON' })
  t.match(fromFastify(fst('FST_ERR_CTP_EMPTY_JSON_BODY')), { code: 'MG_ERR_BAD_BODY' })
  t.match(fromFastify(fst('FST_ERR_CTP_INVALID_CONTENT_LENGTH')), { code: 'MG_ERR_BAD_BODY' })
  t.match(fromFastify(fst('FST_ERR_CTP_BODY_TOO_LARGE')), { code: 'MG_ERR_BODY_TOO_LARGE', status: 413, message: ERRORS.MG_ERR_BODY_TOO_LARGE.message })
  t.match(fromFastify(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE')), { code: 'MG_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415 })
  for (const other of [fst('FST_ERR_VALIDATION'), fst('toString'), fst('constructor'), new Error('plain'), null, undefined, 'a string']) {
    t.equal(fromFastify(other), null, String((other as { code?: string } | null)?.code ?? other))
  }
})

t.test('on the real service: an unforeseen error is 500 MG_ERR_INTERNAL, bad bodies are catalogue errors', async (t) => {
  const token = 'test-admin-token-0123456789'
  const { service, origin } = await startService({ admin: { token } })
  t.teardown(() => service.close())

  // GET /metrics answers from app.metricsSource, a field of the running app: make it fail
  // the way a bug would. Only the error handler stands between the throw and the client.
  const secret = 'secret detail: /var/lib/mirrorgate/state.json EACCES'
  service.app.metricsSource = async () => { throw new TypeError(secret) }
  const res = await fetch(`${origin}/metrics`)
  t.equal(res.status, 500)
  t.match(res.headers.get('content-type'), /^application\/json/)
  const text = await res.text()
  t.same(JSON.parse(text), { error: 'MG_ERR_INTERNAL', message: 'Internal error' })
  t.notMatch(text, /secret|EACCES|TypeError/, 'nothing of the error reaches the client')

  // An error carrying its own 5xx status and code is still only MG_ERR_INTERNAL, and 500.
  service.app.metricsSource = async () => { throw Object.assign(new Error(secret), { statusCode: 503, code: 'ESOMETHING' }) }
  const coded = await fetch(`${origin}/metrics`)
  t.equal(coded.status, 500)
  t.same(await coded.json(), { error: 'MG_ERR_INTERNAL', message: 'Internal error' })

  // An MgError thrown in a route keeps its code, status and detail.
  service.app.metricsSource = async () => { throw new MgError('MG_ERR_PROBES_DISABLED', 'for this test') }
  const mg = await fetch(`${origin}/metrics`)
  t.equal(mg.status, 409)
  t.same(await mg.json(), { error: 'MG_ERR_PROBES_DISABLED', message: 'Probes are disabled in the configuration: for this test' })

  // Bodies Fastify refuses before any route sees them (authorised, so the auth hook passes).
  const url = `${origin}/api/v1/admin/mirrors/nope/drain`
  const auth = { Authorization: `Bearer ${token}` }
  const cases: Array<[string, Record<string, string>, string, number, ErrorCode]> = [
    ['malformed JSON', { 'Content-Type': 'application/json' }, '{not json', 400, 'MG_ERR_BAD_BODY'],
    ['empty JSON', { 'Content-Type': 'application/json' }, '', 400, 'MG_ERR_BAD_BODY'],
    ['prototype poisoning', { 'Content-Type': 'application/json' }, '{"__proto__":{"x":1}}', 400, 'MG_ERR_BAD_BODY'],
    ['unsupported media type', { 'Content-Type': 'application/xml' }, '<drain/>', 415, 'MG_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['too large', { 'Content-Type': 'application/json' }, JSON.stringify({ reason: 'x'.repeat(2 * 1024 * 1024) }), 413, 'MG_ERR_BODY_TOO_LARGE']
  ]
  for (const [name, headers, body, status, code] of cases) {
    const r = await fetch(url, { method: 'POST', headers: { ...auth, ...headers }, body })
    t.equal(r.status, status, name)
    const got = await r.json() as { error: string, message: string }
    t.equal(got.error, code, name)
    t.equal(ERRORS[code].status, status, `${name}: the status is the catalogue's`)
    t.ok(got.message.startsWith(ERRORS[code].message), `${name}: ${got.message}`)
  }
  // Still unauthorised first: a bad body from a stranger is a 401, not a parse error.
  const stranger = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' })
  t.equal(stranger.status, 401)
  t.equal((await stranger.json() as { error: string }).error, 'MG_ERR_UNAUTHORIZED')
})
