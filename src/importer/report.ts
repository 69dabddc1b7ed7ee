// The printed report: what was read, skipped and placed how, what needs review, and what the
// new table changes against the previous one.

import type { AlpineList } from './alpine-list.js'
import type { TableDiff } from './diff.js'
import type { Merged } from './merge.js'
import type { ImportedMirror } from './mirror-entry.js'

export interface ReportInput {
  readonly listFile: string
  readonly list: AlpineList
  readonly imported: readonly ImportedMirror[]
  /** Hosts asked, and how many of them gave addresses. */
  readonly hosts: number
  readonly resolved: number
  readonly merged: Merged
  /** The overrides file looked for (null: none), and whether it was there. */
  readonly overridesFile: string | null
  readonly overridesRead: boolean
  /** Against the table at --out; null when there was none. */
  readonly diff: TableDiff | null
  readonly outFile: string | null
}

/** A value in one short line. */
function short (v: unknown): string {
  if (v === undefined || v === null) return '(none)'
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v)
  return text.length > 70 ? text.slice(0, 69) + '…' : text
}

export function formatReport (r: ReportInput): string {
  const count = (p: ImportedMirror['placement']): number => r.imported.filter((m) => m.placement === p).length
  const lines = [`import-alpine: ${r.list.entries.length + r.list.skipped.length} entries in ${r.listFile}, ${r.imported.length} imported`]
  if (r.list.skipped.length > 0) {
    lines.push(`skipped (${r.list.skipped.length}):`)
    for (const s of r.list.skipped) lines.push(`  [${s.index}] ${s.name}: ${s.reason}`)
  }
  lines.push(`resolved: ${r.resolved} of ${r.hosts} hosts`)
  if (r.hosts > 0 && r.resolved === 0) lines.push('warning: no host resolved (offline?): every placement comes from the list\'s location text')
  lines.push(`placed: ${count('geoip')} by GeoIP of their addresses, ${count('location')} from the list's location text, ` +
    `${count('unplaced')} not placed (disabled)`)
  for (const w of r.list.warnings) lines.push(`warning: ${w}`)
  const review = r.imported.filter((m) => m.review.length > 0)
  if (review.length > 0) {
    lines.push(`review (${review.length}):`)
    for (const m of review) lines.push(`  ${m.id} [${m.entry.index}]: ${m.review.join('; ')}`)
  }
  if (r.overridesFile !== null && r.overridesRead) {
    lines.push(`overrides from ${r.overridesFile}: ${r.merged.overridden} mirrors overridden, ${r.merged.extra.length} extra`)
    for (const id of r.merged.unmatched) lines.push(`  warning: mirrors.${id} matches no imported mirror (gone from the list?): not in the table`)
  } else {
    lines.push(`overrides: ${r.overridesFile === null ? 'none' : `none (no ${r.overridesFile})`}`)
  }
  const d = r.diff
  if (r.outFile !== null && d === null) lines.push(`no previous table at ${r.outFile}: every mirror is new`)
  if (d !== null) {
    const total = d.added.length + d.removed.length + d.changed.length + (d.participation === null ? 0 : 1)
    lines.push(`changes against ${r.outFile ?? 'the previous table'}: ${total === 0 ? 'none' : `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`}, ${d.unchanged} unchanged`)
    if (d.added.length > 0) lines.push(`  added: ${d.added.join(', ')}`)
    if (d.removed.length > 0) lines.push(`  removed: ${d.removed.join(', ')}`)
    for (const c of d.changed) {
      lines.push(`  changed ${c.id}: ${c.fields.map((f) => `${f.field} ${short(f.before)} → ${short(f.after)}`).join('; ')}`)
    }
    if (d.participation !== null) lines.push(`  participation: ${short(d.participation.before)} → ${short(d.participation.after)}`)
  }
  return lines.join('\n') + '\n'
}
