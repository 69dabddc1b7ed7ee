// Reads and validates the mirror table file (data/mirrors.yaml format) into a MirrorTable.

import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { COUNTRIES, CONTINENTS, type Continent } from '../core/countries.js'
import { PARTICIPATIONS } from '../core/capacity.js'
import { buildTable, type MirrorSpec, type TierParticipation } from '../core/table.js'
import type { MirrorTable, Tier } from '../core/types.js'
import { MgError } from '../errors.js'
import { boolean, dnsName, fail, httpUrl, ipAddress, list, mapping, number, oneOf, string, type Where } from './validate.js'

const MIRROR_KEYS = ['id', 'name', 'sponsor', 'tier', 'urls', 'country', 'latitude', 'longitude', 'asns',
  'weight', 'families', 'restrictions', 'enabled', 'note', 'dnsNames', 'addresses', 'coverage', 'budget', 'participation', 'drain']
const RESTRICTION_KEYS = ['onlyCountries', 'onlyContinents', 'excludeCountries']
const COVERAGE_KEYS = ['include', 'exclude']
const BUDGET_KEYS = ['requestsPerSecond', 'megabitsPerSecond']
const DRAIN_KEYS = ['until', 'reason']
/** An ISO 8601 date-time with its offset (Z or ±hh:mm): a time every instance reads alike. */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:\d\d)$/
/** A glob below the mirror base: path characters, `*`, `**` and `?`; no leading '/'. */
const GLOB = /^[A-Za-z0-9._~*?+@-][A-Za-z0-9._~*?+@/-]{0,199}$/
const ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

function countryCode (where: Where, field: string, v: unknown): string {
  const cc = string(where, field, v)
  if (!COUNTRIES.has(cc)) fail(where, field, `"${cc}" is not an ISO 3166-1 alpha-2 country code (uppercase)`)
  return cc
}

function countryList (where: Where, field: string, v: unknown): string[] {
  return list(where, field, v).map((c, i) => countryCode(where, `${field}[${i}]`, c))
}

/** `drain: { until?, reason? }`: the mirror is drained on every instance reading the table. */
function drainSpec (where: Where, field: string, v: unknown): MirrorSpec['drain'] {
  const d = mapping(where, field, v, DRAIN_KEYS)
  let until: number | undefined
  if (d.until !== undefined) {
    const text = string(where, `${field}.until`, d.until, ISO_TIME, 'must be an ISO 8601 date-time with its offset, such as "2026-12-24T18:00:00Z"')
    until = Date.parse(text)
    if (!Number.isFinite(until)) fail(where, `${field}.until`, `"${text}" is not a real date-time`)
  }
  const reason = d.reason === undefined ? undefined : string(where, `${field}.reason`, d.reason)
  if (reason !== undefined && reason.length > 200) fail(where, `${field}.reason`, 'must be at most 200 characters')
  return { until, reason }
}

function mirrorSpec (where: Where, field: string, v: unknown): MirrorSpec {
  const m = mapping(where, field, v, MIRROR_KEYS)
  for (const k of ['id', 'name', 'tier', 'urls', 'country', 'latitude', 'longitude', 'weight', 'families', 'enabled']) {
    if (m[k] === undefined) fail(where, `${field}.${k}`, 'is required')
  }
  const urls = list(where, `${field}.urls`, m.urls, { min: 1, max: 4 }).map((u, i) => httpUrl(where, `${field}.urls[${i}]`, u, true))
  for (const scheme of ['http://', 'https://']) {
    if (urls.filter((u) => u.startsWith(scheme)).length > 1) fail(where, `${field}.urls`, `more than one ${scheme} URL`)
  }
  const families = list(where, `${field}.families`, m.families, { min: 1, max: 2 })
    .map((f, i) => oneOf(where, `${field}.families[${i}]`, f, ['ipv4', 'ipv6'] as const))
  let restrictions: MirrorSpec['restrictions']
  if (m.restrictions !== undefined) {
    const r = mapping(where, `${field}.restrictions`, m.restrictions, RESTRICTION_KEYS)
    restrictions = {
      onlyCountries: r.onlyCountries === undefined ? [] : countryList(where, `${field}.restrictions.onlyCountries`, r.onlyCountries),
      excludeCountries: r.excludeCountries === undefined ? [] : countryList(where, `${field}.restrictions.excludeCountries`, r.excludeCountries),
      onlyContinents: r.onlyContinents === undefined
        ? []
        : list(where, `${field}.restrictions.onlyContinents`, r.onlyContinents)
          .map((c, i) => oneOf(where, `${field}.restrictions.onlyContinents[${i}]`, c, [...CONTINENTS] as Continent[]))
    }
  }
  let coverage: MirrorSpec['coverage']
  if (m.coverage !== undefined) {
    const c = mapping(where, `${field}.coverage`, m.coverage, COVERAGE_KEYS)
    const globs = (key: 'include' | 'exclude'): string[] => c[key] === undefined
      ? []
      : list(where, `${field}.coverage.${key}`, c[key], { min: 1, max: 64 })
        .map((g, i) => string(where, `${field}.coverage.${key}[${i}]`, g, GLOB, 'must be a glob below the mirror base, such as "v3.2*/**" or "**/riscv64/**"'))
    coverage = { include: globs('include'), exclude: globs('exclude') }
  }
  let budget: MirrorSpec['budget']
  if (m.budget !== undefined) {
    const b = mapping(where, `${field}.budget`, m.budget, BUDGET_KEYS)
    if (b.requestsPerSecond === undefined && b.megabitsPerSecond === undefined) fail(where, `${field}.budget`, 'needs requestsPerSecond, megabitsPerSecond or both')
    budget = {
      requestsPerSecond: b.requestsPerSecond === undefined ? undefined : number(where, `${field}.budget.requestsPerSecond`, b.requestsPerSecond, 0.001, 1e9),
      megabitsPerSecond: b.megabitsPerSecond === undefined ? undefined : number(where, `${field}.budget.megabitsPerSecond`, b.megabitsPerSecond, 0.001, 1e9)
    }
  }
  return {
    id: string(where, `${field}.id`, m.id, ID, 'must be lowercase letters, digits and dashes (at most 63)'),
    name: string(where, `${field}.name`, m.name),
    sponsor: m.sponsor === undefined ? undefined : string(where, `${field}.sponsor`, m.sponsor),
    tier: oneOf<Tier>(where, `${field}.tier`, m.tier, ['t1', 'community']),
    urls,
    country: countryCode(where, `${field}.country`, m.country),
    latitude: number(where, `${field}.latitude`, m.latitude, -90, 90),
    longitude: number(where, `${field}.longitude`, m.longitude, -180, 180),
    asns: m.asns === undefined ? [] : list(where, `${field}.asns`, m.asns).map((a, i) => number(where, `${field}.asns[${i}]`, a, 1, 4294967295, true)),
    weight: number(where, `${field}.weight`, m.weight, 0.001, 1e6),
    families,
    restrictions,
    enabled: boolean(where, `${field}.enabled`, m.enabled),
    note: m.note === undefined ? undefined : string(where, `${field}.note`, m.note),
    dnsNames: m.dnsNames === undefined ? [] : list(where, `${field}.dnsNames`, m.dnsNames).map((n, i) => dnsName(where, `${field}.dnsNames[${i}]`, n)),
    addresses: m.addresses === undefined ? [] : list(where, `${field}.addresses`, m.addresses).map((a, i) => ipAddress(where, `${field}.addresses[${i}]`, a)),
    coverage,
    budget,
    participation: m.participation === undefined ? undefined : oneOf(where, `${field}.participation`, m.participation, PARTICIPATIONS),
    drain: m.drain === undefined ? undefined : drainSpec(where, `${field}.drain`, m.drain)
  }
}

/** Validates parsed YAML (or JSON) into a table. `file` names the source in error messages. */
export function tableFromDocument (doc: unknown, file: string): MirrorTable {
  const where: Where = { file, code: 'MG_ERR_TABLE_INVALID' }
  const top = mapping(where, '', doc, ['participation', 'mirrors'])
  let tiers: TierParticipation = {}
  if (top.participation !== undefined) {
    const p = mapping(where, 'participation', top.participation, ['t1', 'community'])
    tiers = Object.fromEntries(Object.entries(p).map(([tier, v]) => [tier, oneOf(where, `participation.${tier}`, v, PARTICIPATIONS)]))
  }
  const rows = list(where, 'mirrors', top.mirrors, { min: 1, max: 10000 })
  const specs = rows.map((row, i) => mirrorSpec(where, `mirrors[${i}]`, row))
  const seen = new Map<string, number>()
  specs.forEach((s, i) => {
    const first = seen.get(s.id)
    if (first !== undefined) fail(where, `mirrors[${i}].id`, `duplicate id "${s.id}" (first at mirrors[${first}])`)
    seen.set(s.id, i)
  })
  return buildTable(specs, tiers)
}

export function parseTableText (text: string, file: string): MirrorTable {
  let doc: unknown
  try {
    doc = parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    throw new MgError('MG_ERR_TABLE_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err })
  }
  return tableFromDocument(doc, file)
}

/** Reads and validates a table file; also returns its text, which a cluster primary forwards. */
export async function readTableFile (file: string): Promise<{ table: MirrorTable, text: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new MgError('MG_ERR_TABLE_INVALID', `${file}: cannot read: ${(err as Error).message}`, { cause: err })
  }
  return { table: parseTableText(text, file), text }
}

export async function loadTableFile (file: string): Promise<MirrorTable> {
  return (await readTableFile(file)).table
}
