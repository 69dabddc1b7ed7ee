// What-if changes to the mirror table, applied to the table file's parsed document before the
// real validator (tableFromDocument) reads it: the plan sees exactly the table mirrorgate would.
//
//   enable: [osso-nl, 'tier:t1']          # entries to enable, by id or by tier
//   participation: { t1: full, community: overflow, mirror-yandex-ru: country }
//                                         # t1/community: the tier defaults; any other key: one entry
//   budgets: { osso-nl: { megabitsPerSecond: 400 } }

import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { PARTICIPATIONS, type Participation } from '../core/capacity.js'
import type { MirrorTable, Tier } from '../core/types.js'
import { tableFromDocument } from '../config/table-file.js'
import { PlanError } from './errors.js'

const TIERS: readonly Tier[] = ['t1', 'community']
const OVERLAY_KEYS = ['enable', 'participation', 'budgets']

export interface Overlay {
  /** Ids, or 'tier:<tier>' for every entry of a tier. */
  readonly enable: readonly string[]
  readonly tiers: Partial<Record<Tier, Participation>>
  readonly participation: ReadonlyMap<string, Participation>
  /** As written: the table's validator checks the numbers. */
  readonly budgets: ReadonlyMap<string, unknown>
}

export const NO_OVERLAY: Overlay = { enable: [], tiers: {}, participation: new Map(), budgets: new Map() }

function isMapping (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A YAML file's document (duplicate keys refused); `what` names the file in errors. */
function readYamlFile (file: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new PlanError(`${file}: cannot read ${what}: ${(err as Error).message}`)
  }
  try {
    return parseYaml(text, { uniqueKeys: true })
  } catch (err) {
    throw new PlanError(`${file}: not valid YAML: ${(err as Error).message}`)
  }
}

/** Reads and checks an overlay file's shape; which ids exist is checked when it is applied. */
export function readOverlay (file: string): Overlay {
  return overlayFromDocument(readYamlFile(file, 'the overlay') ?? {}, file)
}

export function overlayFromDocument (doc: unknown, file: string): Overlay {
  if (!isMapping(doc)) throw new PlanError(`${file}: an overlay is a mapping with ${OVERLAY_KEYS.join(', ')}`)
  for (const key of Object.keys(doc)) {
    if (!OVERLAY_KEYS.includes(key)) throw new PlanError(`${file}: unknown key "${key}" (expected ${OVERLAY_KEYS.join(', ')})`)
  }
  const enable = doc.enable ?? []
  if (!Array.isArray(enable) || !enable.every((e): e is string => typeof e === 'string')) {
    throw new PlanError(`${file}: enable: must be a list of mirror ids or 'tier:t1' / 'tier:community'`)
  }
  const tiers: Partial<Record<Tier, Participation>> = {}
  const participation = new Map<string, Participation>()
  const given = doc.participation ?? {}
  if (!isMapping(given)) throw new PlanError(`${file}: participation: must map a tier or a mirror id to ${PARTICIPATIONS.join(', ')}`)
  for (const [key, value] of Object.entries(given)) {
    if (typeof value !== 'string' || !(PARTICIPATIONS as readonly string[]).includes(value)) {
      throw new PlanError(`${file}: participation.${key}: must be one of ${PARTICIPATIONS.join(', ')}`)
    }
    if ((TIERS as readonly string[]).includes(key)) tiers[key as Tier] = value as Participation
    else participation.set(key, value as Participation)
  }
  const budgets = doc.budgets ?? {}
  if (!isMapping(budgets)) throw new PlanError(`${file}: budgets: must map mirror ids to { requestsPerSecond, megabitsPerSecond }`)
  return { enable, tiers, participation, budgets: new Map(Object.entries(budgets)) }
}

/** The table document with the overlay applied (a copy); an id the table lacks is an error. */
export function applyOverlay (doc: unknown, overlay: Overlay, file: string): unknown {
  if (!isMapping(doc) || !Array.isArray(doc.mirrors)) return doc // the validator says what is wrong
  const mirrors = doc.mirrors.map((m: unknown) => isMapping(m) ? { ...m } : m)
  const entry = (id: string, field: string): Record<string, unknown> => {
    const found = mirrors.find((m) => isMapping(m) && m.id === id)
    if (found === undefined) throw new PlanError(`${file}: ${field}: no mirror "${id}" in the table`)
    return found as Record<string, unknown>
  }
  for (const name of overlay.enable) {
    if (name.startsWith('tier:')) {
      const tier = name.slice('tier:'.length)
      if (!(TIERS as readonly string[]).includes(tier)) throw new PlanError(`${file}: enable: unknown tier "${tier}" (expected ${TIERS.join(', ')})`)
      for (const m of mirrors) if (isMapping(m) && m.tier === tier) m.enabled = true
    } else {
      entry(name, 'enable').enabled = true
    }
  }
  for (const [id, p] of overlay.participation) entry(id, `participation.${id}`).participation = p
  for (const [id, b] of overlay.budgets) entry(id, `budgets.${id}`).budget = b
  const tiers = { ...(isMapping(doc.participation) ? doc.participation : {}), ...overlay.tiers }
  return { ...doc, ...(Object.keys(tiers).length > 0 ? { participation: tiers } : {}), mirrors }
}

/** The table file with the overlay applied, validated as mirrorgate validates a table. */
export function loadPlanTable (tableFile: string, overlay: Overlay, overlayFile: string | null): MirrorTable {
  const doc = readYamlFile(tableFile, 'the table')
  const label = overlayFile === null ? tableFile : `${tableFile} with ${overlayFile}`
  return tableFromDocument(applyOverlay(doc, overlay, overlayFile ?? tableFile), label)
}
