#!/usr/bin/env node
// Where mirrorgate's time goes under load: runs the built service (./dist) with --cpu-prof,
// pinned like the benchmark, warms its caches with one wrk pass over the workload, then
// profiles a measured wrk run. Prints the functions with the most self and total time over
// the measured run only, and writes, under bench/results/profile/:
//   *.cpuprofile     the raw V8 profile (Chrome DevTools > Performance, or speedscope)
//   profile.folded   collapsed stacks of the measured run, the input of any flame graph
//                    tool (flamegraph.pl, inferno, speedscope)
//
//   node bench/profile.mjs [--mode keepalive|close] [--seconds 8] [--top 25] [--cold]
//
// --cold profiles the warm-up pass itself: every address new, so every lookup misses.
//
// Needs wrk and a workload (bench/results/workload.txt, written by run.mjs).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runWrk } from './http/wrk.mjs'
import { freePort, stopProcess } from './lib/proc.mjs'
import { mirrorgateTarget } from './lib/targets.mjs'

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string', default: 'keepalive' },
    seconds: { type: 'string', default: '8' },
    top: { type: 'string', default: '25' },
    cold: { type: 'boolean', default: false }
  }
})
const benchDir = dirname(fileURLToPath(import.meta.url))
const root = dirname(benchDir)
const workload = join(benchDir, 'results', 'workload.txt')
const outDir = join(benchDir, 'results', 'profile')
if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('no dist/main.js: run npm run build first')
if (!existsSync(workload)) throw new Error(`no ${workload}: run node bench/run.mjs --quick once to write it`)
if (opt.mode !== 'keepalive' && opt.mode !== 'close') throw new Error('--mode is keepalive or close')

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
const port = await freePort()
const target = mirrorgateTarget({ root, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', outDir] })
const proc = await target.start({ port, cpu: 0, pin: true, pollMs: 20 })
const url = `http://127.0.0.1:${port}`
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
let measured
try {
  // Idle gaps around the measured run are how the profile's window is found afterwards.
  if (opt.cold) {
    await sleep(2000)
    measured = await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections: 64, cpu: 1, once: true })
  } else {
    console.log('warming the caches: every workload address once ...')
    await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections: 64, cpu: 1, once: true })
    await sleep(2000)
    measured = await runWrk({ url, workload, mode: opt.mode, seconds: Number(opt.seconds), connections: 64, cpu: 1, start: 7919 })
  }
  await sleep(2000)
} finally {
  await stopProcess(proc, 10_000)
}
console.log(`measured: ${opt.cold ? 'cold pass' : opt.mode}, ${Math.round(measured.rps)} req/s over ${measured.seconds.toFixed(1)} s (slower than unprofiled)`)

const file = readdirSync(outDir).find((f) => f.endsWith('.cpuprofile'))
if (file === undefined) throw new Error('mirrorgate wrote no profile (did it stop gracefully?)')
const profile = JSON.parse(readFileSync(join(outDir, file), 'utf8'))
const { self, total, folded, samples } = analyse(profile, opt.cold ? 2 : Number(opt.seconds))
const top = Number(opt.top)
const show = (title, m) => {
  console.log(`\n${title} (% of ${samples} busy samples in the measured run)`)
  for (const [name, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * n / samples).toFixed(1).padStart(6)}%  ${name}`)
}
show('self time', self)
show('total time (self and callees)', total)
writeFileSync(join(outDir, 'profile.folded'), [...folded].map(([stack, n]) => `${stack} ${n}`).join('\n') + '\n')
console.log(`\nwrote ${join('bench', 'results', 'profile', file)} and profile.folded`)

/** Self and total samples per function, and collapsed stacks, over the measured window. */
function analyse (p, minSeconds) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const label = (n) => {
    const f = n.callFrame
    const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(node_modules|dist|lib)\//, '$1/')}:${f.lineNumber + 1}`
    return `${f.functionName || '(anonymous)'}${where}`
  }
  const idle = (id) => byId.get(id).callFrame.functionName === '(idle)'
  // Sample times, and the idle gaps of a second or more.
  const times = []
  let t = p.startTime
  for (const d of p.timeDeltas) times.push(t += d)
  const gaps = []
  let idleFrom = null
  for (let i = 0; i < p.samples.length; i++) {
    if (idle(p.samples[i])) { idleFrom ??= times[i]; continue }
    if (idleFrom !== null && times[i] - idleFrom >= 1e6) gaps.push([idleFrom, times[i]])
    idleFrom = null
  }
  if (idleFrom !== null && p.endTime - idleFrom >= 1e6) gaps.push([idleFrom, p.endTime])
  // Busy stretches between the gaps; the measured run is the last one about as long as it.
  const stretches = []
  let start = p.startTime
  for (const [idleStart, idleEnd] of gaps) { stretches.push([start, idleStart]); start = idleEnd }
  stretches.push([start, p.endTime])
  const found = stretches.filter(([a, b]) => b - a >= minSeconds * 0.5e6).pop()
  if (found === undefined) throw new Error('could not find the measured run in the profile (no busy stretch long enough)')
  const [from, to] = found
  const self = new Map()
  const total = new Map()
  const folded = new Map()
  let samples = 0
  for (let i = 0; i < p.samples.length; i++) {
    if (times[i] < from || times[i] > to || idle(p.samples[i])) continue
    samples++
    const stack = []
    for (let id = p.samples[i]; id !== undefined; id = parent.get(id)) stack.push(label(byId.get(id)))
    self.set(stack[0], (self.get(stack[0]) ?? 0) + 1)
    for (const name of new Set(stack)) total.set(name, (total.get(name) ?? 0) + 1)
    const key = stack.reverse().join(';')
    folded.set(key, (folded.get(key) ?? 0) + 1)
  }
  total.delete('(root)')
  return { self, total, folded, samples }
}
