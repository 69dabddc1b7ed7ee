// What every mirrorgate subcommand shares: where it writes, the environment it reads, its exit
// codes, and the one error that means "bad usage" (exit 2, with a pointer to --help).

import { parseArgs, type ParseArgsConfig } from 'node:util'

export interface Io { readonly stdout: NodeJS.WritableStream, readonly stderr: NodeJS.WritableStream }

export type Env = Readonly<Record<string, string | undefined>>

/** 0: done; 1: a runtime failure; 2: bad usage or invalid input (a file, an address, a flag). */
export const EXIT = { ok: 0, failure: 1, invalid: 2 } as const

/**
 * A subcommand: resolves to its exit code, or null when it keeps running (serve, which exits
 * on its own signals).
 */
export type Command = (argv: readonly string[], io: Io, env: Env) => Promise<number | null>

/** The command line is wrong: the message and a pointer to --help, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

/**
 * node:util parseArgs with --help/-h added; its complaints become UsageErrors, or the error a
 * command reports bad input with (`asError`).
 */
export function parseFlags<O extends Options> (argv: readonly string[], options: O, allowPositionals: boolean,
  asError: (message: string) => Error = (message) => new UsageError(message)) {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals })
  } catch (err) {
    throw asError((err as Error).message)
  }
}

/** A value from the command line or, when not given there, the environment; '' counts as not given. */
export function flagOrEnv (flag: string | undefined, env: string | undefined): string | null {
  if (flag !== undefined && flag !== '') return flag
  return env === undefined || env === '' ? null : env
}
