// The operator's own settings, kept in a file of their own that a re-import reads and never
// writes:
//   participation: { t1: full, community: overflow }   # the table's top-level participation
//   mirrors:                                           # per imported id: fields that win
//     mirror-yandex-ru: { weight: 30, budget: { megabitsPerSecond: 2000 } }
//     dl-2-alpinelinux-org: { enabled: false, note: "gone" }
//   extra:                                             # whole entries not in Alpine's list
//     - { id: osso-nl, name: ..., tier: t1, ... }
// A field set to null removes the imported one (a budget, say).

import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { tableFromDocument } from '../config/table-file.js'
import { MgError } from '../errors.js'
import { ImportError } from './errors.js'
import type { MirrorDoc } from './mirror-entry.js'

export interface Overrides {
  /** The file read, or null when there was none. */
  readonly file: string | null
  readonly participation: unknown
  readonly mirrors: ReadonlyMap<string, MirrorDoc>
  readonly extra: readonly MirrorDoc[]
}

export const NO_OVERRIDES: Overrides = { file: null, participation: undefined, mirrors: new Map(), extra: [] }

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Reads the overrides; a missing file is no overrides unless `required` (named on the command line). */
export async function readOverrides (file: string, required: boolean): Promise<Overrides> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return NO_OVERRIDES
    throw new ImportError(`${file}: cannot read the overrides: ${(err as Error).message}`)
  }
  let doc: unknown
  try {
    doc = parseYaml(text, { uniqueKeys: true }) ?? {}
  } catch (err) {
    throw new ImportError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  if (!isMapping(doc)) throw new ImportError(`${file}: expected a mapping with participation, mirrors and extra`)
  for (const k of Object.keys(doc)) {
    if (!['participation', 'mirrors', 'extra'].includes(k)) throw new ImportError(`${file}: ${k}: unknown field (known: participation, mirrors, extra)`)
  }
  const mirrors = new Map<string, MirrorDoc>()
  if (doc.mirrors !== undefined && doc.mirrors !== null) {
    if (!isMapping(doc.mirrors)) throw new ImportError(`${file}: mirrors: expected a mapping from mirror id to the fields it sets`)
    for (const [id, fields] of Object.entries(doc.mirrors)) {
      if (!isMapping(fields)) throw new ImportError(`${file}: mirrors.${id}: expected a mapping of table fields (weight, enabled, …)`)
      if ('id' in fields) throw new ImportError(`${file}: mirrors.${id}.id: an id cannot be overridden (the key is the id)`)
      mirrors.set(id, fields)
    }
  }
  let extra: MirrorDoc[] = []
  if (doc.extra !== undefined && doc.extra !== null) {
    if (!Array.isArray(doc.extra)) throw new ImportError(`${file}: extra: expected a list of table entries`)
    extra = doc.extra.map((e, i) => {
      if (!isMapping(e)) throw new ImportError(`${file}: extra[${i}]: expected a table entry (a mapping)`)
      return e
    })
  }
  return { file, participation: doc.participation, mirrors, extra }
}

/** `base` with `fields` laid over it; null removes a field. */
export function overlay (base: MirrorDoc, fields: MirrorDoc): MirrorDoc {
  const out: MirrorDoc = { ...base }
  for (const [k, v] of Object.entries(fields)) {
    if (v === null) delete out[k]
    else out[k] = v
  }
  return out
}

/** Checks one entry with the table's own validator; errors name `label` instead of mirrors[0]. */
export function checkEntry (doc: MirrorDoc, file: string, label: string): void {
  try {
    tableFromDocument({ mirrors: [doc] }, file)
  } catch (err) {
    if (err instanceof MgError) throw new ImportError(err.message.replace(`${file}: mirrors[0]`, `${file}: ${label}`))
    throw err
  }
}
