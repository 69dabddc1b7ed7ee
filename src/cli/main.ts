#!/usr/bin/env node
// The `mirrorgate` command: one entry point for the service and its tools. Each subcommand is
// loaded only when asked for, so `check` and `--help` do not load the HTTP stack.

import { readFileSync } from 'node:fs'
import { MgError, type ErrorCode } from '../errors.js'
import { EXIT, UsageError, type Command, type Env, type Io } from './io.js'

interface Subcommand { readonly summary: string, readonly load: () => Promise<Command> }

const COMMANDS: Readonly<Record<string, Subcommand>> = {
  serve: { summary: 'run the redirector (what `npm start` runs; same flags and environment)', load: async () => (await import('./serve.js')).serveCommand },
  check: { summary: 'validate a config file and its mirror table without starting', load: async () => (await import('./check.js')).checkCommand },
  explain: { summary: 'why a client and path go to a mirror, offline from the files (JSON)', load: async () => (await import('./explain.js')).explainCommand },
  'import-alpine': {
    summary: "import Alpine Linux's public mirror list into a mirror table",
    load: async () => {
      const { importAlpineCommand } = await import('../importer/main.js')
      return async (argv, io) => await importAlpineCommand([...argv], io)
    }
  },
  simulate: {
    summary: 'plan each mirror\'s load against its budget (what `npm run simulate` runs)',
    load: async () => {
      const { simulateCommand } = await import('../planner/main.js')
      return async (argv, io) => await simulateCommand(argv, io)
    }
  }
}

const USAGE = `usage: mirrorgate <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(15)}${c.summary}`).join('\n')}

Run "mirrorgate <command> --help" for a command's options; "mirrorgate --version" for the version.

Exit status: 0 ok, 1 a runtime failure, 2 bad usage or invalid input.`

/** Errors that mean the input (a file, an address, a path) is wrong, not the program. */
const INVALID_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['MG_ERR_CONFIG_INVALID', 'MG_ERR_TABLE_INVALID', 'MG_ERR_BAD_QUERY', 'MG_ERR_BAD_REGION_HINT'])

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Runs one command line; resolves to the exit code, or null while `serve` runs. */
async function run (argv: readonly string[], io: Io, env: Env): Promise<number | null> {
  const [name, ...rest] = argv
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout.write(USAGE + '\n')
    return EXIT.ok
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(version() + '\n')
    return EXIT.ok
  }
  if (name === undefined) {
    io.stderr.write(USAGE + '\n')
    return EXIT.invalid
  }
  // `mirrorgate help check` is `mirrorgate check --help`.
  const [command, args] = name === 'help' ? [rest[0] as string, ['--help']] : [name, rest]
  const sub = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
  if (sub === undefined) {
    io.stderr.write(`mirrorgate: unknown command "${command}"\nRun "mirrorgate --help" for the commands.\n`)
    return EXIT.invalid
  }
  try {
    return await (await sub.load())(args, io, env)
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`mirrorgate ${command}: ${err.message}\nRun "mirrorgate ${command} --help" for usage.\n`)
      return EXIT.invalid
    }
    if (err instanceof MgError) {
      io.stderr.write(`mirrorgate ${command}: ${err.code}: ${err.message}\n`)
      return INVALID_INPUT.has(err.code) ? EXIT.invalid : EXIT.failure
    }
    io.stderr.write(`mirrorgate ${command}: ${(err as Error).stack ?? String(err)}\n`)
    return EXIT.failure
  }
}

// Set the exit code rather than exit, so that what was written reaches a pipe in full.
void run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }, process.env).then((code) => {
  if (code !== null) process.exitCode = code
})
