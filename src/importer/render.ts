// The table file's text: a header crediting the sources, then the entries with their fields in
// the table's usual order, lists of words on one line. No dates in it, so a re-import of the
// same list writes the same bytes and diffs show only real changes.

import { Document, isMap, isSeq, visit } from 'yaml'
import type { MirrorDoc } from './mirror-entry.js'

/** Field order of data/mirrors.yaml. */
export const FIELD_ORDER: readonly string[] = ['id', 'name', 'sponsor', 'tier', 'urls', 'country', 'latitude', 'longitude', 'asns',
  'weight', 'families', 'restrictions', 'enabled', 'note', 'dnsNames', 'addresses', 'coverage', 'budget', 'participation', 'drain']
/** Short lists and mappings written on one line: [ipv4, ipv6], { megabitsPerSecond: 100 }. */
const FLOW = new Set(['asns', 'families', 'onlyCountries', 'onlyContinents', 'excludeCountries', 'budget'])

/** Where a field goes in an entry: the table's order, unknown fields last. */
export function fieldRank (field: string): number {
  const i = FIELD_ORDER.indexOf(field)
  return i === -1 ? FIELD_ORDER.length : i
}

export interface Header {
  /** The list's file name (without its folder, so the header does not change with where it was kept). */
  readonly source: string
  /** The overrides file's name, relative to the table. */
  readonly overrides: string
  /** Whether any entry was placed with the embedded DB-IP database. */
  readonly dbip: boolean
}

function ordered (doc: MirrorDoc): MirrorDoc {
  return Object.fromEntries(Object.entries(doc).sort(([a], [b]) => fieldRank(a) - fieldRank(b)))
}

export function headerLines (h: Header): string[] {
  return [
    'mirrorgate mirror table, written by `mirrorgate import-alpine` from ' + h.source + '.',
    "Mirror names and URLs: Alpine Linux's mirror list (https://mirrors.alpinelinux.org/), MIT licence.",
    ...(h.dbip ? ['Placement by IP address: DB-IP Lite City (https://db-ip.com), CC BY 4.0.'] : []),
    `Do not edit: a re-import rewrites this file. Settings of your own go in ${h.overrides},`,
    'which a re-import reads and keeps. Notes starting "review:" say what to check (and fix there).'
  ]
}

export function renderTable (participation: unknown, imported: readonly MirrorDoc[], extra: readonly MirrorDoc[], header: Header): string {
  const top: Record<string, unknown> = {}
  if (participation !== undefined && participation !== null) top.participation = participation
  top.mirrors = [...imported, ...extra].map(ordered)
  const doc = new Document(top)
  doc.commentBefore = headerLines(header).map((l) => ' ' + l).join('\n')
  visit(doc, {
    Pair (_key, pair) {
      const key = (pair.key as { value?: unknown } | null)?.value
      if (typeof key === 'string' && FLOW.has(key) && (isSeq(pair.value) || isMap(pair.value))) pair.value.flow = true
    }
  })
  const mirrors = doc.get('mirrors')
  if (extra.length > 0 && isSeq(mirrors)) {
    const first = mirrors.items[imported.length]
    if (isMap(first)) first.commentBefore = ` --- extra entries from ${header.overrides} ---`
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false })
}
