// Checks a config document the way the service reads it (configFromDocument), but reports a
// problem in each field, not only the first: each key of each section is validated against its
// own part of the schema, then the whole document (rules across fields) once. Also: the GeoIP
// databases it names must be readable, as start-up needs them.

import { accessSync, constants } from 'node:fs'
import { dirname, resolve } from 'node:path'
import Type, { type TSchema } from 'typebox'
import { CONFIG_DOCUMENT, DEFAULTS, configFromDocument, type Config } from '../config/schema.js'
import { validator } from '../config/validate.js'
import { fieldProblem, type FieldProblem } from './field-problem.js'

export interface ConfigCheck {
  readonly problems: readonly FieldProblem[]
  /** The table file the config names (absolute), or null when that field is itself wrong. */
  readonly table: string | null
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function unreadableDatabases (config: Config): FieldProblem[] {
  return config.geoip.databases.flatMap((file, i) => {
    try {
      accessSync(file, constants.R_OK)
      return []
    } catch (err) {
      return [{ field: `geoip.databases[${i}]`, message: `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]
    }
  })
}

interface MappingSchema { readonly properties: Record<string, TSchema>, readonly required?: readonly string[] }

const isMappingSchema = (s: TSchema): s is TSchema & MappingSchema =>
  (s as { type?: unknown }).type === 'object' && typeof (s as { properties?: unknown }).properties === 'object'

/**
 * The problems in `value` at `field` against `schema`: a mapping key by key (so that each
 * bad key is found), anything else as a whole (the first problem in it).
 */
function problemsIn (schema: TSchema, value: unknown, field: string): FieldProblem[] {
  if (isMappingSchema(schema) && isMapping(value)) {
    const at = (key: string): string => field === '' ? key : `${field}.${key}`
    const missing = (schema.required ?? []).filter((k) => value[k] === undefined && (schema.properties[k] as { default?: unknown }).default === undefined)
    return [
      ...missing.map((k) => ({ field: at(k), message: 'is required' })),
      ...Object.entries(value).flatMap(([key, v]) => {
        const sub = schema.properties[key]
        return sub === undefined
          ? [{ field: at(key), message: `unknown field (known: ${Object.keys(schema.properties).join(', ')})` }]
          : problemsIn(sub, v, at(key))
      })
    ]
  }
  // Checked inside a one-field document ('v'), so the problem names its field as the whole check would.
  const checked = validator(Type.Object({ v: schema }))({ v: value })
  return checked.ok ? [] : [{ field: checked.field.replace(/^v/, field), message: checked.what }]
}

export function checkConfig (doc: unknown, file: string): ConfigCheck {
  const baseDir = dirname(file)
  let whole: FieldProblem
  try {
    const config = configFromDocument(doc, file, baseDir)
    return { problems: unreadableDatabases(config), table: config.table }
  } catch (err) {
    whole = fieldProblem(err, file)
  }
  if (!isMapping(doc)) return { problems: [whole], table: null }
  const problems = problemsIn(CONFIG_DOCUMENT, doc, '')
  // A rule across fields (or anything the field-by-field checks missed): the whole check's problem.
  if (problems.length === 0) problems.push(whole)
  const table = doc.table === undefined ? DEFAULTS.table : typeof doc.table === 'string' && doc.table !== '' ? resolve(baseDir, doc.table) : null
  return { problems, table }
}
