// Start-up time: from spawning mirrorgate to its first 200 from /readyz (it answers
// redirects from then on), polled every 10 ms. A fresh process each run, pinned like the
// load runs; the GeoIP files are in the page cache after the first run, as on a restart.

import { freePort, peakRss, stopProcess } from './proc.mjs'
import { get } from './targets.mjs'

/** Starts `target` `runs` times; resolves { runs: [{ ms, rss }], medianMs, maxMs }. */
export async function measureStartup ({ target, runs, cpu, pin }) {
  const out = []
  for (let i = 0; i < runs; i++) {
    const port = await freePort()
    const started = performance.now()
    const proc = await target.start({ port, cpu, pin, pollMs: 10 })
    const ms = performance.now() - started
    try {
      const r = await get(`http://127.0.0.1:${port}/alpine/v3.22/main/x86_64/APKINDEX.tar.gz`)
      if (r.status !== 302) throw new Error(`ready, yet a redirect was answered ${r.status}`)
      out.push({ ms, rss: peakRss(proc.pid) })
    } finally {
      await stopProcess(proc)
    }
  }
  const sorted = out.map((r) => r.ms).sort((a, b) => a - b)
  return { runs: out, medianMs: sorted[Math.floor(sorted.length / 2)], maxMs: sorted[sorted.length - 1] }
}
