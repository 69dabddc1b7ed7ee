// The table to write: the imported entries with the operator's overrides laid over them, then
// the operator's extra entries. Each entry is checked on its own first, so a bad override is
// reported against the overrides file and its id, not against a position in the output.

import { ImportError } from './errors.js'
import type { ImportedMirror, MirrorDoc } from './mirror-entry.js'
import { checkEntry, overlay, type Overrides } from './overrides.js'

export interface Merged {
  readonly participation: unknown
  readonly imported: readonly MirrorDoc[]
  readonly extra: readonly MirrorDoc[]
  /** Override ids that match no imported mirror: left out of the table, said in the report. */
  readonly unmatched: readonly string[]
  /** Imported mirrors that have overrides. */
  readonly overridden: number
}

export function merge (imported: readonly ImportedMirror[], overrides: Overrides): Merged {
  const file = overrides.file ?? 'overrides'
  const ids = new Set(imported.map((m) => m.id))
  const docs = imported.map((m) => {
    const fields = overrides.mirrors.get(m.id)
    if (fields === undefined) return m.doc
    const doc = overlay(m.doc, fields)
    checkEntry(doc, file, `mirrors.${m.id}`)
    return doc
  })
  const extraIds = new Set<string>()
  overrides.extra.forEach((e, i) => {
    checkEntry(e, file, `extra[${i}]`)
    const id = e.id as string
    if (ids.has(id)) throw new ImportError(`${file}: extra[${i}].id: "${id}" is an imported mirror; set its fields under mirrors.${id} instead`)
    if (extraIds.has(id)) throw new ImportError(`${file}: extra[${i}].id: duplicate id "${id}"`)
    extraIds.add(id)
  })
  return {
    participation: overrides.participation,
    imported: docs,
    extra: overrides.extra,
    unmatched: [...overrides.mirrors.keys()].filter((id) => !ids.has(id)),
    overridden: [...overrides.mirrors.keys()].filter((id) => ids.has(id)).length
  }
}
