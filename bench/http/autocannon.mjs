// Starts the autocannon worker pinned to the load CPU and parses its JSON line.

import { fileURLToPath } from 'node:url'
import { pinned, runToEnd } from '../lib/proc.mjs'

const WORKER = fileURLToPath(new URL('./autocannon-worker.mjs', import.meta.url))

export async function runAutocannon ({ url, workload, mode, seconds, connections, cpu, pin = true, start = 0, onSpawn }) {
  const [cmd, argv] = pinned(cpu, process.execPath, [WORKER, JSON.stringify({ url, workload, mode, seconds, connections, start })], pin)
  const r = await runToEnd(cmd, argv, { timeoutMs: (seconds + 30) * 1000, onSpawn })
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'))
  if (r.code !== 0 || line === undefined) {
    throw new Error(`autocannon worker failed (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`)
  }
  return JSON.parse(line)
}
