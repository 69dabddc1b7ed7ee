// Runs wrk with the apk-mix Lua script and returns parsed numbers. wrk is the primary load
// generator: it is C with LuaJIT and needs far less CPU per request than a Node client.

import { fileURLToPath } from 'node:url'
import { pinned, runToEnd } from '../lib/proc.mjs'

const SCRIPT = fileURLToPath(new URL('./apk-mix.lua', import.meta.url))

/**
 * @param {object} o
 * @param {string} o.url          base URL, e.g. http://127.0.0.1:18181
 * @param {string} o.workload     workload file ("address path" lines)
 * @param {'keepalive'|'close'} o.mode
 * @param {number} o.seconds      run length (or the upper bound, with once)
 * @param {number} o.connections
 * @param {number|null} o.cpu     CPU to pin wrk to
 * @param {boolean} [o.once]      send the workload once, then stop (cold pass)
 * @param {number} [o.start]      first line of the workload to send
 * @param {boolean} [o.noXff]     send no X-Forwarded-For (warm-up that leaves caches cold)
 * @param {number} [o.paceMs]     each connection waits this long after a response (fixed offered load)
 * @param {(child) => void} [o.onSpawn]
 */
export async function runWrk ({ url, workload, mode, seconds, connections, cpu, pin = true, once = false, noXff = false, paceMs, threads = 1, start = 0, onSpawn }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', SCRIPT]
  if (mode === 'close') args.push('-H', 'Connection: close')
  args.push(url, '--', workload, String(threads), String(start))
  if (once) args.push('once')
  else if (noXff) args.push('noxff')
  else if (paceMs !== undefined) args.push(`pace=${paceMs}`)
  const [cmd, argv] = pinned(cpu, 'wrk', args, pin)
  let doneThreads = 0
  const started = Date.now()
  const r = await runToEnd(cmd, argv, {
    timeoutMs: (seconds + 15) * 1000,
    onSpawn,
    onStdout (text, child) {
      if (!once) return
      doneThreads += text.split('WRK_ONCE_DONE').length - 1
      if (doneThreads >= threads) child.kill('SIGINT')
    }
  })
  const line = r.stdout.split('\n').find((l) => l.startsWith('WRK_RESULT '))
  if (line === undefined) {
    throw new Error(`wrk printed no result (exit ${r.code}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`)
  }
  const w = JSON.parse(line.slice('WRK_RESULT '.length))
  const secondsRun = w.durationUs / 1e6
  const socketErrors = w.errors.connect + w.errors.read + w.errors.write + w.errors.timeout
  return {
    tool: 'wrk',
    requests: w.requests,
    seconds: secondsRun,
    wallSeconds: (Date.now() - started) / 1000,
    rps: w.requests / secondsRun,
    latencyMs: { p50: w.latencyUs.p50 / 1000, p90: w.latencyUs.p90 / 1000, p99: w.latencyUs.p99 / 1000, max: w.latencyUs.max / 1000 },
    responses3xx: w.responses3xx,
    non3xx: w.responsesOther,
    socketErrors,
    errors: w.errors,
    completedOnce: once ? doneThreads >= threads : undefined
  }
}
