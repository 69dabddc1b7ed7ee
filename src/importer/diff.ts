// What a new table changes against the previous one, by mirror id: added, removed, and for the
// rest the fields whose values differ (an empty list and an absent field count as the same),
// in the table's field order.

import type { MirrorDoc } from './mirror-entry.js'
import { fieldRank } from './render.js'

export interface FieldChange { readonly field: string, readonly before: unknown, readonly after: unknown }

export interface TableDiff {
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly changed: ReadonlyArray<{ readonly id: string, readonly fields: readonly FieldChange[] }>
  readonly unchanged: number
  /** The top-level participation changed. */
  readonly participation: FieldChange | null
}

/** Canonical text of a value: keys sorted, so key order never counts as a change. */
function canonical (v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? '' : `[${v.map(canonical).join(',')}]`
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return v === undefined || v === null ? '' : JSON.stringify(v)
}

function fieldChanges (before: MirrorDoc, after: MirrorDoc): FieldChange[] {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => fieldRank(a) - fieldRank(b))
  return fields.filter((f) => canonical(before[f]) !== canonical(after[f]))
    .map((field) => ({ field, before: before[field], after: after[field] }))
}

const byId = (docs: readonly MirrorDoc[]): Map<string, MirrorDoc> =>
  new Map(docs.filter((d) => typeof d.id === 'string').map((d) => [d.id as string, d]))

export function diffTables (before: { participation?: unknown, mirrors: readonly MirrorDoc[] }, after: { participation?: unknown, mirrors: readonly MirrorDoc[] }): TableDiff {
  const old = byId(before.mirrors)
  const now = byId(after.mirrors)
  const changed: Array<{ id: string, fields: FieldChange[] }> = []
  let unchanged = 0
  for (const [id, doc] of now) {
    const prev = old.get(id)
    if (prev === undefined) continue
    const fields = fieldChanges(prev, doc)
    if (fields.length > 0) changed.push({ id, fields })
    else unchanged++
  }
  return {
    added: [...now.keys()].filter((id) => !old.has(id)),
    removed: [...old.keys()].filter((id) => !now.has(id)),
    changed,
    unchanged,
    participation: canonical(before.participation) === canonical(after.participation)
      ? null
      : { field: 'participation', before: before.participation, after: after.participation }
  }
}
