#!/usr/bin/env node
// Paired A/B comparison of two builds of mirrorgate in one sitting: what a change is worth.
//
//   node bench/paired.mjs --a 8736a5d           A: that commit, B: the working tree (about 2.5 minutes)
//   node bench/paired.mjs --a HEAD --b HEAD     an A/A run: the noise floor of the method
//   node bench/paired.mjs --a HEAD --quick      smoke test: 2 rounds of 1 s
//   node bench/paired.mjs --budgets loose       one build, B with every enabled mirror under a budget it never reaches
//   node bench/paired.mjs --b-table FILE        one build (the working tree), B with another mirror table
//   node bench/paired.mjs --help                every option
//
// What it measures: B's req/s and p99 latency over A's, with keep-alive connections and with a
// new connection per request, on run.mjs's workload (100,000 client addresses in
// X-Forwarded-For, the apk path mix, wrk with http/apk-mix.lua, 64 connections).
//
// Why paired: on a shared host the same build's rate moves by a third between full runs
// minutes apart (BASELINE.md), more than most changes are worth, so builds measured in
// separate sittings cannot be compared. Here both builds run at the same time, as two processes
// pinned to the same server CPU, each warmed by passes over the workload until its caches hold
// it; short wrk runs, pinned to the other CPU, then alternate between them (A first in odd
// rounds, B first in even ones), the two runs of a pair sending the same requests. Each round
// gives B/A from two runs seconds apart, so the host's drift mostly cancels out of it, and the
// median over the rounds discards the rounds a burst of other work hit. Results: a table on
// stdout and bench/results/paired-<time>.json.
//
// A and B may also be one build run two ways (--budgets, --a-table/--b-table,
// --a-config/--b-config): then A defaults to the working tree and B to A's build, and what the
// pair measures is the table or the configuration. --budgets (issue 15) writes a copy of the
// build's table with a budget on every enabled mirror (lib/budgets.mjs) under
// bench/results/budgets/ and runs B with it: `loose` (never reached: the cost of the accounting
// and placement, the redirects going where A's go), `tight[:RPS]` (the busiest mirrors overflow:
// informative, targets change) or `off` (an unchanged copy: A/A through the same path).

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runWrk } from './http/wrk.mjs'
import { parseBudgets, writeBudgetTable } from './lib/budgets.mjs'
import { buildRef, buildWorkingTree } from './lib/build.mjs'
import {
  cpuBusy, cpuSeconds, cpuTimes, enterPrivateNetns, freePort, hasTaskset, passiveOpens, stopChildrenOnSignal, stopProcess, waitForQuiet, which
} from './lib/proc.mjs'
import { fmt, median, table } from './lib/stats.mjs'
import { cacheMissPercent, get, mirrorgateTarget, overflowPercent, scrapeMirrorgate, WARM_MISS_PERCENT, warmUp } from './lib/targets.mjs'
import { mirrorBases, verifyTarget } from './lib/verify.mjs'
import { buildWorkload, WORKLOAD_SEED, writeWorkloadFile } from './lib/workload.mjs'

const benchDir = dirname(fileURLToPath(import.meta.url))
const root = dirname(benchDir)
const resultsDir = join(benchDir, 'results')
const SERVER_CPU = 0
const LOAD_CPU = 1
/** A run is flagged when other processes (the idle partner included) used more of the server CPU. */
const DISTURBED_PERCENT = 10

const USAGE = `usage: node bench/paired.mjs --a REF [options]
       node bench/paired.mjs --budgets off|loose|tight[:RPS] [options]
  --a REF|worktree|dir:PATH
                       build A, the baseline: a git ref, exported and built under
                       bench/results/ref-<sha>/ as run.mjs --ref does, the working tree, or a
                       directory already built (dist/main.js, data/, node_modules), as it is
                       (required unless one of the options below is given; then the working tree)
  --b REF|worktree|dir:PATH
                       build B, the candidate (default: the working tree, copied to
                       bench/results/tree/ and built there as run.mjs does; with the options
                       below, the same build as A)
  --budgets VARIANT    B runs a copy of the build's table (bench/results/budgets/) where every
                       enabled mirror has a budget: loose (1e9 requests/s and Mbit/s, never
                       reached: the cost of the budget code alone), tight[:RPS] (RPS requests/s,
                       default 500: the busiest mirrors overflow; informative) or off (the table
                       unchanged: an A/A run through the same generated config)
  --a-table FILE       run A with this mirror table (default: the build's data/mirrors.yaml)
  --b-table FILE       run B with this mirror table
  --a-config FILE      run A with this mirrorgate config file instead of the default (which is
                       probes.readyTimeoutSeconds: 0); give its table in it, not with --a-table
  --b-config FILE      the same for B
  --rounds N           rounds; each runs both builds once per mode (default 8)
  --seconds S          wrk seconds per run (default 3)
  --modes LIST         comma-separated from keepalive,close (default both)
  --connections N      wrk connections (default 64)
  --sessions N         start both servers afresh (and warm them) N times, the rounds split
                       among the sessions (default 1: one pair of processes for every round)
  --quick              smoke test: 2 rounds of 1 s runs
  --no-netns           stay in the current network namespace`

const { values: opt } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    budgets: { type: 'string' },
    'a-table': { type: 'string' },
    'b-table': { type: 'string' },
    'a-config': { type: 'string' },
    'b-config': { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    modes: { type: 'string', default: 'keepalive,close' },
    connections: { type: 'string', default: '64' },
    sessions: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
    'no-netns': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})
if (opt.help) {
  console.log(USAGE)
  process.exit(0)
}
function fail (message) {
  console.error(`paired: ${message}`)
  process.exit(1)
}
// One build run two ways: A defaults to the working tree, B to A's build.
const sameBuild = ['budgets', 'a-table', 'b-table', 'a-config', 'b-config'].some((k) => opt[k] !== undefined)
if (opt.a === undefined && !sameBuild) fail(`--a is required (the baseline build)\n${USAGE}`)
for (const k of ['a', 'b']) {
  if (opt[`${k}-table`] !== undefined && opt[`${k}-config`] !== undefined) fail(`--${k}-table and --${k}-config together: give the table in the config file`)
}
if (opt.budgets !== undefined && (opt['b-table'] !== undefined || opt['b-config'] !== undefined)) fail('--budgets writes B\'s table: no --b-table or --b-config with it')
let budgets = null
try {
  if (opt.budgets !== undefined) budgets = parseBudgets(opt.budgets)
} catch (err) {
  fail(err.message)
}

const netns = await enterPrivateNetns({ disabled: opt['no-netns'] })
stopChildrenOnSignal('paired')

const cfg = {
  a: opt.a ?? 'worktree',
  b: opt.b ?? (sameBuild ? opt.a ?? 'worktree' : 'worktree'),
  budgets: opt.budgets ?? null,
  rounds: Number(opt.rounds ?? (opt.quick ? 2 : 8)),
  seconds: Number(opt.seconds ?? (opt.quick ? 1 : 3)),
  modes: opt.modes.split(',').map((m) => m.trim()).filter(Boolean),
  connections: Number(opt.connections),
  sessions: Number(opt.sessions),
  pin: hasTaskset
}
for (const m of cfg.modes) if (m !== 'keepalive' && m !== 'close') fail(`unknown mode ${m}`)
for (const k of ['rounds', 'seconds', 'connections', 'sessions']) if (!(cfg[k] >= 1)) fail(`--${k} must be a positive number`)
if (cfg.sessions > cfg.rounds) fail('--sessions cannot be more than --rounds')
if (which('wrk') === null) fail('wrk is not installed: apt-get install wrk')
if (cpus().length < 2) fail('needs two CPUs: one for the servers, one for wrk')

const log = (...a) => console.log(...a)
const startedAt = new Date()
const notes = []
if (netns.note !== null) notes.push(netns.note)
if (!cfg.pin) notes.push('taskset not found: servers and wrk are not pinned')
const load1 = loadavg()[0] // our own previous run counts in it too: busy CPUs are checked before the start

// ---- the two builds ----------------------------------------------------------------------

const git = (args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? ''
function build (spec) {
  if (spec.startsWith('dir:')) {
    // A build made elsewhere (a patched copy, say), measured as it is.
    const dir = resolve(spec.slice('dir:'.length))
    if (!existsSync(join(dir, 'dist', 'main.js'))) throw new Error(`${spec}: no dist/main.js there`)
    return { spec, dir, sha: null, label: `the build in ${dir}` }
  }
  if (spec === 'worktree') {
    const b = buildWorkingTree(root, resultsDir)
    const dirty = git(['status', '--porcelain', '--', 'src', 'data', 'package.json', 'tsconfig.json']) !== ''
    return { spec, dir: b.dir, sha: null, sourceHash: b.hash, label: `working tree on ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' with uncommitted changes' : ''}` }
  }
  const b = buildRef(root, spec, resultsDir)
  return { spec, dir: b.dir, sha: b.sha, label: `${spec} (${b.sha.slice(0, 12)})` }
}
const sides = []
try {
  for (const [key, spec] of [['A', cfg.a], ['B', cfg.b]]) {
    // The same spec twice is one build: the working tree is not copied again (it may have changed).
    const same = sides.find((s) => s.spec === spec)
    if (same === undefined) log(`building ${key}: ${spec} ...`)
    sides.push({ key, ...(same === undefined ? build(spec) : { spec, dir: same.dir, sha: same.sha, sourceHash: same.sourceHash, label: same.label }) })
  }
} catch (err) {
  fail(err.message)
}

// How each side runs: its own config file (--x-config), or the offline default with another
// table (--x-table, --budgets), or the offline default (mirrorgateTarget's).
const configDir = join(resultsDir, 'budgets')
for (const s of sides) {
  const k = s.key.toLowerCase()
  s.config = opt[`${k}-config`] === undefined ? null : resolve(opt[`${k}-config`])
  s.table = opt[`${k}-table`] === undefined ? null : resolve(opt[`${k}-table`])
  s.tableNote = s.table === null ? null : relative(root, s.table)
}
if (budgets !== null) {
  const b = sides[1]
  const source = sides[0].table ?? join(b.dir, 'data', 'mirrors.yaml')
  try {
    const t = writeBudgetTable({ root, source, out: join(configDir, `mirrors-${budgets.variant}.yaml`), budget: budgets.budget, describe: budgets.describe })
    b.table = t.file
    b.tableNote = `${relative(root, t.file)}: ${budgets.describe}, ${t.budgeted} of ${t.mirrors} mirrors`
  } catch (err) {
    fail(err.message)
  }
}
for (const s of sides) {
  if (s.table !== null) {
    // The offline default (readyz without waiting for the probes) with this table.
    s.config = join(configDir, `paired-${s.key}.yaml`)
    mkdirSync(configDir, { recursive: true })
    writeFileSync(s.config, `# generated by bench/paired.mjs\nprobes:\n  readyTimeoutSeconds: 0\ntable: ${JSON.stringify(s.table)}\n`)
  }
  if (s.tableNote === null && budgets !== null) s.tableNote = 'its own data/mirrors.yaml'
  if (s.tableNote !== null) s.label += `; table ${s.tableNote}`
  else if (s.config !== null) s.label += `; config ${relative(root, s.config)}`
}

// The same workload as run.mjs.
const workloadFile = join(resultsDir, 'workload.txt')
const { entries, stats: workloadStats } = buildWorkload({ count: 100_000, seed: WORKLOAD_SEED })
writeWorkloadFile(workloadFile, entries)

log(`\npaired A/B: ${cfg.rounds} rounds of ${cfg.seconds} s wrk runs per build and mode, ${cfg.connections} connections${cfg.sessions > 1 ? `, in ${cfg.sessions} sessions of fresh processes` : ''}`)
for (const s of sides) log(`  ${s.key}: ${s.label}`)
log(`  node ${process.version}, ${cpus()[0].model} x${cpus().length}; network: ${netns.private ? 'private namespace, loopback only' : 'shared namespace'}`)
log(`  pinning: ${cfg.pin ? `both servers on CPU ${SERVER_CPU}, wrk on CPU ${LOAD_CPU}` : 'off'}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
for (const n of notes) log(`  note: ${n}`)

// ---- start, check and warm both --------------------------------------------------------

let sameFirst = null
let sameFirstAfter = null
const warmups = []

/**
 * Starts both servers afresh, checks their answers and warms them (A first in odd sessions, B
 * first in even ones). With --sessions N this happens N times in a sitting: a process can run
 * slower than another of the same build for its whole life (an A/A run on 2026-12-06 had one
 * at 0.73 of the other in every round), so one pair of processes is one sample of that too.
 */
async function startSession (session) {
  const q0 = await waitForQuiet({ maxMs: opt.quick ? 0 : 20_000 })
  if (!q0.quiet) notes.push(`session ${session}: CPUs busy before the start (${Object.entries(q0.busy).map(([k, v]) => `${k} ${v}%`).join(', ')})`)
  if (cfg.sessions > 1) log(`  session ${session}: starting both servers`)
  for (const s of sides) {
    s.port = await freePort()
    s.url = `http://127.0.0.1:${s.port}`
    s.proc = await mirrorgateTarget({ root: s.dir, ...(s.config === null ? {} : { config: s.config }) }).start({ port: s.port, cpu: SERVER_CPU, pin: cfg.pin })
    const v = await verifyTarget({ target: 'mirrorgate', url: s.url, entries, bases: await mirrorBases(s.dir, s.table ?? undefined), sample: 20 })
    if (v.problems.length > 0) throw new Error(`${s.key} does not answer as expected:\n  ${v.problems.slice(0, 5).join('\n  ')}`)
    if (session === 1) log(`  ${s.key} verify: ${v.ok}/${v.checked} sampled answers are 302 to a mirror`)
  }
  // Before any load (no mirror has load yet): do both send the same clients to the same
  // mirrors? With --budgets loose they must (the budgets are never reached), so the pair
  // measures the cost of the budget code and not a different choice of mirrors.
  if (session === 1) {
    sameFirst = await compareFirstTargets(entries, 200)
    log(`  same first mirror from A and B: ${sameFirst.same}/${sameFirst.checked} sampled requests${sameFirst.same === sameFirst.checked ? '' : ` (differing: ${sameFirst.examples.join(', ')})`}`)
  }
  // Warm-up (lib/targets.mjs): passes over the workload until one finds nearly everything in the
  // caches. In its first seconds a fresh mirrorgate's probes mark the unreachable mirrors down
  // one by one, each change emptying its decision cache: with a single pass each, the build
  // warmed first measured slower.
  for (const s of session % 2 === 1 ? sides : [...sides].reverse()) {
    const w = await warmUp({
      url: s.url, workload: workloadFile, connections: cfg.connections, cpu: LOAD_CPU, pin: cfg.pin,
      onPass: (p) => log(`  ${s.key} warm-up pass ${p.pass}: ${fmt(p.rps)} req/s, ${fmt(p.missPercent, 1)}% cache misses${p.completed ? '' : ' (did not finish the pass)'}`)
    })
    warmups.push({ session, key: s.key, passes: w.passes })
  }
}
async function stopSession () {
  for (const s of sides) if (s.proc) await stopProcess(s.proc)
}

try {
  await startSession(1)
} catch (err) {
  await stopSession()
  fail(err.message)
}

// ---- rounds -----------------------------------------------------------------------------

/** For a sample of the workload, one request at a time to each side: the X-Mirrorgate-Mirror each answers. */
async function compareFirstTargets (list, sample) {
  const step = Math.max(1, Math.floor(list.length / sample))
  let checked = 0
  let same = 0
  const examples = []
  for (let i = 0; i < list.length && checked < sample; i += step) {
    const e = list[i]
    const ids = []
    for (const s of sides) ids.push((await get(s.url + e.path, { 'x-forwarded-for': e.ip })).headers['x-mirrorgate-mirror'] ?? '-')
    checked++
    if (ids[0] === ids[1]) same++
    else if (examples.length < 3) examples.push(`${e.ip}: ${ids.join(' / ')}`)
  }
  return { checked, same, examples }
}

/** One wrk run against one build, with its cache misses, the other CPU use on the server CPU and the connections opened. */
async function measure (side, mode, start) {
  const cores0 = cpuTimes()
  const server0 = cpuSeconds(side.proc.pid)
  const opens0 = passiveOpens()
  const metrics0 = await scrapeMirrorgate(side.url)
  const t0 = performance.now()
  const r = await runWrk({ url: side.url, workload: workloadFile, mode, seconds: cfg.seconds, connections: cfg.connections, cpu: LOAD_CPU, pin: cfg.pin, start })
  const wall = (performance.now() - t0) / 1000
  const serverSeconds = cpuSeconds(side.proc.pid) - server0
  const busy = cpuBusy(cores0, cpuTimes())[`cpu${SERVER_CPU}`]
  const metrics1 = await scrapeMirrorgate(side.url)
  const cacheMiss = cacheMissPercent(metrics0, metrics1)
  const otherServerCpu = cfg.pin && busy != null ? Math.max(0, Math.round((busy / 100 * wall - serverSeconds) / r.seconds * 100)) : null
  return {
    rps: r.rps,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    requests: r.requests,
    non3xx: r.non3xx,
    socketErrors: r.socketErrors,
    cacheMissPercent: cacheMiss,
    overflowPercent: overflowPercent(metrics0, metrics1),
    serverCpu: Math.min(100, Math.round(serverSeconds / r.seconds * 100)),
    otherServerCpu,
    connectionsPerRequest: opens0 === null || r.requests === 0 ? null : Math.round((passiveOpens() - opens0) / r.requests * 1000) / 1000
  }
}

/** What is wrong with a run, if anything: listed under the table, the round marked `*`. */
function flags (key, mode, r) {
  const f = []
  if (r.non3xx > 0 || r.socketErrors > 0) f.push(`${key}: ${r.non3xx} non-3xx, ${r.socketErrors} socket errors`)
  if (r.otherServerCpu !== null && r.otherServerCpu > DISTURBED_PERCENT) f.push(`${key}: other processes used ${r.otherServerCpu}% of CPU ${SERVER_CPU}`)
  if (r.cacheMissPercent !== null && r.cacheMissPercent >= WARM_MISS_PERCENT) f.push(`${key}: ${r.cacheMissPercent}% cache misses`)
  if (r.serverCpu < 90) f.push(`${key}: server only ${r.serverCpu}% busy`)
  if (mode === 'close' && r.connectionsPerRequest !== null && r.connectionsPerRequest < 0.95) f.push(`${key}: ${r.connectionsPerRequest} conn/req`)
  return f
}

const rows = []
let runCounter = 0
/** The session each round belongs to: the rounds split as evenly as they go, in order. */
const sessionOf = (round) => Math.floor(((round - 1) * cfg.sessions) / cfg.rounds) + 1
try {
  for (let round = 1; round <= cfg.rounds; round++) {
    const session = sessionOf(round)
    if (round > 1 && session !== sessionOf(round - 1)) {
      await stopSession()
      await startSession(session)
    }
    const q = await waitForQuiet({ maxMs: opt.quick ? 0 : 20_000 })
    if (!q.quiet) notes.push(`round ${round}: CPUs still busy before it (${Object.entries(q.busy).map(([k, v]) => `${k} ${v}%`).join(', ')})`)
    const order = round % 2 === 1 ? sides : [...sides].reverse()
    const modes = round % 2 === 1 ? cfg.modes : [...cfg.modes].reverse()
    for (const mode of modes) {
      // Both runs of the pair send the same requests, from somewhere else in the workload each round.
      const start = (++runCounter * 7919) % entries.length
      const got = {}
      for (const s of order) got[s.key] = await measure(s, mode, start)
      const { A: a, B: b } = got
      const row = { round, session, mode, first: order[0].key, a, b, rpsRatio: b.rps / a.rps, p99Ratio: b.p99Ms / a.p99Ms, flags: [...flags('A', mode, a), ...flags('B', mode, b)] }
      rows.push(row)
      log(`  round ${round} ${mode.padEnd(9)} A ${fmt(a.rps).padStart(6)} req/s p99 ${fmt(a.p99Ms, 2)} ms | B ${fmt(b.rps).padStart(6)} req/s p99 ${fmt(b.p99Ms, 2)} ms | ` +
        `B/A ${fmt(row.rpsRatio, 3)} req/s, ${fmt(row.p99Ratio, 3)} p99${row.flags.length > 0 ? `  [${row.flags.join('; ')}]` : ''}`)
    }
  }
  // And after the load: under tight budgets the busiest mirrors' newest networks have moved.
  sameFirstAfter = await compareFirstTargets(entries, 200)
  log(`  same first mirror from A and B after the rounds: ${sameFirstAfter.same}/${sameFirstAfter.checked} sampled requests`)
} finally {
  await stopSession()
}

// ---- report -----------------------------------------------------------------------------

const MODE_TITLE = { keepalive: 'keep-alive', close: 'new connection per request (Connection: close)' }
const summary = []
log('')
for (const mode of cfg.modes) {
  const rs = rows.filter((r) => r.mode === mode)
  const s = {
    mode,
    rounds: rs.length,
    medianA: median(rs.map((r) => r.a.rps)),
    medianB: median(rs.map((r) => r.b.rps)),
    rpsRatio: median(rs.map((r) => r.rpsRatio)),
    rpsRatioMin: Math.min(...rs.map((r) => r.rpsRatio)),
    rpsRatioMax: Math.max(...rs.map((r) => r.rpsRatio)),
    bFaster: rs.filter((r) => r.rpsRatio > 1).length,
    p99Ratio: median(rs.map((r) => r.p99Ratio)),
    flaggedRounds: rs.filter((r) => r.flags.length > 0).length,
    overflowPercentA: median(rs.map((r) => r.a.overflowPercent)),
    overflowPercentB: median(rs.map((r) => r.b.overflowPercent)),
    // The rounds no flag marked (on a shared host, those other work did not hit).
    sessionRatios: [...new Set(rs.map((r) => r.session))].map((k) => median(rs.filter((r) => r.session === k).map((r) => r.rpsRatio))),
    cleanRounds: rs.filter((r) => r.flags.length === 0).length,
    rpsRatioClean: median(rs.filter((r) => r.flags.length === 0).map((r) => r.rpsRatio))
  }
  summary.push(s)
  // Overflow columns when either side has budgets (its /metrics has the counter).
  const showOverflow = rs.some((r) => r.a.overflowPercent !== null || r.b.overflowPercent !== null)
  const ov = (x) => (x === null ? '-' : fmt(x, 2))
  const t = table(['round', ...(cfg.sessions > 1 ? ['session'] : []), 'first', 'A req/s', 'B req/s', 'B/A req/s', 'A p99 ms', 'B p99 ms', 'B/A p99', ...(showOverflow ? ['A overflow %', 'B overflow %'] : [])], [
    ...rs.map((r) => [`${r.round}${r.flags.length > 0 ? ' *' : ''}`, ...(cfg.sessions > 1 ? [r.session] : []), r.first, fmt(r.a.rps), fmt(r.b.rps), fmt(r.rpsRatio, 3), fmt(r.a.p99Ms, 2), fmt(r.b.p99Ms, 2), fmt(r.p99Ratio, 3),
      ...(showOverflow ? [ov(r.a.overflowPercent), ov(r.b.overflowPercent)] : [])]),
    ['median', ...(cfg.sessions > 1 ? [''] : []), '', fmt(s.medianA), fmt(s.medianB), fmt(s.rpsRatio, 3), fmt(median(rs.map((r) => r.a.p99Ms)), 2), fmt(median(rs.map((r) => r.b.p99Ms)), 2), fmt(s.p99Ratio, 3),
      ...(showOverflow ? [ov(s.overflowPercentA), ov(s.overflowPercentB)] : [])]
  ])
  log(`${MODE_TITLE[mode]}: B/A per round (req/s: above 1 is B faster; p99: below 1 is B lower)\n${t.text}`)
  for (const r of rs.filter((r) => r.flags.length > 0)) log(`  * round ${r.round}: ${r.flags.join('; ')}`)
  log(`  B/A req/s: median ${fmt(s.rpsRatio, 3)}, range ${fmt(s.rpsRatioMin, 3)} to ${fmt(s.rpsRatioMax, 3)}, B faster in ${s.bFaster} of ${s.rounds} rounds; B/A p99: median ${fmt(s.p99Ratio, 3)}`)
  if (cfg.sessions > 1) log(`  B/A req/s by session (fresh processes each): ${s.sessionRatios.map((x) => fmt(x, 3)).join(', ')}`)
  if (s.cleanRounds < s.rounds) log(`  rounds without a *: ${s.cleanRounds} of ${s.rounds}${s.cleanRounds > 0 ? `, B/A req/s median ${fmt(s.rpsRatioClean, 3)}` : ''}`)
  if (budgets !== null) {
    // Issue 15, item 7: the redirect path with budgets on within 5% of budgets off.
    s.atLeast095 = rs.filter((r) => r.rpsRatio >= 0.95).length
    const what = budgets.variant === 'loose' ? 'the criterion (issue 15 item 7)' : budgets.variant === 'tight' ? 'informative only (targets change under tight budgets)' : 'A/A: the noise floor'
    log(`  budgets ${budgets.variant}: B/A req/s >= 0.95 ${s.rpsRatio >= 0.95 ? 'met' : 'NOT met'} by the median; ${s.atLeast095} of ${s.rounds} rounds at or above 0.95 (${what})`)
  }
  log('')
}
if (sameFirst !== null) log(`same first mirror from A and B: ${sameFirst.same}/${sameFirst.checked} sampled requests before the load, ${sameFirstAfter?.same ?? '-'}/${sameFirstAfter?.checked ?? '-'} after it`)
for (const s of sides) log(`${s.key}: ${s.label}`)
for (const n of notes) log(`note: ${n}`)

const seconds = Math.round((Date.now() - startedAt.getTime()) / 1000)
const result = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  seconds,
  config: { ...cfg, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU },
  environment: { node: process.version, cpu: cpus()[0].model, cpus: cpus().length, privateNetns: netns.private, loadAverageAtStart: load1 },
  builds: sides.map(({ key, spec, sha, label, sourceHash, config, table }) => ({ key, spec, sha, label, sourceHash, config, table })),
  budgets,
  sameFirstMirror: { before: sameFirst, after: sameFirstAfter },
  warmups,
  workload: workloadStats,
  summary,
  rounds: rows,
  notes
}
mkdirSync(resultsDir, { recursive: true })
const file = join(resultsDir, `paired-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
log(`\nwrote ${relative(process.cwd(), file)}; total ${seconds} s`)
