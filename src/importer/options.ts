// The import-alpine command line: the flags read as every mirrorgate command reads them
// (parseFlags), every value checked, one clear error each.

import { basename, dirname, join } from 'node:path'
import { parseFlags } from '../cli/io.js'
import { ImportError } from './errors.js'

export const USAGE = `usage: mirrorgate import-alpine MIRRORS_YAML [--out TABLE] [--overrides FILE] [--config FILE] [--dry-run]
Makes a mirror table from Alpine's own mirror list (aports main/alpine-mirrors/mirrors.yaml).
Each mirror's host is resolved (A and AAAA) and placed by the GeoIP of its addresses; a host
that does not resolve is placed from the list's location text and marked "review:", and one
with neither is disabled. Its bandwidth becomes a starting budget; its weight is 10.

  MIRRORS_YAML       Alpine's list: name, location, bandwidth, urls per entry
  --out TABLE        write the table to TABLE (atomically, after validating it) and report
                     what changed against the table there; without it, the table goes to stdout
  --overrides FILE   the operator's own settings, read and never written (default: TABLE's name
                     with .overrides.yaml, e.g. mirrors.overrides.yaml, if it exists):
                       participation: { t1: full, community: overflow }
                       mirrors: { <id>: { weight: 30, enabled: false, budget: {...}, ... } }
                       extra: [ <whole table entries, e.g. Tier-1 sponsors> ]
                     its fields win over imported ones; a field set to null removes it
  --config FILE      mirrorgate config: geoip.databases (an ASN database adds asns) and the
                     instance region (the placeholder country of mirrors nobody can place)
  --timeout SECONDS  per host name resolution (default 5)
  --dry-run          report only; write nothing
  --help             this text
Exit status: 0 done, 1 failure (such as writing), 2 bad usage or input.`

export interface ImportOptions {
  readonly list: string
  readonly out: string | null
  readonly overrides: string | null
  /** Whether --overrides named the file: then it must exist. */
  readonly overridesGiven: boolean
  readonly config: string | null
  readonly timeoutMs: number
  readonly dryRun: boolean
  readonly help: boolean
}

/** TABLE's overrides file: mirrors.yaml → mirrors.overrides.yaml, beside it. */
export function defaultOverrides (out: string): string {
  return join(dirname(out), basename(out).replace(/\.ya?ml$/i, '') + '.overrides.yaml')
}

export function parseOptions (argv: readonly string[]): ImportOptions {
  const { values, positionals } = parseFlags(argv, {
    out: { type: 'string' },
    overrides: { type: 'string' },
    config: { type: 'string' },
    timeout: { type: 'string' },
    'dry-run': { type: 'boolean' }
  }, true, (message) => new ImportError(`${message} (--help for usage)`))
  const help = values.help === true
  const str = (k: keyof typeof values): string | null => {
    const v = values[k]
    if (v === '') throw new ImportError(`--${k}: must not be empty`)
    return typeof v === 'string' ? v : null
  }
  if (!help && positionals.length !== 1) {
    throw new ImportError(positionals.length === 0
      ? 'name the list to import: mirrorgate import-alpine MIRRORS_YAML (--help for usage)'
      : `one list at a time, got ${positionals.length}: ${positionals.join(' ')}`)
  }
  const timeoutText = str('timeout')
  const timeout = timeoutText === null ? 5 : Number(timeoutText)
  if (timeoutText !== null && (!/^\d+(\.\d+)?$/.test(timeoutText) || timeout < 0.01 || timeout > 300)) {
    throw new ImportError(`--timeout: "${timeoutText}" is not a number of seconds from 0.01 to 300`)
  }
  const out = str('out')
  const overrides = str('overrides')
  return {
    list: positionals[0] ?? '',
    out,
    overrides: overrides ?? (out === null ? null : defaultOverrides(out)),
    overridesGiven: overrides !== null,
    config: str('config'),
    timeoutMs: Math.round(timeout * 1000),
    dryRun: values['dry-run'] === true,
    help
  }
}
