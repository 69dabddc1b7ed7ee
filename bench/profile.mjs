#!/usr/bin/env node
// Where mirrorgate's time goes under load, beside the bare node:http server's (the ceiling of
// run.mjs) measured the same way in the same run. Each server runs with --cpu-prof, pinned like
// the benchmark; its caches are warmed with one wrk pass over the workload, then a measured wrk
// run is profiled. Prints:
//   - CPU per request by layer for both servers: the kernel's socket writes, Node core (http,
//     streams, timers), the application (mirrorgate's dist/, or the bare handler),
//     dependencies, garbage collection, and V8/native time outside JavaScript;
//   - mirrorgate's functions with the most self and total time.
// and writes, under bench/results/profile/:
//   <server>/*.cpuprofile   the raw V8 profiles (Chrome DevTools > Performance, or speedscope)
//   profile.folded          mirrorgate's collapsed stacks of the measured run, the input of any
//                           flame graph tool (flamegraph.pl, inferno, speedscope)
//
//   node bench/profile.mjs [--mode keepalive|close] [--seconds 8] [--top 25] [--cold] [--no-baseline]
//
// --cold profiles the warm-up pass itself: every address new, so every mirrorgate lookup misses.
// --no-baseline profiles mirrorgate alone.
//
// Needs wrk and a workload (bench/results/workload.txt, written by run.mjs).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runWrk } from './http/wrk.mjs'
import { freePort, stopProcess } from './lib/proc.mjs'
import { fmt, table } from './lib/stats.mjs'
import { bareTarget, mirrorgateTarget } from './lib/targets.mjs'

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string', default: 'keepalive' },
    seconds: { type: 'string', default: '8' },
    top: { type: 'string', default: '25' },
    cold: { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false }
  }
})
const benchDir = dirname(fileURLToPath(import.meta.url))
const root = dirname(benchDir)
const workload = join(benchDir, 'results', 'workload.txt')
const outDir = join(benchDir, 'results', 'profile')
if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('no dist/main.js: run npm run build first')
if (!existsSync(workload)) throw new Error(`no ${workload}: run node bench/run.mjs --quick once to write it`)
if (opt.mode !== 'keepalive' && opt.mode !== 'close') throw new Error('--mode is keepalive or close')
const seconds = Number(opt.seconds)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The layers CPU time is counted in, in the order they are printed. */
const LAYERS = ['socket writes (kernel)', 'Node core', 'application', 'dependencies', 'garbage collection', 'V8 and native, outside JS']

/** Which layer a sampled frame's self time belongs to. */
function layerOf ({ functionName, url }) {
  if (functionName === '(garbage collector)') return 'garbage collection'
  // Node's stream writes try the syscall at once; the kernel's loopback send is counted here.
  if (url === '' && /^write(?:Latin1String|Utf8String|AsciiString|Buffer|v)$/.test(functionName)) return 'socket writes (kernel)'
  if (url.startsWith('node:')) return 'Node core'
  if (url.includes('/node_modules/')) return 'dependencies'
  if (url === '') return 'V8 and native, outside JS'
  return 'application'
}

/** Profiles one server: warm-up pass, idle gap, measured run, idle gap, graceful stop. */
async function profileOne (name, makeTarget) {
  const dir = join(outDir, name)
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const proc = await makeTarget(['--cpu-prof', '--cpu-prof-dir', dir]).start({ port, cpu: 0, pin: true, pollMs: 20 })
  const url = `http://127.0.0.1:${port}`
  let measured
  try {
    // The idle gaps around the measured run are how its window is found in the profile.
    if (opt.cold) {
      await sleep(2000)
      measured = await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections: 64, cpu: 1, once: true })
    } else {
      console.log(`${name}: warming up, every workload address once ...`)
      await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections: 64, cpu: 1, once: true })
      await sleep(2000)
      measured = await runWrk({ url, workload, mode: opt.mode, seconds, connections: 64, cpu: 1, start: 7919 })
    }
    await sleep(2000)
  } finally {
    await stopProcess(proc, 10_000)
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error(`${name} wrote no profile (did it stop gracefully?)`)
  const profile = analyse(JSON.parse(readFileSync(join(dir, file), 'utf8')), opt.cold ? 2 : seconds)
  console.log(`${name}: ${Math.round(measured.rps)} req/s over ${measured.seconds.toFixed(1)} s (profiled, so slower than in run.mjs)`)
  return { name, measured, profile, file: join('bench', 'results', 'profile', name, file) }
}

rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
const runs = []
if (!opt['no-baseline']) runs.push(await profileOne('bare', (nodeArgs) => bareTarget({ benchDir, nodeArgs })))
const mg = await profileOne('mirrorgate', (nodeArgs) => mirrorgateTarget({ root, nodeArgs }))
runs.push(mg)

// CPU per request by layer: the layer's share of the window's samples times the window's
// length, over the requests wrk counted in it.
const perRequest = (run, layer) => (run.profile.layers.get(layer) ?? 0) * run.profile.usPerSample / run.measured.requests
console.log(`\nmain-thread CPU per request, µs, by layer (${opt.cold ? 'cold pass' : opt.mode})`)
console.log('profiling adds to every layer; Node code that V8 inlined into an application function counts as application')
const header = ['layer', ...runs.map((r) => r.name)]
if (runs.length === 2) header.push('difference')
const rows = [...LAYERS, 'total'].map((layer) => {
  const us = runs.map((r) => layer === 'total' ? LAYERS.reduce((sum, l) => sum + perRequest(r, l), 0) : perRequest(r, layer))
  return [layer, ...us.map((x) => fmt(x, 1)), ...(us.length === 2 ? [(us[1] - us[0] >= 0 ? '+' : '') + fmt(us[1] - us[0], 1)] : [])]
})
console.log(table(header, rows).text)

const top = Number(opt.top)
const show = (title, m) => {
  console.log(`\nmirrorgate, ${title} (% of ${mg.profile.samples} busy samples in the measured run)`)
  for (const [name, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * n / mg.profile.samples).toFixed(1).padStart(6)}%  ${name}`)
}
show('self time', mg.profile.self)
show('total time (self and callees)', mg.profile.total)
writeFileSync(join(outDir, 'profile.folded'), [...mg.profile.folded].map(([stack, n]) => `${stack} ${n}`).join('\n') + '\n')
console.log(`\nwrote ${runs.map((r) => r.file).join(', ')} and bench/results/profile/profile.folded`)

/**
 * Self and total samples per function, samples per layer and collapsed stacks, over the
 * measured window, and the window's µs per sample (idle samples included).
 */
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
  const layers = new Map()
  const folded = new Map()
  let samples = 0
  let all = 0
  for (let i = 0; i < p.samples.length; i++) {
    if (times[i] < from || times[i] > to) continue
    all++
    if (idle(p.samples[i])) continue
    samples++
    const leaf = byId.get(p.samples[i])
    const layer = layerOf(leaf.callFrame)
    layers.set(layer, (layers.get(layer) ?? 0) + 1)
    const stack = []
    for (let id = p.samples[i]; id !== undefined; id = parent.get(id)) stack.push(label(byId.get(id)))
    self.set(stack[0], (self.get(stack[0]) ?? 0) + 1)
    for (const name of new Set(stack)) total.set(name, (total.get(name) ?? 0) + 1)
    const key = stack.reverse().join(';')
    folded.set(key, (folded.get(key) ?? 0) + 1)
  }
  total.delete('(root)')
  return { self, total, layers, folded, samples, usPerSample: (to - from) / all }
}
