// Checks a mirror table the way the service reads it (tableFromDocument), but reports every
// bad entry, not only the first: each entry is validated on its own, then the whole table
// (the top level, participation, duplicate ids) once.

import { tableFromDocument } from '../config/table-file.js'
import { fieldProblem, type FieldProblem } from './field-problem.js'

export interface TableCheck {
  readonly problems: readonly FieldProblem[]
  /** Mirrors in the table and how many are enabled, when it is valid. */
  readonly mirrors: number | null
  readonly enabled: number | null
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function checkTable (doc: unknown, file: string): TableCheck {
  let whole: FieldProblem | null = null
  try {
    const table = tableFromDocument(doc, file)
    return { problems: [], mirrors: table.mirrors.length, enabled: table.mirrors.filter((m) => m.enabled).length }
  } catch (err) {
    whole = fieldProblem(err, file)
  }
  const rows = isMapping(doc) && Array.isArray(doc.mirrors) ? doc.mirrors as unknown[] : null
  // Not a list of entries, or a problem outside them: the one problem the whole check found.
  if (rows === null) return { problems: [whole], mirrors: null, enabled: null }
  const problems: FieldProblem[] = whole.field.startsWith('mirrors[') ? [] : [whole]
  rows.forEach((row, i) => {
    try {
      tableFromDocument({ mirrors: [row] }, file)
    } catch (err) {
      const p = fieldProblem(err, file)
      problems.push({ field: p.field.replace(/^mirrors\[0\]/, `mirrors[${i}]`), message: p.message })
    }
  })
  // Ids repeated among the entries, said as tableFromDocument says it.
  const seen = new Map<unknown, number>()
  rows.forEach((row, i) => {
    const id = isMapping(row) ? row.id : undefined
    if (typeof id !== 'string') return
    const first = seen.get(id)
    if (first !== undefined) problems.push({ field: `mirrors[${i}].id`, message: `duplicate id "${id}" (first at mirrors[${first}])` })
    else seen.set(id, i)
  })
  // Whatever the entry-by-entry checks missed, the whole check still found.
  if (problems.length === 0) problems.push(whole)
  return { problems, mirrors: null, enabled: null }
}
