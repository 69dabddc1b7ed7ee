// Latency below saturation: every target is offered the same load, half of mirrorgate's
// saturated keep-alive throughput measured earlier in the run, and its p50 and p99 are
// compared with the bare server's. wrk paces the load: each connection waits PACE_MS after
// every response, so C connections offer about C * 1000 / PACE_MS requests/s. (autocannon's
// fixed rate sends each second's requests in one burst, which measures a queue, not a
// server at half load.) The rate a run achieved is reported beside the one offered.

import { runWrk } from '../http/wrk.mjs'
import { freePort, stopProcess } from './proc.mjs'
import { median } from './stats.mjs'
import { warmUp } from './targets.mjs'

const PACE_MS = 5

/**
 * @returns {Promise<Array<{ name: string, rate: number, connections: number, rps: number[], p50: number[], p99: number[], warmPasses: number[], medianRps: number, medianP50: number, medianP99: number }>>}
 */
export async function measureHalfLoad ({ targets, rate, workload, rounds, seconds, serverCpu, loadCpu, pin, log }) {
  const connections = Math.max(1, Math.round(rate * PACE_MS / 1000))
  const offered = connections * 1000 / PACE_MS
  const rows = new Map(targets.map((t) => [t.name, { name: t.name, rate: offered, connections, rps: [], p50: [], p99: [], warmPasses: [] }]))
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse()
    for (const target of order) {
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const proc = await target.start({ port, cpu: serverCpu, pin })
      try {
        // Warm, as before run.mjs's keep-alive runs: passes until mirrorgate's caches hold the workload.
        const w = await warmUp({ url, workload, connections: 64, cpu: loadCpu, pin, cacheMetrics: target.name === 'mirrorgate' })
        const r = await runWrk({ url, workload, mode: 'keepalive', seconds, connections, cpu: loadCpu, pin, paceMs: PACE_MS, start: 7919 * (round + 1) })
        const row = rows.get(target.name)
        row.rps.push(r.rps)
        row.p50.push(r.latencyMs.p50)
        row.p99.push(r.latencyMs.p99)
        row.warmPasses.push(w.passes.length)
        log(`  ${target.name.padEnd(10)} ${Math.round(r.rps)} req/s (${connections} connections, ${PACE_MS} ms pause), p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.non3xx} non-3xx` +
          ` (after ${w.passes.length} warm-up pass${w.passes.length === 1 ? '' : 'es'}${w.missPercent === null ? '' : `, the last with ${w.missPercent}% cache misses`})`)
      } finally {
        await stopProcess(proc)
      }
    }
  }
  return [...rows.values()].map((r) => ({ ...r, medianRps: median(r.rps), medianP50: median(r.p50), medianP99: median(r.p99) }))
}
