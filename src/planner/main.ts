// `npm run simulate` and `mirrorgate simulate`: the planner's entry point. Bad input exits 2
// with one line saying what is wrong; anything unforeseen exits 1 with its stack.

import type { Io } from '../cli/io.js'
import { MgError } from '../errors.js'
import { PlanError } from './errors.js'
import { USAGE, parseOptions } from './options.js'
import { makeDemandFile, makePlan, plannerConfig, writePlan } from './run.js'

async function main (argv: readonly string[], io: Io): Promise<number> {
  const options = parseOptions(argv)
  if (options.help) {
    io.stdout.write(USAGE + '\n')
    return 0
  }
  const started = performance.now()
  const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1)
  if (options.makeDemand !== null) {
    const count = makeDemandFile(options.makeDemand, plannerConfig(options.config))
    io.stderr.write(`simulate: ${options.makeDemand}: ${count.counts.size} countries from ${count.scanned} public /24s (${count.unplaced} unplaced) in ${seconds()} s\n`)
    return 0
  }
  const result = await makePlan(options)
  io.stdout.write(result.markdown)
  if (options.out !== null) {
    const files = writePlan(result, options.out, options.name)
    io.stderr.write(`simulate: wrote ${files.join(', ')}\n`)
  }
  io.stderr.write(`simulate: ${result.plan.requests} requests counted in ${seconds()} s\n`)
  return 0
}

/** Runs the planner on a command line; resolves to the exit code (0, 1 or 2). */
export async function simulateCommand (argv: readonly string[], io: Io = process): Promise<number> {
  try {
    return await main(argv, io)
  } catch (err) {
    if (err instanceof PlanError || err instanceof MgError) {
      io.stderr.write(`simulate: ${err.message}\n`)
      return 2
    }
    io.stderr.write(`simulate: ${(err as Error).stack ?? String(err)}\n`)
    return 1
  }
}

// Run only as the entry point, so the mirrorgate CLI can import simulateCommand().
if (process.argv[1] !== undefined && import.meta.url === new URL(process.argv[1], 'file://').href) {
  void simulateCommand(process.argv.slice(2)).then((code) => { process.exitCode = code })
}
