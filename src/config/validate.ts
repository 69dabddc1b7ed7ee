// Small checkers for hand-read YAML. Each failure names the file, the field and what is
// wrong, so an operator can fix a config or table without reading code.

import { formatIp, parseIp } from '../core/ip.js'
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

/** An absolute http(s) URL with a lowercase scheme, as apk requires in a Location. */
export function httpUrl (where: Where, field: string, v: unknown, requireSlash: boolean): string {
  const s = string(where, field, v)
  let url: URL
  try { url = new URL(s) } catch { fail(where, field, `${describe(s)} is not a valid URL`) }
  if (!/^https?:\/\//.test(s) || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(where, field, `${describe(s)} must start with http:// or https:// (lowercase)`)
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    fail(where, field, `${describe(s)} must not carry credentials, a query or a fragment`)
  }
  if (requireSlash && !url.pathname.endsWith('/')) fail(where, field, `${describe(s)} must end with '/'`)
  if (url.href !== s) fail(where, field, `${describe(s)} is not in canonical form (expected "${url.href}")`)
  return s
}

/** A fully qualified host name, lowercase, without the trailing dot. */
export function dnsName (where: Where, field: string, v: unknown): string {
  return string(where, field, v, /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/, 'is not a lowercase DNS name')
}

/** An IPv4 or IPv6 address in canonical text form. */
export function ipAddress (where: Where, field: string, v: unknown): string {
  const s = string(where, field, v)
  const ip = parseIp(s)
  if (ip === null || formatIp(ip) !== s) fail(where, field, `"${s}" is not an IP address in canonical form${ip === null ? '' : ` (expected ${formatIp(ip)})`}`)
  return s
}
