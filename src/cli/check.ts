// `mirrorgate check`: validates a config file and the mirror table it names without starting
// anything, and prints every problem found as `file:line: field: message`, for CI on a
// table's repository. Exit 0 when both are valid, 2 when anything is wrong.

import { relative, resolve } from 'node:path'
import { DEFAULTS } from '../config/schema.js'
import { checkConfig } from './check-config.js'
import { checkTable } from './check-table.js'
import { EXIT, UsageError, flagOrEnv, parseFlags, type Command } from './io.js'
import { readYaml, type Problem, type YamlSource } from './yaml-source.js'
import type { FieldProblem } from './field-problem.js'

export const CHECK_USAGE = `usage: mirrorgate check [--config FILE] [--table FILE]
Validates the config file and the mirror table it names without starting; prints every
problem found as "file:line: field: message", and "ok: ..." for each valid file.

  --config FILE   YAML configuration (env MIRRORGATE_CONFIG; default: none, the built-in
                  defaults and their table, data/mirrors.yaml)
  --table FILE    mirror table to check instead of the one the config names
  --help          this text

Exit status: 0 all valid, 2 any problem (or bad usage), 1 an unexpected failure.`

/** A path as a person would look for it: relative to where the command runs when below it. */
function shown (file: string): string {
  const rel = relative(process.cwd(), file)
  return rel !== '' && !rel.startsWith('..') ? rel : file
}

/** Each problem on its line, in the order of the file. */
const located = (source: YamlSource, problems: readonly FieldProblem[]): Problem[] =>
  problems.map((p) => ({ file: source.file, line: source.lineOf(p.field), field: p.field, message: p.message }))
    .sort((a, b) => a.line - b.line)

function format (p: Problem): string {
  return `${shown(p.file)}:${p.line}: ${p.field === '' ? '' : `${p.field}: `}${p.message}`
}

export const checkCommand: Command = async (argv, io, env) => {
  const { values, positionals } = parseFlags(argv, { config: { type: 'string' }, table: { type: 'string' } }, true)
  if (values.help === true) {
    io.stdout.write(CHECK_USAGE + '\n')
    return EXIT.ok
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0] as string}"`)
  const configFile = flagOrEnv(values.config, env.MIRRORGATE_CONFIG)
  const problems: Problem[] = []
  const ok: string[] = []
  let tableFile = values.table === undefined || values.table === '' ? null : resolve(values.table)

  if (configFile !== null) {
    const file = resolve(configFile)
    const read = readYaml(file)
    if (!read.ok) {
      problems.push(...read.problems)
    } else {
      const result = checkConfig(read.source.value, file)
      problems.push(...located(read.source, result.problems))
      if (result.problems.length === 0) ok.push(`ok: ${shown(file)} (config)`)
      tableFile ??= result.table
    }
  } else {
    tableFile ??= DEFAULTS.table
  }

  if (tableFile !== null) {
    const read = readYaml(tableFile)
    if (!read.ok) {
      problems.push(...read.problems)
    } else {
      const result = checkTable(read.source.value, tableFile)
      problems.push(...located(read.source, result.problems))
      if (result.problems.length === 0) ok.push(`ok: ${shown(tableFile)} (table: ${result.mirrors ?? 0} mirrors, ${result.enabled ?? 0} enabled)`)
    }
  }

  for (const line of ok) io.stdout.write(line + '\n')
  for (const p of problems) io.stdout.write(format(p) + '\n')
  if (problems.length === 0) return EXIT.ok
  io.stderr.write(`mirrorgate check: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`)
  return EXIT.invalid
}
