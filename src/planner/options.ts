// The planner's command line: the flags read as every mirrorgate command reads them
// (parseFlags), every value checked, one clear error each.

import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFlags } from '../cli/io.js'
import { PlanError } from './errors.js'
import { MAX_NETWORKS } from './population.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEFAULT_TABLE = resolve(root, 'data', 'mirrors.yaml')
export const DEFAULT_DEMAND = resolve(root, 'data', 'demand.csv')

export const USAGE = `usage: npm run simulate -- [options]
What load each mirror would get, against its budget, from the real redirect decision played
on a simulated clock. Prints the plan as Markdown; --out also writes it with an SVG.

  --table FILE        mirror table (default data/mirrors.yaml)
  --overlay FILE      what-if changes applied before validation (YAML):
                        enable: [<id>, 'tier:t1', ...]
                        participation: { t1: full, community: overflow, <id>: country }
                        budgets: { <id>: { requestsPerSecond: N, megabitsPerSecond: N } }
  --demand FILE       CSV "country,weight" (header; '#' lines are comments), or client
                      addresses one a line (default data/demand.csv)
  --volume N          requests a second in total (default 10000)
  --networks N        client /24s sampled for a country CSV (default 100000, at most ${MAX_NETWORKS})
  --requests N        requests counted at least, after the warm-up (default 1000000)
  --seed N            sample and interleaving seed (default 1)
  --share N           this instance's share of every budget, 0-1 (default: the config's capacity.share)
  --https-share N     fraction of requests over https, 0-1 (default 0.9)
  --config FILE       mirrorgate config for capacity, selection, freshness, linkCount, fallback
                      (probes are never run)
  --title TEXT        the plan's title (default: the overlay's name, or the table's)
  --out DIR           also write DIR/<name>.md and DIR/<name>.svg
  --name NAME         file name for --out (default plan)
  --make-demand FILE  write a demand CSV from the embedded DB-IP database (public IPv4 /24s per
                      country) and stop
  --help              this text`

export interface PlanOptions {
  readonly table: string
  readonly overlay: string | null
  readonly demand: string
  readonly volume: number
  readonly networks: number
  readonly requests: number
  readonly seed: number
  readonly share: number | null
  readonly httpsShare: number
  readonly config: string | null
  readonly title: string | null
  readonly out: string | null
  readonly name: string
  readonly makeDemand: string | null
  readonly help: boolean
  /** The command line that makes this plan again. */
  readonly command: string
}

function number (flag: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (text === undefined) return fallback
  const ok = integer ? /^[0-9]+$/.test(text) : /^[0-9]+(\.[0-9]+)?$|^\.[0-9]+$/.test(text)
  const n = Number(text)
  if (!ok || n < min || n > max) throw new PlanError(`${flag}: "${text}" is not ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`)
  return n
}

/** A path as a person gave it, or the default relative to where the planner runs. */
const shown = (file: string): string => relative(process.cwd(), file) || file

export function parseOptions (argv: readonly string[]): PlanOptions {
  const { values } = parseFlags(argv, {
    table: { type: 'string' },
    overlay: { type: 'string' },
    demand: { type: 'string' },
    volume: { type: 'string' },
    networks: { type: 'string' },
    requests: { type: 'string' },
    seed: { type: 'string' },
    share: { type: 'string' },
    'https-share': { type: 'string' },
    config: { type: 'string' },
    title: { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    'make-demand': { type: 'string' }
  }, false, (message) => new PlanError(`${message} (--help for usage)`))
  const str = (k: keyof typeof values): string | undefined => {
    const v = values[k]
    if (v === '') throw new PlanError(`--${k}: must not be empty`)
    return typeof v === 'string' ? v : undefined
  }
  const name = str('name') ?? 'plan'
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name) || name.startsWith('.')) throw new PlanError(`--name: "${name}" must be a plain file name (letters, digits, . _ -)`)
  return {
    table: str('table') ?? shown(DEFAULT_TABLE),
    overlay: str('overlay') ?? null,
    demand: str('demand') ?? shown(DEFAULT_DEMAND),
    volume: number('--volume', str('volume'), 10_000, 0.001, 10_000_000, false),
    networks: number('--networks', str('networks'), 100_000, 1, MAX_NETWORKS, true),
    requests: number('--requests', str('requests'), 1_000_000, 1, 100_000_000, true),
    seed: number('--seed', str('seed'), 1, 0, 4294967295, true),
    share: str('share') === undefined ? null : number('--share', str('share'), 1, 0.0001, 1, false),
    httpsShare: number('--https-share', str('https-share'), 0.9, 0, 1, false),
    config: str('config') ?? null,
    title: str('title') ?? null,
    out: str('out') ?? null,
    name,
    makeDemand: str('make-demand') ?? null,
    help: values.help === true,
    command: ['npm run simulate --', ...argv.map((a) => /^[A-Za-z0-9._/:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)].join(' ')
  }
}
