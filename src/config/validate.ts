// Small checkers for hand-read YAML. Each failure names the file, the field and what is
// wrong, so an operator can fix a config or table without reading code. The config is checked
// against its TypeBox schema by ajv (`validator`); the mirror table by the helpers below. Both
// use the same string FORMATS, so each rule and its message is written once.

import { Ajv, type ErrorObject } from 'ajv'
import type { Static, TSchema } from 'typebox'
import { COUNTRIES } from '../core/countries.js'
import { formatIp, parseCidr, parseIp } from '../core/ip.js'
import { MgError, type ErrorCode } from '../errors.js'

export interface Where { readonly file: string; readonly code: ErrorCode }

export function fail (where: Where, field: string, what: string): never {
  throw new MgError(where.code, `${where.file}: ${field}: ${what}`)
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'string') return `"${v.length > 60 ? v.slice(0, 60) + '…' : v}"`
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${String(v)}`
}

const matches = (pattern: RegExp, hint: string) => (s: string): string | undefined =>
  pattern.test(s) ? undefined : `${describe(s)} ${hint}`

/** An absolute http(s) URL with a lowercase scheme, as apk requires in a Location. */
function urlProblem (s: string, requireSlash: boolean): string | undefined {
  let url: URL
  try { url = new URL(s) } catch { return `${describe(s)} is not a valid URL` }
  if (!/^https?:\/\//.test(s) || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return `${describe(s)} must start with http:// or https:// (lowercase)`
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return `${describe(s)} must not carry credentials, a query or a fragment`
  }
  if (requireSlash && !url.pathname.endsWith('/')) return `${describe(s)} must end with '/'`
  if (url.href !== s) return `${describe(s)} is not in canonical form (expected "${url.href}")`
  return undefined
}

/** Named string formats: each says what is wrong with a string, or undefined when nothing is. */
export const FORMATS = {
  /** An http(s) URL (see urlProblem). */
  url: (s: string) => urlProblem(s, false),
  /** An http(s) base URL: a URL whose path ends with '/'. */
  'base-url': (s: string) => urlProblem(s, true),
  /** A fully qualified host name, lowercase, without the trailing dot. */
  'dns-name': matches(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/, 'is not a lowercase DNS name'),
  /** An IPv4 or IPv6 address in canonical text form. */
  ip: (s: string) => {
    const ip = parseIp(s)
    return ip !== null && formatIp(ip) === s
      ? undefined
      : `"${s}" is not an IP address in canonical form${ip === null ? '' : ` (expected ${formatIp(ip)})`}`
  },
  /** An IP address or a CIDR block. */
  cidr: (s: string) => parseCidr(s) === null ? `"${s}" is not an IP address or CIDR` : undefined,
  /** An ISO 3166-1 alpha-2 country code, uppercase (src/core/countries.ts). */
  country: (s: string) => COUNTRIES.has(s) ? undefined : `"${s}" is not an ISO 3166-1 alpha-2 country code`,
  /** A glob over URL paths: path characters, * and ?. */
  glob: (s: string) => /^[A-Za-z0-9._~*?/-]*$/.test(s) ? undefined : 'must be a glob of path characters, * and ?',
  /** A URL path prefix: starts and ends with '/'. */
  prefix: matches(/^\/(?:[A-Za-z0-9._~-]+\/)*$/, "must start and end with '/' and use only letters, digits and . _ ~ -"),
  /** A relative URL path (below a mirror's base). */
  'relative-path': matches(/^[A-Za-z0-9._~-][A-Za-z0-9._~/-]*$/, 'must be a relative path (no leading /)'),
  /** A name for metrics and logs (instance id, region). */
  name: matches(/^[A-Za-z0-9._-]{1,63}$/, 'must be 1-63 letters, digits, dots, dashes or underscores'),
  /** A DNS-label-like id: lowercase letters, digits and inner dashes. */
  label: matches(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and dashes')
} satisfies Record<string, (s: string) => string | undefined>

export type Format = keyof typeof FORMATS

const ajv = new Ajv({ useDefaults: true, verbose: true })
for (const [name, problem] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: (s: string) => problem(s) === undefined })

const EXPECTED: Record<string, string> = { object: 'a mapping', array: 'a list', number: 'a number', integer: 'a number', boolean: 'true or false', null: 'null' }

/** What the first ajv error says, in the words of the helpers below. */
function problem (e: ErrorObject): string {
  const v: unknown = e.data
  const s = e.parentSchema as Record<string, unknown> & { properties?: object }
  switch (e.keyword) {
    case 'type': {
      if (e.params.type === 'integer' && Number.isFinite(v)) return `expected an integer, got ${String(v)}`
      const expected = e.params.type === 'string' ? (s.minLength === undefined ? 'a string' : 'a non-empty string') : EXPECTED[e.params.type]
      return `expected ${expected ?? e.params.type}, got ${describe(v)}`
    }
    case 'additionalProperties': return `unknown field (known: ${Object.keys(s.properties ?? {}).join(', ')})`
    case 'required': return 'is required'
    case 'minimum': case 'maximum': return `${String(v)} is out of range [${String(s.minimum ?? '-∞')}, ${String(s.maximum ?? '∞')}]`
    case 'minItems': return `needs at least ${e.params.limit} item(s)`
    case 'maxItems': return `allows at most ${e.params.limit} item(s)`
    case 'minLength': return e.params.limit === 1 ? `expected a non-empty string, got ${describe(v)}` : `must be at least ${e.params.limit} characters`
    case 'format': return FORMATS[e.params.format as Format](v as string) ?? `must be a ${e.params.format}`
    default: return e.message ?? `fails ${e.keyword}`
  }
}

/** The field an ajv error is about, as `a.b[2].c`. */
function fieldOf (root: unknown, e: ErrorObject): string {
  const keys = e.instancePath.split('/').slice(1).map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'))
  const last = e.params.additionalProperty ?? e.params.missingProperty
  if (typeof last === 'string') keys.push(last)
  let field = ''
  let node = root
  for (const k of keys) {
    field = Array.isArray(node) ? `${field}[${k}]` : field === '' ? k : `${field}.${k}`
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[k] : undefined
  }
  return field
}

export type Checked<T> = { ok: true, value: T } | { ok: false, field: string, what: string }

/**
 * A checker for a TypeBox schema: on a copy of the value, fills in the schema's defaults and
 * returns it, or the first problem and the field it is in.
 */
export function validator<T extends TSchema> (schema: T): (v: unknown) => Checked<Static<T>> {
  const check = ajv.compile(schema)
  return (v) => {
    const copy: unknown = structuredClone(v)
    if (check(copy)) return { ok: true, value: copy as Static<T> }
    const e = check.errors?.[0]
    return e === undefined ? { ok: false, field: '', what: 'is invalid' } : { ok: false, field: fieldOf(copy, e), what: problem(e) }
  }
}

// Hand-written checkers, for the mirror table (src/config/table-file.ts).

/** A mapping with only the given keys. */
export function mapping (where: Where, field: string, v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, field, `expected a mapping, got ${describe(v)}`)
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) fail(where, field === '' ? k : `${field}.${k}`, `unknown field (known: ${keys.join(', ')})`)
  }
  return v as Record<string, unknown>
}

export function list (where: Where, field: string, v: unknown, opts: { min?: number, max?: number } = {}): unknown[] {
  if (!Array.isArray(v)) fail(where, field, `expected a list, got ${describe(v)}`)
  if (opts.min !== undefined && v.length < opts.min) fail(where, field, `needs at least ${opts.min} item(s)`)
  if (opts.max !== undefined && v.length > opts.max) fail(where, field, `allows at most ${opts.max} item(s)`)
  return v
}

export function string (where: Where, field: string, v: unknown, pattern?: RegExp, hint?: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(where, field, `expected a non-empty string, got ${describe(v)}`)
  if (pattern !== undefined && !pattern.test(v)) fail(where, field, `${describe(v)} ${hint ?? `does not match ${String(pattern)}`}`)
  return v
}

export function number (where: Where, field: string, v: unknown, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, field, `expected a number, got ${describe(v)}`)
  if (integer && !Number.isInteger(v)) fail(where, field, `expected an integer, got ${v}`)
  if (v < min || v > max) fail(where, field, `${v} is out of range [${min}, ${max}]`)
  return v
}

export function boolean (where: Where, field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(where, field, `expected true or false, got ${describe(v)}`)
  return v
}

/** One of a fixed set of values. */
export function oneOf<T extends string> (where: Where, field: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    fail(where, field, `${describe(v)} is not one of ${values.join(', ')}`)
  }
  return v as T
}

/** A non-empty string in one of the FORMATS. */
function formatted (where: Where, field: string, v: unknown, format: Format): string {
  const s = string(where, field, v)
  const what = FORMATS[format](s)
  if (what !== undefined) fail(where, field, what)
  return s
}

/** An absolute http(s) URL with a lowercase scheme, as apk requires in a Location. */
export function httpUrl (where: Where, field: string, v: unknown, requireSlash: boolean): string {
  return formatted(where, field, v, requireSlash ? 'base-url' : 'url')
}

/** A fully qualified host name, lowercase, without the trailing dot. */
export function dnsName (where: Where, field: string, v: unknown): string {
  return formatted(where, field, v, 'dns-name')
}

/** An IPv4 or IPv6 address in canonical text form. */
export function ipAddress (where: Where, field: string, v: unknown): string {
  return formatted(where, field, v, 'ip')
}
