// All cores: mirrorgate as one process against mirrorgate as a cluster of N workers, same
// workload, wrk. Neither is pinned (a cluster spreads over every CPU, and the comparison must
// not favour one), and wrk shares the CPUs with them: on a 2-CPU machine this shows how the
// work spreads, not a host's capacity. Each worker has its own caches, so every run starts
// with two passes over the workload to warm them.

import { runWrk } from '../http/wrk.mjs'
import { freePort, stopProcess } from './proc.mjs'
import { median } from './stats.mjs'

/**
 * @returns {Promise<{ rows: Array<{ name: string, workers: number, mode: string, rps: number[], median: number }> }>}
 */
export async function measureCluster ({ targets, workload, modes, rounds, seconds, connections, log }) {
  const results = new Map()
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const { target, workers } of order) {
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const proc = await target.start({ port, cpu: null, pin: false })
      try {
        for (let pass = 0; pass < 2; pass++) {
          await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections, cpu: null, pin: false, once: true })
        }
        for (const mode of modes) {
          const r = await runWrk({ url, workload, mode, seconds, connections, cpu: null, pin: false, start: 7919 * (round + 1) })
          const key = `${target.name}|${mode}`
          if (!results.has(key)) results.set(key, { name: target.name, workers, mode, rps: [] })
          results.get(key).rps.push(r.rps)
          log(`  ${target.name.padEnd(14)} ${mode.padEnd(9)} wrk ${Math.round(r.rps)} req/s, ${r.non3xx} non-3xx, ${r.socketErrors} socket errors`)
        }
      } finally {
        await stopProcess(proc)
      }
    }
  }
  return { rows: [...results.values()].map((r) => ({ ...r, median: median(r.rps) })) }
}
