#!/usr/bin/env node
// mirrorgate benchmark: the single entry point.
//
//   node bench/run.mjs            full run: 3 rounds, medians, half load, start-up, cluster (about 14 minutes)
//   node bench/run.mjs --quick    smoke run: 1 short round (about a minute)
//   node bench/run.mjs --help     every option
//
// HTTP: each target (bare node:http 302, mirrorgate, nginx+geoip2 when installed) runs pinned
// to CPU 0; wrk (primary) and autocannon (secondary) run pinned to CPU 1, sending 100,000
// distinct client addresses in X-Forwarded-For from 127.0.0.1 with an apk path mix, with
// keep-alive and with one new connection per request. Targets alternate order every round;
// each gets a fresh process per round, warmed (lib/targets.mjs warmUp) before it is measured.
// Then p99 at half of mirrorgate's saturated rate (lib/halfload.mjs), mirrorgate as one
// process against a cluster (lib/cluster.mjs), its start-up time (lib/startup.mjs) and the
// selection micro-benchmark (bench/core/).
// Results: a table on stdout, bench/results/latest.{json,md} and a timestamped copy.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runAutocannon } from './http/autocannon.mjs'
import { runWrk } from './http/wrk.mjs'
import {
  cpuBusy, cpuSeconds, cpuTimes, enterPrivateNetns, freePort, hasTaskset, listenDrops, passiveOpens, peakRss, resetPeakRss,
  runToEnd, stopChildrenOnSignal, stopProcess, waitForQuiet, which
} from './lib/proc.mjs'
import { fmt, fmtBytes, median, sum, table } from './lib/stats.mjs'
import { buildRef, buildWorkingTree } from './lib/build.mjs'
import { bareTarget, cacheMissPercent, mirrorgateTarget, nginxTarget, nginxUnavailable, scrapeMirrorgate, WARM_MISS_PERCENT, warmUp } from './lib/targets.mjs'
import { mirrorBases, verifyTarget } from './lib/verify.mjs'
import { measureStartup } from './lib/startup.mjs'
import { measureCluster } from './lib/cluster.mjs'
import { measureHalfLoad } from './lib/halfload.mjs'
import { buildWorkload, WORKLOAD_SEED, writeWorkloadFile } from './lib/workload.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const root = dirname(benchDir)
const resultsDir = join(benchDir, 'results')

const USAGE = `usage: node bench/run.mjs [options]
  --quick              smoke run: 1 round, 1 s per measurement, no cold pass, autocannon in
                       keep-alive mode only, short core bench
  --rounds N           rounds; medians are taken over them (default 3)
  --seconds S          wrk seconds per measurement (default 10)
  --ac-seconds S       autocannon seconds per measurement (default 4; 0 skips autocannon)
  --connections N      concurrent connections (default 64)
  --addresses N        distinct client addresses in the workload (default 100000)
  --seed N             workload seed (default ${WORKLOAD_SEED})
  --targets LIST       comma-separated from bare,mirrorgate,nginx (default all available)
  --modes LIST         comma-separated from keepalive,close (default both)
  --config FILE        run mirrorgate with this YAML config
  --ref REF            benchmark a committed git ref instead of the working tree (exported with
                       git archive and built under bench/results/ref-<sha>/)
  --no-cold            skip the cold pass (each address once, fresh process)
  --no-core            skip the selection micro-benchmark
  --workers N          cluster section: mirrorgate as 1 process and as N workers, unpinned
                       (default: the number of CPUs; quick: skipped)
  --no-cluster         skip the cluster section
  --no-half-load       skip the latency at half load section (bare and mirrorgate offered half
                       of mirrorgate's keep-alive req/s by paced wrk connections)
  --no-build           measure the checkout's own dist/ as it is (default: copy src/, data/,
                       package.json, tsconfig.json to bench/results/tree/ and build there)
  --no-pin             do not pin with taskset
  --quiet-wait S       before each target, wait up to S seconds for all CPUs to be under
                       30% busy (default 20; quick: 0, just checks)
  --no-netns           stay in the current network namespace (default: re-run inside a
                       private one with only loopback, when unshare and ip allow it)
  --server-cpu N       CPU for the server (default 0)
  --load-cpu N         CPU for the load generator (default 1)`

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    'ac-seconds': { type: 'string' },
    connections: { type: 'string', default: '64' },
    addresses: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(WORKLOAD_SEED) },
    targets: { type: 'string' },
    modes: { type: 'string', default: 'keepalive,close' },
    config: { type: 'string' },
    ref: { type: 'string' },
    'no-cold': { type: 'boolean', default: false },
    'no-core': { type: 'boolean', default: false },
    workers: { type: 'string' },
    'no-cluster': { type: 'boolean', default: false },
    'no-half-load': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    'no-netns': { type: 'boolean', default: false },
    'server-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    help: { type: 'boolean', default: false }
  }
})
if (opt.help) {
  console.log(USAGE)
  process.exit(0)
}

// A private network namespace (loopback only): everything below runs inside it.
const netns = await enterPrivateNetns({ disabled: opt['no-netns'] })
const netnsNote = netns.note

const quick = opt.quick
const cfg = {
  quick,
  rounds: Number(opt.rounds ?? (quick ? 1 : 3)),
  seconds: Number(opt.seconds ?? (quick ? 1 : 10)),
  acSeconds: Number(opt['ac-seconds'] ?? (quick ? 1 : 4)),
  connections: Number(opt.connections),
  addresses: Number(opt.addresses),
  seed: Number(opt.seed),
  modes: opt.modes.split(',').map((m) => m.trim()).filter(Boolean),
  cold: !opt['no-cold'] && !quick,
  core: !opt['no-core'],
  halfLoad: !opt['no-half-load'],
  clusterWorkers: opt['no-cluster'] || (quick && opt.workers === undefined) ? 0 : Number(opt.workers ?? cpus().length),
  pin: !opt['no-pin'] && hasTaskset,
  quietWait: Number(opt['quiet-wait'] ?? (quick ? 0 : 20)),
  serverCpu: Number(opt['server-cpu']),
  loadCpu: Number(opt['load-cpu'])
}
for (const m of cfg.modes) if (m !== 'keepalive' && m !== 'close') fail(`unknown mode ${m}`)
for (const k of ['rounds', 'seconds', 'connections', 'addresses']) if (!(cfg[k] >= 1)) fail(`--${k} must be a positive number`)

function fail (message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}

const log = (...a) => console.log(...a)
const startedAt = new Date()

// Interrupted: stop the servers and load generators we started, then leave.
stopChildrenOnSignal('bench')

// ---- preflight --------------------------------------------------------------------------

if (which('wrk') === null) fail('wrk is not installed: apt-get install wrk (it is the primary load generator)')
// appRoot: the mirrorgate being measured (its dist/, data/ and node_modules).
let appRoot = root
let refSha = null
try {
  if (opt.ref !== undefined) {
    log(`exporting and building ${opt.ref} ...`)
    const b = buildRef(root, opt.ref, resultsDir)
    appRoot = b.dir
    refSha = b.sha
  } else if (!opt['no-build']) {
    const b = buildWorkingTree(root, resultsDir)
    appRoot = b.dir
    log(b.reused ? 'working tree unchanged since the last build in bench/results/tree: reusing it' : 'built a copy of the working tree in bench/results/tree')
  }
} catch (err) {
  fail(err.message)
}
if (!existsSync(join(appRoot, 'dist', 'main.js'))) fail(`${join(appRoot, 'dist', 'main.js')} is missing: run npm run build`)

const notes = []
if (netnsNote !== null) notes.push(netnsNote)
if (!cfg.pin) notes.push(hasTaskset ? 'pinning disabled (--no-pin): server and load generator share CPUs' : 'taskset not found: server and load generator are not pinned')
const ncpu = cpus().length
if (cfg.pin && (cfg.serverCpu >= ncpu || cfg.loadCpu >= ncpu)) fail(`only ${ncpu} CPUs: choose --server-cpu/--load-cpu below ${ncpu}`)
const load1 = loadavg()[0]
if (load1 > 0.7) notes.push(`load average ${load1.toFixed(2)} at start: something else is using the CPUs; numbers may be low and noisy`)

const requested = opt.targets ? opt.targets.split(',').map((t) => t.trim()) : ['bare', 'mirrorgate', 'nginx']
const targets = []
for (const name of requested) {
  if (name === 'bare') targets.push(bareTarget({ benchDir }))
  else if (name === 'mirrorgate') targets.push(mirrorgateTarget({ root: appRoot, config: opt.config }))
  else if (name === 'nginx') {
    const why = nginxUnavailable()
    if (why === null) targets.push(nginxTarget({ root: appRoot, resultsDir }))
    else notes.push(`nginx skipped: ${why}`)
  } else fail(`unknown target ${name}`)
}
if (targets.length === 0) fail('no target to run')

mkdirSync(resultsDir, { recursive: true })
const env = environment()

// ---- workload ---------------------------------------------------------------------------

const workloadFile = join(resultsDir, 'workload.txt')
const { entries, stats: workloadStats } = buildWorkload({ count: cfg.addresses, seed: cfg.seed })
writeWorkloadFile(workloadFile, entries)
const bases = await mirrorBases(appRoot)

log(`\nmirrorgate benchmark (${quick ? 'quick' : 'full'}): ${cfg.rounds} round(s), wrk ${cfg.seconds}s` +
  (cfg.acSeconds > 0 ? `, autocannon ${cfg.acSeconds}s` : '') + ` per measurement, ${cfg.connections} connections`)
log(`  node ${process.version}, ${env.cpu} x${ncpu}, ${env.wrk}${env.nginx ? `, ${env.nginx}` : ''}, mirrorgate ${env.commit}${env.dirty ? ' (uncommitted changes)' : ''}`)
log(`  network: ${netns.private ? 'private namespace, loopback only' : 'shared namespace'}`)
log(`  pinning: ${cfg.pin ? `server on CPU ${cfg.serverCpu}, load generator on CPU ${cfg.loadCpu}` : 'off'}`)
log(`  workload: ${workloadStats.distinctAddresses} distinct addresses (${workloadStats.ipv6Percent}% IPv6) in ${workloadStats.distinctNetworks} networks; ` +
  `${workloadStats.apkPercent}% .apk, ${workloadStats.apkindexPercent}% APKINDEX, ${workloadStats.releasePercent}% releases; ${workloadStats.distinctPaths} distinct paths`)
for (const n of notes) log(`  note: ${n}`)

// ---- measurement ------------------------------------------------------------------------

/** One load run against a started target, with CPU sampling of both sides. */
const serverCpuLabel = `cpu${cfg.serverCpu}`
const loadCpuLabel = `cpu${cfg.loadCpu}`
let runCounter = 0
async function measure ({ target, proc, url, mode, tool, once = false }) {
  // Each measurement starts somewhere else in the workload (the cold pass starts at 0).
  const start = once ? 0 : ((++runCounter) * 7919) % entries.length
  const peakReset = resetPeakRss(proc.pid)
  const opens0 = passiveOpens()
  const drops0 = listenDrops()
  const metrics0 = target.name === 'mirrorgate' ? await scrapeMirrorgate(url) : null
  const samples = []
  let loadPid = null
  const sample = () => {
    if (loadPid === null) return
    const s = { t: performance.now(), server: cpuSeconds(proc.pid), load: cpuSeconds(loadPid), cores: cpuTimes() }
    if (s.load !== null) samples.push(s)
  }
  const timer = setInterval(sample, 250)
  const common = { url, workload: workloadFile, mode, connections: cfg.connections, cpu: cfg.loadCpu, pin: cfg.pin, start, onSpawn: (child) => { loadPid = child.pid; sample() } }
  let r
  try {
    r = tool === 'wrk'
      ? await runWrk({ ...common, seconds: once ? 90 : cfg.seconds, once })
      : await runAutocannon({ ...common, seconds: cfg.acSeconds })
  } finally {
    clearInterval(timer)
  }
  const opens = passiveOpens() - opens0
  const drops = listenDrops() - drops0
  const metrics1 = metrics0 !== null ? await scrapeMirrorgate(url) : null

  // CPU over the middle of the run: skip the load generator's start-up and its last moments.
  let window = samples
  if (samples.length >= 6) {
    const t0 = samples[0].t + 750
    const t1 = samples[samples.length - 1].t - 250
    const mid = samples.filter((s) => s.t >= t0 && s.t <= t1)
    if (mid.length >= 2) window = mid
  }
  let serverCpu = null
  let loadCpu = null
  let cores = null
  if (window.length >= 2) {
    const a = window[0]
    const b = window[window.length - 1]
    const secs = (b.t - a.t) / 1000
    // Pinned to one CPU each, neither can exceed 100%: more is clock-tick rounding on short windows.
    const cap = (x) => (cfg.pin ? Math.min(100, x) : x)
    serverCpu = cap(Math.round(((b.server - a.server) / secs) * 1000) / 10)
    loadCpu = cap(Math.round(((b.load - a.load) / secs) * 1000) / 10)
    cores = cpuBusy(a.cores, b.cores)
  }
  const miss = cacheMissPercent(metrics0, metrics1)
  return {
    target: target.name,
    mode: once ? 'cold' : mode,
    tool,
    ...r,
    serverCpu,
    loadCpu,
    cores,
    peakRss: peakRss(proc.pid),
    peakRssSince: peakReset ? 'run' : 'process start',
    connectionsOpened: opens,
    connectionsPerRequest: r.requests > 0 ? Math.round((opens / r.requests) * 1000) / 1000 : null,
    listenDrops: drops,
    cacheMissPercent: miss,
    ...otherCpu(cores, serverCpu, loadCpu)
  }
}

/**
 * CPU time that was neither the server's nor the load generator's: per pinned CPU, or, without
 * pinning, over all CPUs together (reported as the server's share, the load's left null).
 */
function otherCpu (cores, serverCpu, loadCpu) {
  const round = (x) => Math.round(x * 10) / 10
  if (cores === null || serverCpu === null || loadCpu === null) return { otherServerCpu: null, otherLoadCpu: null }
  if (!cfg.pin) {
    const busy = Object.values(cores).reduce((a, b) => a + (b ?? 0), 0)
    return { otherServerCpu: round(busy - serverCpu - loadCpu), otherLoadCpu: null }
  }
  return {
    otherServerCpu: cores[serverCpuLabel] != null ? round(cores[serverCpuLabel] - serverCpu) : null,
    otherLoadCpu: cores[loadCpuLabel] != null ? round(cores[loadCpuLabel] - loadCpu) : null
  }
}

/** A run whose pinned CPUs were noticeably used by other processes (another test suite, a build). */
const DISTURBED_PERCENT = 10
const isDisturbed = (r) => (r.otherServerCpu ?? 0) > DISTURBED_PERCENT || (r.otherLoadCpu ?? 0) > DISTURBED_PERCENT

const runs = []
const warmups = []
const verifications = {}

function brief (r) {
  const errs = r.socketErrors > 0 || r.non3xx > 0 ? `  errors ${r.socketErrors} non-3xx ${r.non3xx}` : ''
  return `${fmt(r.rps).padStart(7)} req/s  p50 ${fmt(r.latencyMs.p50, 2)} ms  p99 ${fmt(r.latencyMs.p99, 2)} ms  ` +
    `server ${fmt(r.serverCpu)}% load ${fmt(r.loadCpu)}% cpu  conn/req ${fmt(r.connectionsPerRequest, 2)}${errs}` +
    (r.disturbed ? `  [disturbed: other processes used ${fmt(r.otherServerCpu)}% / ${fmt(r.otherLoadCpu)}% of the server / load CPU]` : '')
}

// A disturbed measurement is repeated once, after waiting for quiet CPUs, within this budget.
let retriesLeft = quick ? 0 : cfg.rounds * 2
for (let round = 0; round < cfg.rounds; round++) {
  const order = targets.map((_, i) => targets[(i + round) % targets.length])
  const modes = round % 2 === 0 ? cfg.modes : [...cfg.modes].reverse()
  log(`\nround ${round + 1}/${cfg.rounds}: ${order.map((t) => t.name).join(' -> ')}`)
  for (const target of order) {
    const q = await waitForQuiet({ maxMs: cfg.quietWait * 1000, windowMs: quick ? 300 : 1000 })
    const busyText = Object.entries(q.busy).map(([k, v]) => `${k} ${fmt(v)}%`).join(', ')
    if (!q.quiet) {
      const msg = `round ${round + 1}, ${target.name}: CPUs still busy before the run (${busyText}) after waiting ${fmt(q.waitedMs / 1000)} s`
      notes.push(msg)
      log(`  ! ${msg}`)
    } else if (q.waitedMs > 1500) {
      log(`  (waited ${fmt(q.waitedMs / 1000)} s for the CPUs to go quiet)`)
    }
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const proc = await target.start({ port, cpu: cfg.serverCpu, pin: cfg.pin })
    try {
      if (round === 0) {
        const v = await verifyTarget({ target: target.name, url, entries, bases, sample: quick ? 20 : 60, explainSample: quick ? 0 : 200 })
        verifications[target.name] = v
        const where = v.countries !== null ? `, clients in ${v.countries} countries (${v.unplaced}% unplaced) per explain` : ''
        log(`  ${target.name.padEnd(10)} verify: ${v.ok}/${v.checked} sampled answers are 302 to a mirror` +
          (target.name !== 'bare' ? ` (${v.mirrors} distinct mirrors${where})` : ''))
        if (v.problems.length > 0) {
          for (const p of v.problems.slice(0, 5)) log(`    ! ${p}`)
          throw new Error(`${target.name} does not answer as expected; not benchmarking it`)
        }
      }
      if (cfg.cold && cfg.modes.includes('keepalive')) {
        // One second of the same paths without X-Forwarded-For first: the process, its JIT and
        // its connections warm up, and no workload network enters a cache (all requests are the
        // loopback client). Not measured.
        await runWrk({ url, workload: workloadFile, mode: 'keepalive', seconds: 1, connections: cfg.connections, cpu: cfg.loadCpu, pin: cfg.pin, noXff: true })
        const r = await measure({ target, proc, url, mode: 'keepalive', tool: 'wrk', once: true })
        r.round = round
        r.disturbed = isDisturbed(r)
        runs.push(r)
        log(`  ${target.name.padEnd(10)} cold      wrk        ${brief(r)}${r.completedOnce ? '' : '  (did not finish the pass)'}`)
      }
      // Warm-up, not measured (after the cold pass, which needs a fresh process): passes over the
      // workload until one misses mirrorgate's caches less than 5% of the time, as paired.mjs
      // does. A fresh mirrorgate's probes mark the unreachable mirrors down over its first
      // seconds, and each change empties its decision caches, so one pass is not enough.
      const w = await warmUp({
        url, workload: workloadFile, connections: cfg.connections, cpu: cfg.loadCpu, pin: cfg.pin, cacheMetrics: target.name === 'mirrorgate',
        onPass: (p) => log(`  ${target.name.padEnd(10)} warm-up   pass ${p.pass}    ${fmt(p.rps).padStart(7)} req/s` +
          (p.missPercent === null ? '' : `  ${fmt(p.missPercent, 1)}% cache misses`) + (p.completed ? '' : '  (did not finish the pass)'))
      })
      warmups.push({ round, target: target.name, ...w })
      for (const mode of modes) {
        const withAc = cfg.acSeconds > 0 && (!quick || mode === 'keepalive')
        const tools = withAc ? (round % 2 === 0 ? ['wrk', 'autocannon'] : ['autocannon', 'wrk']) : ['wrk']
        for (const tool of tools) {
          for (let attempt = 0; ; attempt++) {
            const r = await measure({ target, proc, url, mode, tool })
            r.round = round
            r.disturbed = isDisturbed(r)
            runs.push(r)
            log(`  ${target.name.padEnd(10)} ${mode.padEnd(9)} ${tool.padEnd(10)} ${brief(r)}`)
            if (!r.disturbed || attempt >= 1 || retriesLeft <= 0) break
            retriesLeft--
            await waitForQuiet({ maxMs: cfg.quietWait * 1000 })
            log('  (repeating the disturbed measurement)')
          }
        }
      }
    } finally {
      await stopProcess(proc)
    }
  }
}

// ---- latency at half load -------------------------------------------------------------------

let halfLoad = null
{
  const bare = targets.find((t) => t.name === 'bare')
  const mg = targets.find((t) => t.name === 'mirrorgate')
  const saturated = runs.filter((r) => r.target === 'mirrorgate' && r.mode === 'keepalive' && r.tool === 'wrk')
  const clean = saturated.filter((r) => !r.disturbed)
  const full = median((clean.length > 0 ? clean : saturated).map((r) => r.rps))
  if (cfg.halfLoad && bare !== undefined && mg !== undefined && full !== null) {
    const rate = Math.max(100, Math.round(full / 2 / 100) * 100)
    log(`\nlatency at half load: bare and mirrorgate offered ${fmt(rate)} req/s (half of mirrorgate's ${fmt(full)}), keep-alive, warm, paced wrk ...`)
    halfLoad = await measureHalfLoad({
      targets: [bare, mg], rate, workload: workloadFile, rounds: cfg.rounds, seconds: quick ? 2 : 8,
      serverCpu: cfg.serverCpu, loadCpu: cfg.loadCpu, pin: cfg.pin, log
    })
  }
}

// ---- all cores ----------------------------------------------------------------------------

let clusterResult = null
if (cfg.clusterWorkers > 1 && targets.some((t) => t.name === 'mirrorgate')) {
  log(`\ncluster: mirrorgate as 1 process and as ${cfg.clusterWorkers} workers, unpinned, wrk sharing the CPUs ...`)
  clusterResult = await measureCluster({
    targets: [1, cfg.clusterWorkers].map((w) => ({ workers: w, target: mirrorgateTarget({ root: appRoot, config: opt.config, workers: w }) })),
    workload: workloadFile,
    modes: cfg.modes,
    rounds: cfg.rounds,
    seconds: cfg.seconds,
    connections: cfg.connections,
    log
  })
}

// ---- start-up ---------------------------------------------------------------------------

let startup = null
const mgTarget = targets.find((t) => t.name === 'mirrorgate')
if (mgTarget !== undefined) {
  log('\nstart-up: spawn to first 200 from /readyz ...')
  startup = await measureStartup({ target: mgTarget, runs: quick ? 1 : 5, cpu: cfg.serverCpu, pin: cfg.pin })
  log(`  ${startup.runs.map((r) => `${fmt(r.ms)} ms`).join(', ')}: median ${fmt(startup.medianMs)} ms`)
}

// ---- core micro-benchmark ---------------------------------------------------------------

let core = null
if (cfg.core) {
  log('\nselection micro-benchmark (bench/core/selection.mjs) ...')
  const args = [join(benchDir, 'core', 'selection.mjs'), '--json', '--root', appRoot, ...(quick ? ['--quick', '--clients', '5000'] : [])]
  const [cmd, argv] = cfg.pin ? ['taskset', ['-c', String(cfg.serverCpu), process.execPath, ...args]] : [process.execPath, args]
  const r = await runToEnd(cmd, argv, { timeoutMs: 180_000 })
  const line = r.stdout.split('\n').find((l) => l.startsWith('CORE_RESULT '))
  if (r.code === 0 && line !== undefined) {
    core = JSON.parse(line.slice('CORE_RESULT '.length))
    log(r.stdout.split('\n').filter((l) => !l.startsWith('CORE_RESULT ')).join('\n').trimEnd())
  } else {
    notes.push(`core micro-benchmark failed (exit ${r.code}): ${(r.stderr || r.stdout).slice(-500)}`)
    log(`  failed: ${(r.stderr || r.stdout).slice(-500)}`)
  }
}

// ---- summary ----------------------------------------------------------------------------

const groups = new Map()
for (const r of runs) {
  const key = `${r.target}|${r.mode}|${r.tool}`
  if (!groups.has(key)) groups.set(key, [])
  groups.get(key).push(r)
}

function summarize (all) {
  // Medians over the undisturbed runs when there is at least one; otherwise over all.
  const clean = all.filter((r) => !r.disturbed)
  const list = clean.length > 0 ? clean : all
  const pick = (f) => median(list.map(f))
  const serverCpu = pick((r) => r.serverCpu)
  const loadCpu = pick((r) => r.loadCpu)
  const otherOnServerCpu = pick((r) => r.otherServerCpu)
  const otherOnLoadCpu = pick((r) => r.otherLoadCpu)
  const serverCore = pick((r) => r.cores?.[serverCpuLabel] ?? null)
  const loadCore = pick((r) => r.cores?.[loadCpuLabel] ?? null)
  let bottleneck = 'unclear'
  if (loadCpu !== null && serverCpu !== null) {
    if (loadCpu >= 90 && serverCpu < 90) bottleneck = 'load generator'
    else if (serverCpu >= 90 && loadCpu < 90) bottleneck = 'server'
    else if (serverCpu >= 90 && loadCpu >= 90) bottleneck = 'both CPUs full'
    else if ((serverCore ?? 0) >= 90 || (loadCore ?? 0) >= 90) bottleneck = 'CPUs shared with other processes'
    else bottleneck = 'neither CPU full'
  }
  return {
    target: list[0].target,
    mode: list[0].mode,
    tool: list[0].tool,
    runs: all.length,
    runsUsed: list.length,
    allDisturbed: clean.length === 0,
    rps: pick((r) => r.rps),
    rpsMin: Math.min(...list.map((r) => r.rps)),
    rpsMax: Math.max(...list.map((r) => r.rps)),
    p50Ms: pick((r) => r.latencyMs.p50),
    p99Ms: pick((r) => r.latencyMs.p99),
    requests: sum(all.map((r) => r.requests)),
    non3xx: sum(all.map((r) => r.non3xx)),
    socketErrors: sum(all.map((r) => r.socketErrors)),
    peakRss: pick((r) => r.peakRss),
    serverCpu,
    loadCpu,
    otherOnServerCpu,
    otherOnLoadCpu,
    connectionsPerRequest: pick((r) => r.connectionsPerRequest),
    listenDrops: sum(all.map((r) => r.listenDrops ?? 0)),
    extraConnections: sum(all.map((r) => Math.max(0, (r.connectionsOpened ?? 0) - cfg.connections))),
    cacheMissPercent: pick((r) => r.cacheMissPercent),
    bottleneck
  }
}

const summary = [...groups.values()].map(summarize)
const find = (target, mode, tool) => summary.find((s) => s.target === target && s.mode === mode && s.tool === tool)

function rowsFor (tool, modes) {
  const rows = []
  for (const mode of modes) {
    for (const t of targets) {
      const s = find(t.name, mode, tool)
      if (s === undefined) continue
      rows.push([t.name, mode, `${s.runsUsed}/${s.runs}`, fmt(s.rps), `${fmt(s.rpsMin)}-${fmt(s.rpsMax)}`, fmt(s.p50Ms, 2), fmt(s.p99Ms, 2), fmt(s.non3xx), fmt(s.socketErrors),
        fmtBytes(s.peakRss), `${fmt(s.serverCpu)}%`, `${fmt(s.loadCpu)}%`, fmt(s.connectionsPerRequest, 2),
        s.cacheMissPercent === null ? '-' : `${fmt(s.cacheMissPercent, 1)}%`, s.bottleneck])
    }
  }
  return rows
}
const HEADER = ['target', 'mode', 'runs', 'req/s (median)', 'req/s range', 'p50 ms', 'p99 ms', 'non-3xx', 'socket err', 'peak RSS', 'server CPU', 'load CPU', 'conn/req', 'cache miss', 'bottleneck']

function ratios (tool) {
  const rows = []
  for (const mode of [...cfg.modes, ...(cfg.cold ? ['cold'] : [])]) {
    const mg = find('mirrorgate', mode, tool)
    if (mg === undefined) continue
    for (const base of ['bare', 'nginx']) {
      const b = find(base, mode, tool)
      if (b === undefined) continue
      rows.push([`mirrorgate / ${base}`, mode, fmt(mg.rps / b.rps, 2), fmt(mg.p99Ms / b.p99Ms, 2)])
    }
  }
  return rows
}

const sections = []
const wrkTable = table(HEADER, rowsFor('wrk', cfg.modes))
sections.push({ title: `wrk (primary): medians over undisturbed runs (runs: used/total), ${cfg.seconds}s each, ${cfg.connections} connections`, t: wrkTable })
const wrkRatios = table(['ratio', 'mode', 'req/s', 'p99'], ratios('wrk'))
sections.push({ title: 'wrk ratios (req/s: higher is better for mirrorgate; p99: lower is better)', t: wrkRatios })
if (cfg.cold) {
  sections.push({ title: 'cold pass (wrk, keep-alive): a fresh process, each of the workload\'s addresses sent once, so every mirrorgate lookup misses its caches', t: table(HEADER, rowsFor('wrk', ['cold'])) })
}
if (cfg.acSeconds > 0) {
  sections.push({ title: `autocannon (secondary, a Node client: usually the bottleneck itself): medians over undisturbed runs, ${cfg.acSeconds}s each`, t: table(HEADER, rowsFor('autocannon', cfg.modes)) })
  sections.push({ title: 'autocannon ratios', t: table(['ratio', 'mode', 'req/s', 'p99'], ratios('autocannon')) })
}

// Plain-language findings.
const findings = []
for (const s of summary) {
  if (s.non3xx > 0 || s.socketErrors > 0) findings.push(`${s.target} ${s.mode} (${s.tool}): ${s.non3xx} non-3xx responses and ${s.socketErrors} socket errors over ${s.requests} requests`)
  if (s.bottleneck === 'load generator') findings.push(`${s.target} ${s.mode} (${s.tool}): the load generator was the bottleneck (load CPU ${s.loadCpu}%, server ${s.serverCpu}%): the server can do more than shown`)
  if (s.mode === 'close' && s.connectionsPerRequest !== null && s.connectionsPerRequest > 1.1) findings.push(`${s.target} close (${s.tool}): ${s.connectionsPerRequest} new connections per response: the client reconnected more than once per request`)
  if (s.mode === 'close' && s.connectionsPerRequest !== null && s.connectionsPerRequest < 0.95) findings.push(`${s.target} close (${s.tool}): only ${s.connectionsPerRequest} new connections per request: not every request opened a connection`)
  if ((s.mode === 'keepalive' || s.mode === 'cold') && s.extraConnections > s.requests * 0.01) findings.push(`${s.target} ${s.mode} (${s.tool}): ${s.extraConnections} connections opened beyond the ${cfg.connections} per run: connections were not kept alive`)
  if (s.allDisturbed) findings.push(`${s.target} ${s.mode} (${s.tool}): every run was disturbed (other processes used ${fmt(s.otherOnServerCpu)}% of the server CPU and ${fmt(s.otherOnLoadCpu)}% of the load CPU): numbers are low and noisy`)
  else if (s.runsUsed < s.runs) findings.push(`${s.target} ${s.mode} (${s.tool}): ${s.runs - s.runsUsed} of ${s.runs} runs disturbed by other processes and left out of the medians`)
  if (s.listenDrops > 0) findings.push(`${s.target} ${s.mode} (${s.tool}): ${s.listenDrops} listen-queue drops`)
  if (s.mode !== 'cold' && s.cacheMissPercent !== null && s.cacheMissPercent >= WARM_MISS_PERCENT) findings.push(`${s.target} ${s.mode} (${s.tool}): ${fmt(s.cacheMissPercent, 1)}% cache misses (median) after the warm-up: its decision caches restarted during the runs`)
}
for (const w of warmups) {
  if (!w.warm) findings.push(`${w.target}, round ${w.round + 1}: still ${fmt(w.missPercent, 1)}% cache misses after ${w.passes.length} warm-up passes`)
}
if (halfLoad !== null) {
  // measureHalfLoad ran exactly these two targets, so both rows are there.
  const bare = halfLoad.find((r) => r.name === 'bare')
  const mg = halfLoad.find((r) => r.name === 'mirrorgate')
  sections.push({
    title: `latency at half load (keep-alive, warm, every target offered the same load by paced wrk connections; medians over ${cfg.rounds} rounds)`,
    t: table(['target', 'paced for req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99 vs bare'], halfLoad.map((r) => [
      r.name, fmt(r.rate), fmt(r.medianRps), fmt(r.medianP50, 2), fmt(r.medianP99, 2), bare.medianP99 ? fmt(r.medianP99 / bare.medianP99, 2) : '-']))
  })
  if (mg.medianRps !== null && bare.medianRps !== null && mg.medianRps < bare.medianRps * 0.9) findings.push(`half load: mirrorgate answered ${fmt(mg.medianRps)} req/s against the bare server's ${fmt(bare.medianRps)} on the same paced connections: its slower answers held them back`)
  if (mg.medianP99 !== null && bare.medianP99 && mg.medianP99 > bare.medianP99 * 1.5) findings.push(`half load: mirrorgate's p99 ${fmt(mg.medianP99, 2)} ms is ${fmt(mg.medianP99 / bare.medianP99, 2)}x the bare server's, over the 1.5x target`)
}
if (clusterResult !== null) {
  const one = (mode) => clusterResult.rows.find((r) => r.workers === 1 && r.mode === mode)
  sections.push({
    title: `cluster (--workers; unpinned, wrk on the same ${ncpu} CPUs; medians over ${cfg.rounds} rounds, each after two warm-up passes)`,
    t: table(['target', 'workers', 'mode', 'req/s (median)', 'runs', 'vs 1 worker'], clusterResult.rows.map((r) => [r.name, String(r.workers), r.mode, fmt(r.median), r.rps.map((x) => fmt(x)).join(', '), fmt(r.median / (one(r.mode)?.median ?? r.median), 2)]))
  })
}
if (startup !== null) {
  if (startup.medianMs > 2000) findings.push(`start-up: median ${fmt(startup.medianMs)} ms from spawn to ready, over the 2 s target`)
  sections.push({ title: `start-up (mirrorgate, ${startup.runs.length} fresh processes: spawn to ready, polled every 10 ms)`, t: table(['run', 'ms to ready', 'RSS at ready'], startup.runs.map((r, i) => [String(i + 1), fmt(r.ms), fmtBytes(r.rss)]).concat([['median', fmt(startup.medianMs), '']])) })
}
if (core !== null) {
  sections.push({ title: `selection micro-benchmark (${core.networks} client networks, ${core.mirrors} mirrors, ${core.enabled} enabled)`, t: table(['case', 'ns/op', 'ops/s', 'vs haversine-loop'], core.results.map((c) => [c.name, fmt(c.nsPerOp, 0), fmt(1e9 / c.nsPerOp), fmt(c.nsPerOp / core.results[0].nsPerOp, 1) + 'x'])) })
}

log('')
for (const s of sections) log(`${s.title}\n${s.t.text}\n`)
if (findings.length > 0) log('findings:\n' + findings.map((f) => `  - ${f}`).join('\n'))
else log('findings: no errors, no non-3xx responses, no load-generator bottleneck flagged')
for (const n of notes) log(`note: ${n}`)

// ---- files ------------------------------------------------------------------------------

const stamp = startedAt.toISOString().replace(/[:.]/g, '-')
const result = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), config: cfg, environment: env, workload: workloadStats, verifications, notes, findings, summary, runs, warmups, core, startup, halfLoad, cluster: clusterResult }
const md = [
  `# mirrorgate benchmark, ${startedAt.toISOString()}`,
  '',
  `${quick ? 'Quick' : 'Full'} run. node ${process.version}, ${env.cpu} x${ncpu} (${Math.round(totalmem() / 2 ** 30)} GiB), kernel ${env.kernel}, ${env.wrk}${env.nginx ? `, ${env.nginx}` : ''}.`,
  `mirrorgate at ${env.commit}${env.dirty ? ' with uncommitted changes' : ''}. Pinning: ${cfg.pin ? `server CPU ${cfg.serverCpu}, load CPU ${cfg.loadCpu}` : 'off'}.`,
  '',
  `Workload: ${workloadStats.distinctAddresses} distinct client addresses (${workloadStats.ipv6Percent}% IPv6) in ${workloadStats.distinctNetworks} networks, sent as X-Forwarded-For from 127.0.0.1; ` +
    `${workloadStats.apkPercent}% .apk, ${workloadStats.apkindexPercent}% APKINDEX.tar.gz, ${workloadStats.releasePercent}% release files; ${workloadStats.distinctPaths} distinct paths (seed ${cfg.seed}).`,
  '',
  ...sections.flatMap((s) => [`## ${s.title}`, '', s.t.md, '']),
  '## Findings',
  '',
  ...(findings.length > 0 ? findings.map((f) => `- ${f}`) : ['- no errors, no non-3xx responses, no load-generator bottleneck flagged']),
  ...notes.map((n) => `- note: ${n}`),
  ''
].join('\n')
writeFileSync(join(resultsDir, `bench-${stamp}.json`), JSON.stringify(result, null, 2) + '\n')
writeFileSync(join(resultsDir, `bench-${stamp}.md`), md)
writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2) + '\n')
writeFileSync(join(resultsDir, 'latest.md'), md)
log(`\nwrote ${relative(process.cwd(), join(resultsDir, `bench-${stamp}.json`))} and .md (also latest.json, latest.md)`)
log(`total ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`)

// ---- helpers ----------------------------------------------------------------------------

function environment () {
  const out = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: root })
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : null
  }
  let cpu = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) cpu = m[1].trim()
  } catch {}
  const wrkV = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  const wrkVersion = `${wrkV.stdout ?? ''}`.split('\n')[0].replace(/ \[.*$/, '').trim() || 'wrk'
  const nginxVersion = which('nginx') ? (out('nginx', ['-v']) ?? '').replace('nginx version: ', '') : null
  return {
    node: process.version,
    cpu,
    cpus: ncpu,
    kernel: out('uname', ['-r']),
    wrk: wrkVersion,
    nginx: nginxVersion,
    commit: refSha !== null ? `${opt.ref} (${refSha.slice(0, 12)})` : `working tree on ${out('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown'}`,
    dirty: refSha === null && (out('git', ['status', '--porcelain', '--', 'src', 'data', 'package.json']) ?? '') !== '',
    loadAverageAtStart: load1
  }
}
