// The endpoint directory's state for other DNS servers, as text: a zone for the NTP Pool's
// geodns (github.com/abh/geodns) and a health file (plus the matching config) for gdnsd's
// plugin_extfile. Pure renderers: no I/O, and the same state always gives the same bytes,
// so a writer can tell "nothing changed" by comparing strings (see export-writer.ts).
//
// Weights. Both servers take integer weights (geodns truncates fractions; gdnsd wants
// 1..1048575), and both weigh addresses, not hosts. An endpoint's weight is therefore shared
// among its addresses of one family, so a host with two IPv4 addresses draws no more traffic
// than one with a single address, then rounded to an integer of at least 1. The table's
// integer weights (10, 30, 1000) pass through unchanged for single-address endpoints.

import { COUNTRIES, type Continent } from '../core/countries.js'
import { parseIp } from '../core/ip.js'
import { MgError } from '../errors.js'
import type { Endpoint } from './endpoints.js'
import type { Family } from '../core/types.js'

/** geodns' continent names (countries/countries.go), keyed by our continent codes. */
export const GEODNS_CONTINENTS: Readonly<Record<Continent, string>> = Object.freeze({
  AF: 'africa',
  AN: 'antarctica',
  AS: 'asia',
  EU: 'europe',
  NA: 'north-america',
  OC: 'oceania',
  SA: 'south-america'
})

/** geodns tries the client's country label, then its continent's, then the apex. */
export const GEODNS_TARGETING = 'country continent @'

/** gdnsd's plugin_weighted limits: weights 1..2^20-1, at most 64 groups per address family. */
export const GDNSD_MAX_WEIGHT = 1_048_575
export const GDNSD_MAX_GROUPS = 64

export interface GeodnsZoneOptions {
  /** The zone: the download name itself. geodns takes it from the file name, <name>.json. */
  readonly name: string
  readonly nameservers: readonly string[]
  /** SOA contact (hostmaster.example.org); omitted: geodns uses hostmaster.<name>. */
  readonly hostmaster?: string | undefined
  readonly ttl: number
  readonly serial: number
  /** Addresses per answer. */
  readonly maxHosts: number
}

export interface GdnsdExtfileOptions {
  /** Appended as /TTL to every state (used by gdnsd in direct mode); omitted: no TTL. */
  readonly ttl?: number | undefined
}

export interface GdnsdConfigOptions {
  /** Absolute path of the state file renderGdnsdExtfile's output is written to. */
  readonly stateFile: string
  /** The service_type name; default "mirrorgate". */
  readonly serviceType?: string | undefined
  /** The plugin_weighted resource name, for `DYNA weighted!<resource>`; default "mirrorgate". */
  readonly resource?: string | undefined
}

const addressesOf = (e: Endpoint, family: Family): readonly string[] => (family === 4 ? e.ipv4 : e.ipv6)

/** Numeric order within a family, IPv4 first; plain string order for anything unparsable. */
export function compareAddresses (a: string, b: string): number {
  const x = parseIp(a)
  const y = parseIp(b)
  if (x === null || y === null) return a < b ? -1 : a > b ? 1 : 0
  if (x.family !== y.family) return x.family - y.family
  for (let i = 0; i < x.bytes.length; i++) {
    const d = (x.bytes[i] as number) - (y.bytes[i] as number)
    if (d !== 0) return d
  }
  return 0
}

const integerWeight = (w: number): number => Math.min(GDNSD_MAX_WEIGHT, Math.max(1, Math.round(w)))

/** Each address of `family` with its summed share of its endpoints' weights, sorted. */
function weighted (endpoints: readonly Endpoint[], family: Family): Array<[string, number]> {
  const shares = new Map<string, number>()
  for (const e of endpoints) {
    const list = addressesOf(e, family)
    for (const a of list) shares.set(a, (shares.get(a) ?? 0) + e.weight / list.length)
  }
  return [...shares.keys()].sort(compareAddresses).map((a) => [a, integerWeight(shares.get(a) as number)])
}

const fqdn = (name: string): string => (name.endsWith('.') ? name : `${name}.`)

/**
 * A geodns zone file (<name>.json) for the download name. Labels: "" (the apex: NS plus every
 * healthy endpoint, the global fallback), one per country ("de") and one per continent
 * ("europe", geodns' names) holding the healthy endpoints there. Only healthy endpoints
 * appear anywhere; a country or continent without one has no label, so geodns falls through
 * to the next target. A label with only IPv4 still lets AAAA queries fall through, as geodns
 * picks the first target that has records of the asked type.
 */
export function renderGeodnsZone (endpoints: readonly Endpoint[], opts: GeodnsZoneOptions): string {
  const healthy = endpoints.filter((e) => e.healthy)
  const groups = new Map<string, Endpoint[]>()
  const add = (label: string, e: Endpoint): void => {
    const list = groups.get(label)
    if (list === undefined) groups.set(label, [e])
    else list.push(e)
  }
  for (const e of healthy) {
    add(e.country.toLowerCase(), e)
    const continent = COUNTRIES.get(e.country)?.continent
    if (continent !== undefined) add(GEODNS_CONTINENTS[continent], e)
  }
  const records = (list: readonly Endpoint[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    // A family can fail alone: only the endpoints healthy over it give records of it.
    const a = weighted(list.filter((e) => e.families[4]), 4)
    const aaaa = weighted(list.filter((e) => e.families[6]), 6)
    if (a.length > 0) out.a = a
    if (aaaa.length > 0) out.aaaa = aaaa
    return out
  }
  const data: Record<string, unknown> = {}
  // geodns' NS map syntax: {"ns1.example.org.": null}.
  data[''] = { ns: Object.fromEntries([...new Set(opts.nameservers.map(fqdn))].sort().map((n) => [n, null])), ...records(healthy) }
  for (const [label, list] of groups) {
    const r = records(list)
    if (Object.keys(r).length > 0) data[label] = r
  }
  const zone: Record<string, unknown> = {
    serial: opts.serial,
    ttl: opts.ttl,
    max_hosts: opts.maxHosts,
    targeting: GEODNS_TARGETING,
    data
  }
  if (opts.hostmaster !== undefined) zone.contact = opts.hostmaster
  return `${formatJson(zone, '')}\n`
}

/** JSON with sorted keys, two-space indents, and scalar arrays (a record) on one line. */
function formatJson (value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`
    const inner = `${indent}  `
    return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort()
    if (keys.length === 0) return '{}'
    const inner = `${indent}  `
    const body = keys.map((k) => `${inner}${JSON.stringify(k)}: ${formatJson((value as Record<string, unknown>)[k], inner)}`)
    return `{\n${body.join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value)
}

/** A vscf (gdnsd config language) quoted string. */
function vscfString (s: string): string {
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new MgError('MG_ERR_DNS_EXPORT', `gdnsd: control character in ${JSON.stringify(s)}`)
  return `"${s.replace(/[\\"]/g, '\\$&')}"`
}

/** Ids are [a-z0-9-] in config and table; anything else is masked so a comment stays one comment. */
const commentSafe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_')

/**
 * A gdnsd plugin_extfile state file: one line per endpoint address,
 * `"192.0.2.1" => UP` or `=> DOWN` (optionally `/TTL`), with the endpoint ids as a comment.
 * gdnsd matches the key against the monitored address in its normalised text form, which
 * is the canonical form config and table validation already require. An address listed by
 * several endpoints is UP when any of them is healthy over that address's family.
 */
export function renderGdnsdExtfile (endpoints: readonly Endpoint[], opts: GdnsdExtfileOptions = {}): string {
  const byAddress = new Map<string, { up: boolean, ids: string[] }>()
  for (const e of endpoints) {
    for (const [a, up] of [...e.ipv4.map((a) => [a, e.families[4]] as const), ...e.ipv6.map((a) => [a, e.families[6]] as const)]) {
      const entry = byAddress.get(a)
      if (entry === undefined) byAddress.set(a, { up, ids: [e.id] })
      else {
        entry.up ||= up
        if (!entry.ids.includes(e.id)) entry.ids.push(e.id)
      }
    }
  }
  const ttl = opts.ttl === undefined ? '' : `/${Math.max(0, Math.round(opts.ttl))}`
  const lines = [
    '# mirrorgate: DNS endpoint health for gdnsd plugin_extfile. Generated; do not edit.',
    '# "<address>" => UP|DOWN, one line per endpoint address; the comment names the endpoints.'
  ]
  for (const a of [...byAddress.keys()].sort(compareAddresses)) {
    const entry = byAddress.get(a) as { up: boolean, ids: string[] }
    lines.push(`${vscfString(a)} => ${entry.up ? 'UP' : 'DOWN'}${ttl} # ${entry.ids.map(commentSafe).sort().join(' ')}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * gdnsd configuration for the state file: a `service_types` entry reading it (extfile, direct
 * mode, so changes apply within about a second; resources missing from the file count as
 * DOWN) and a plugin_weighted resource with one group per endpoint, healthy or not (health
 * comes from the state file). Grouped-single mode: each answer is one endpoint, chosen by
 * weight among those UP, with its addresses. up_thresh is minimal: gdnsd answers with every
 * address only when none is up (mirrorgate's fleet already fails open when too few are).
 *
 * Top-level keys only, meant for `$include{...}` in gdnsd's config file, or for copying.
 * Throws when no endpoint has an address or a family has more endpoints than gdnsd allows.
 */
export function renderGdnsdConfigSnippet (endpoints: readonly Endpoint[], opts: GdnsdConfigOptions): string {
  const service = opts.serviceType ?? 'mirrorgate'
  const resource = opts.resource ?? 'mirrorgate'
  const family = (f: Family, stanza: string): string[] => {
    const withAddresses = endpoints.filter((e) => addressesOf(e, f).length > 0)
    if (withAddresses.length === 0) return []
    if (withAddresses.length > GDNSD_MAX_GROUPS) {
      throw new MgError('MG_ERR_DNS_EXPORT', `gdnsd: ${withAddresses.length} endpoints with IPv${f} addresses; plugin_weighted allows ${GDNSD_MAX_GROUPS}`)
    }
    const out = [`      ${stanza} => {`]
    for (const e of [...withAddresses].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
      const items = weighted([e], f).map(([a, w]) => `${vscfString(a)} => [ ${vscfString(a)}, ${w} ]`)
      out.push(`        ${vscfString(e.id)} => { ${items.join(', ')} }`)
    }
    out.push('      }')
    return out
  }
  const v4 = family(4, 'addrs_v4')
  const v6 = family(6, 'addrs_v6')
  if (v4.length === 0 && v6.length === 0) throw new MgError('MG_ERR_DNS_EXPORT', 'gdnsd: no endpoint has an address')
  return [
    '# mirrorgate: gdnsd resources for the DNS endpoints. Generated; do not edit.',
    `# Zone file: <name> <ttl> DYNA weighted!${resource}`,
    'service_types => {',
    `  ${vscfString(service)} => { plugin => extfile, file => ${vscfString(opts.stateFile)}, direct => true, def_down => true }`,
    '}',
    'plugins => {',
    '  weighted => {',
    `    ${vscfString(resource)} => {`,
    `      service_types => ${vscfString(service)}`,
    '      up_thresh => 0.01',
    ...v4,
    ...v6,
    '    }',
    '  }',
    '}',
    ''
  ].join('\n')
}
