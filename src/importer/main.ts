// `mirrorgate import-alpine`: Alpine's mirror list → a validated mirrorgate table, with the
// operator's overrides kept and a report of what changed. Returns the exit status: 0 done,
// 1 failure, 2 bad usage or input (one line saying what is wrong).

import { readFile } from 'node:fs/promises'
import { basename, dirname, relative } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { writeAtomically } from '../atomic-write.js'
import { readConfigFile } from '../config/load.js'
import { DEFAULTS, EMBEDDED_GEOIP, type Config } from '../config/schema.js'
import { parseTableText } from '../config/table-file.js'
import { MgError } from '../errors.js'
import { GeoIp } from '../geoip/reader.js'
import { parseAlpineList } from './alpine-list.js'
import { diffTables } from './diff.js'
import { ImportError } from './errors.js'
import { merge } from './merge.js'
import { importMirror, placeholderOf, uniqueIds, type MirrorDoc } from './mirror-entry.js'
import { USAGE, parseOptions, type ImportOptions } from './options.js'
import { NO_OVERRIDES, readOverrides } from './overrides.js'
import { formatReport } from './report.js'
import { renderTable } from './render.js'
import { resolveAll, systemResolve, type Resolve } from './resolve.js'

export { USAGE } from './options.js'

export interface ImportIo { readonly stdout: NodeJS.WritableStream, readonly stderr: NodeJS.WritableStream }
export interface ImportDeps { readonly resolve?: Resolve }

/** GeoIP lookups of a few hundred hosts: a small cache is plenty. */
const GEOIP_CACHE = 10_000

async function readText (file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new ImportError(`${file}: cannot read ${what}: ${(err as Error).message}`)
  }
}

/** The table now at --out, as documents; null when there is none. Anything else there is not overwritten. */
async function previousTable (file: string): Promise<{ participation?: unknown, mirrors: MirrorDoc[] } | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new ImportError(`${file}: cannot read the previous table: ${(err as Error).message}`)
  }
  let doc: unknown
  try { doc = parseYaml(text) } catch { doc = undefined }
  const top = doc as { participation?: unknown, mirrors?: unknown } | null | undefined
  if (typeof top !== 'object' || top === null || !Array.isArray(top.mirrors)) {
    throw new ImportError(`${file}: is there, but is not a mirror table (no mirrors list): not overwritten`)
  }
  return { participation: top.participation, mirrors: top.mirrors.filter((m): m is MirrorDoc => typeof m === 'object' && m !== null) }
}

async function run (options: ImportOptions, io: ImportIo, deps: ImportDeps): Promise<number> {
  const list = parseAlpineList(await readText(options.list, 'the mirror list'), options.list)
  const config: Config = options.config === null ? DEFAULTS : readConfigFile(options.config)
  const geoip = new GeoIp(config.geoip.databases, config.instance, GEOIP_CACHE)
  // Every input is read and checked before the slow part, resolving.
  const overrides = options.overrides === null ? NO_OVERRIDES : await readOverrides(options.overrides, options.overridesGiven)
  const previous = options.out === null ? null : await previousTable(options.out)

  const resolutions = await resolveAll(list.entries.map((e) => e.host), deps.resolve ?? systemResolve, options.timeoutMs)
  const placeholder = placeholderOf(config.instance)
  const imported = uniqueIds(list.entries).map(({ id, note }, i) => {
    const entry = list.entries[i] as (typeof list.entries)[number]
    const noted = note === null ? entry : { ...entry, notes: [...entry.notes, note] }
    return importMirror(noted, id, resolutions.get(entry.host), geoip, placeholder)
  })
  const merged = merge(imported, overrides)

  const embedded = config.geoip.databases.some((d) => EMBEDDED_GEOIP.includes(d))
  const overridesName = options.overrides === null
    ? 'an overrides file (--overrides)'
    : options.out === null ? options.overrides : relative(dirname(options.out), options.overrides)
  const text = renderTable(merged.participation, merged.imported, merged.extra, {
    source: basename(options.list),
    overrides: overridesName,
    dbip: embedded && imported.some((m) => m.placement === 'geoip')
  })
  // The real validator, on the very text to be written.
  parseTableText(text, options.out ?? 'the imported table')

  const mirrors = [...merged.imported, ...merged.extra]
  const report = formatReport({
    listFile: options.list,
    list,
    imported,
    hosts: resolutions.size,
    resolved: [...resolutions.values()].filter((r) => 'addresses' in r).length,
    merged,
    overridesFile: options.overrides,
    overridesRead: overrides.file !== null,
    diff: previous === null ? null : diffTables(previous, { participation: merged.participation, mirrors }),
    outFile: options.out
  })
  if (options.out === null) {
    if (!options.dryRun) io.stdout.write(text)
    io.stderr.write(report)
    return 0
  }
  io.stdout.write(report)
  if (options.dryRun) {
    io.stdout.write(`dry run: ${options.out} not written\n`)
    return 0
  }
  try {
    await writeAtomically(options.out, text)
  } catch (err) {
    io.stderr.write(`import-alpine: ${options.out}: cannot write the table: ${(err as Error).message}\n`)
    return 1
  }
  io.stdout.write(`wrote ${options.out}: ${mirrors.length} mirrors\n`)
  return 0
}

/** `mirrorgate import-alpine …`: argv holds the arguments after the command's name. */
export async function importAlpineCommand (argv: string[], io: ImportIo, deps: ImportDeps = {}): Promise<number> {
  try {
    const options = parseOptions(argv)
    if (options.help) {
      io.stdout.write(USAGE + '\n')
      return 0
    }
    return await run(options, io, deps)
  } catch (err) {
    // Bad input: the list, the overrides, the config, or a table they make that does not validate.
    if (err instanceof ImportError || (err instanceof MgError && (err.code === 'MG_ERR_CONFIG_INVALID' || err.code === 'MG_ERR_TABLE_INVALID'))) {
      io.stderr.write(`import-alpine: ${err.message}\n`)
      return 2
    }
    io.stderr.write(`import-alpine: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    return 1
  }
}
