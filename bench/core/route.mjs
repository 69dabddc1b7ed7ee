#!/usr/bin/env node
// Micro-benchmark of index-aware routing on the built code (dist/redirector.js): what route()
// adds to the redirect's hot path over decide(), with warm caches, over the HTTP benchmark's own
// requests (results/workload.txt, or the same generator), against a realistic coverage:
//
//   decide          Redirector.decide(ip, scheme, cls): the cached decision per client network
//   route           Redirector.route(ip, scheme, cls, rest): decide(), refined by what each
//                   mirror is known to hold (live.coverage)
//   route (empty)   route() on a second Redirector whose Fleet knows no index (index routing
//                   off): its cost when unused
//   decide (empty)  decide() on that second Redirector: the same caches, so route (empty) has
//                   its own baseline
//
// Sponsor budgets (issue 15), on Fleets that know no index (as in the HTTP benchmarks, which
// run offline), each Redirector with a LoadMeter as service.ts builds it; "redirect" is what
// http/redirect.ts does per request: route(), then load.record(first, rest) when the table has
// budgets:
//
//   redirect, off    the table as it is (no budgets): route() and the `budgeted` check only
//   redirect, loose  a copy of the table with every enabled mirror under a budget it never
//                    reaches (lib/budgets.mjs): placement, ratio reads and record() on every call,
//                    the same first mirror as without budgets (checked)
//   route, loose     route() alone on that redirector: the placement without record()
//   decide, loose    decide() on it: under budgets each decision ranks 8 more mirrors
//   redirect, tight  a copy with --tight-rps requests/s per mirror (default 1,000), its
//                    LoadMeter on a virtual clock that advances 1/--rate s per call (default
//                    55,000: the load is that many redirects a second whatever this machine's
//                    speed) and its rates' window --tight-window
//                    seconds (default 2, not the service's 20, so that the load settles within a
//                    few passes, which run before the timing): the busiest mirrors overflow and
//                    networks move. Informative: targets change, and the clock is not Date.now
//
//   node bench/core/route.mjs [--quick] [--json] [--rounds N] [--workload FILE] [--root DIR]
//        [--behind F] [--missing F] [--age-minutes M] [--requests N] [--cache-size N] [--seed N]
//        [--no-budgets] [--tight-rps R] [--rate R] [--tight-window S]
//
// --root is the mirrorgate checkout whose dist/ is measured (default: this repository);
// --cache-size the decision cache's networks (default: the service's, selection.cacheSize).
//
// The coverage: every APKINDEX Alpine serves (v3.13..v3.23 and edge; main and community, testing
// on edge; the architectures of each branch) with the package counts of the tests'
// realisticIndexSet() (test/helpers/apkindex.ts: estimates, about 5,500 main and 20,000
// community packages per architecture on recent branches), each with two versions: the newest,
// published --age-minutes ago, and the one before (every 20th package a release older). Every
// package the workload asks for is listed by the newest version of its folder. Each enabled
// mirror of the table has a check of every index: a share (--behind) holds the older copy
// everywhere, the rest the newest; a share (--missing) answers 404 for riscv64 and loongarch64.
//
// Each sample is whole passes over the same request sequence, for every case; cases rotate their
// order every round; the report is the median ns per call over the rounds, and the median of the
// per-round differences. Before timing, an untimed pass sorts every route() call: the fast path
// (decide()'s own object), a reorder (a new object: another target first) or the slow path (a
// full selection over what is known: it places the client again, so GeoIP's lookup counter
// moves). It also reports the master histories' memory (historyBytes, and the heap and array
// buffers they added, after garbage collection).

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseBudgets, TIGHT_RPS, writeBudgetTable } from '../lib/budgets.mjs'
import { buildWorkload, prng, WORKLOAD_SEED } from '../lib/workload.mjs'
import { median, table as textTable } from '../lib/stats.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const { values: opt } = parseArgs({
  options: {
    root: { type: 'string', default: resolve(here, '..', '..') },
    workload: { type: 'string', default: join(here, '..', 'results', 'workload.txt') },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    requests: { type: 'string' },
    behind: { type: 'string', default: '0.2' },
    missing: { type: 'string', default: '0.15' },
    'age-minutes': { type: 'string', default: '20' },
    seed: { type: 'string', default: '662303' },
    'cache-size': { type: 'string' },
    'no-budgets': { type: 'boolean', default: false },
    // Twice paired.mjs's default: there each build is loaded about half the time.
    'tight-rps': { type: 'string', default: String(2 * TIGHT_RPS) },
    rate: { type: 'string', default: '55000' },
    'tight-window': { type: 'string', default: '2' }
  }
})

const root = resolve(opt.root)
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href)
let configFromDocument, loadTableFile, Fleet, GeoIp, Redirector, parseIp, parseTarget, PathClassifier, addVersion, historyBytes, identityKey
try {
  ;({ configFromDocument } = await dist('config/schema.js'))
  ;({ loadTableFile } = await dist('config/table-file.js'))
  ;({ Fleet } = await dist('live/fleet.js'))
  ;({ GeoIp } = await dist('geoip/reader.js'))
  ;({ Redirector } = await dist('redirector.js'))
  ;({ parseIp } = await dist('core/ip.js'))
  ;({ parseTarget } = await dist('core/request-path.js'))
  ;({ PathClassifier } = await dist('core/freshness.js'))
  ;({ addVersion, historyBytes, identityKey } = await dist('core/file-set.js'))
} catch (err) {
  console.error(`bench/core/route: cannot load the built code (run npx tsc -p tsconfig.json): ${err.message}`)
  process.exit(1)
}
// Sponsor budgets: builds from before them have no LoadMeter; those cases are then left out.
let LoadMeter = null
if (!opt['no-budgets']) {
  try {
    ;({ LoadMeter } = await dist('live/load.js'))
  } catch {
    console.error('bench/core/route: this build has no live/load.js (sponsor budgets): the budget cases are left out')
  }
}
if (typeof Redirector.prototype.route !== 'function') {
  console.error('bench/core/route: this build has no Redirector.route (index-aware routing): nothing to measure')
  process.exit(1)
}

const gc = (() => {
  if (typeof globalThis.gc === 'function') return globalThis.gc
  try { setFlagsFromString('--expose-gc'); return runInNewContext('gc') } catch { return null }
})()
const memory = () => {
  // Several full collections: V8 flushes the bytecode of functions unused for a few, which
  // would otherwise show as a fall of the heap (the configuration schema's, run once at start).
  if (gc !== null) for (let i = 0; i < 8; i++) gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers }
}
const started = performance.now()

// ---- the service's own pieces, as service.ts builds them (probes off) --------------------

const config = configFromDocument({ probes: { enabled: false } }, 'bench', root)
const table = await loadTableFile(config.table)
const geoip = new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
const classifier = new PathClassifier(config.freshness.versioned, config.freshness.volatile)
const enabled = table.mirrors.filter((m) => m.enabled)

// ---- requests -----------------------------------------------------------------------------

const fromFile = existsSync(opt.workload)
// In a function, so that the lines are garbage before the memory figures' first reading.
function loadRequests () {
  const lines = fromFile
    ? readFileSync(opt.workload, 'utf8').split('\n').filter((l) => l !== '').map((l) => { const s = l.indexOf(' '); return { ip: l.slice(0, s), path: l.slice(s + 1) } })
    : buildWorkload({ count: 100_000, seed: WORKLOAD_SEED }).entries
  const limit = opt.requests === undefined ? lines.length : Math.min(lines.length, Number(opt.requests))
  const out = []
  for (const { ip, path } of lines.slice(0, limit)) {
    const parsed = parseTarget(path, config.prefixes)
    const addr = parseIp(ip)
    if (!parsed.ok || parsed.prefix === null || addr === null) continue
    // A copy: a slice would keep the whole workload text alive.
    const rest = (' ' + parsed.rest).slice(1)
    const kind = rest.endsWith('.apk') ? 'package' : rest.endsWith('/APKINDEX.tar.gz') ? 'index' : 'other'
    // wrk sends no X-Forwarded-Proto: every workload request is plain http, as in run.mjs.
    out.push(Object.freeze({ ip: addr, scheme: 'http', cls: classifier.classify(rest), rest, kind }))
  }
  return out
}
const requests = loadRequests()

// ---- the coverage -------------------------------------------------------------------------

const BRANCHES = ['v3.13', 'v3.14', 'v3.15', 'v3.16', 'v3.17', 'v3.18', 'v3.19', 'v3.20', 'v3.21', 'v3.22', 'v3.23', 'edge']
// Share of the x86_64 count each architecture builds (as in test/helpers/apkindex.ts).
const ARCH_SHARE = { x86_64: 1, aarch64: 0.99, x86: 0.95, armv7: 0.95, armhf: 0.93, ppc64le: 0.93, s390x: 0.9, riscv64: 0.86, loongarch64: 0.82 }
function archesOf (branch) {
  const minor = branch === 'edge' ? Infinity : Number(branch.split('.')[1])
  const arches = ['x86', 'x86_64', 'aarch64', 'armhf', 'armv7', 'ppc64le', 's390x']
  if (minor >= 20) arches.push('riscv64')
  if (minor >= 21) arches.push('loongarch64')
  return arches
}
/** realisticIndexSet(): every index with its (estimated) package count. */
function indexSet () {
  const out = []
  for (const [i, branch] of BRANCHES.entries()) {
    const age = branch === 'edge' ? 1.02 : i / 10
    const repos = [['main', 4600 + 900 * age], ['community', 13_000 + 7000 * age]]
    if (branch === 'edge') repos.push(['testing', 12_000])
    for (const [repo, count] of repos) {
      for (const arch of archesOf(branch)) {
        out.push({ branch, repo, arch, dir: `${branch}/${repo}/${arch}/`, packages: Math.round(count * (ARCH_SHARE[arch] ?? 1) / 10) * 10 })
      }
    }
  }
  return out
}

// One pool of package names per repository, the same across branches and architectures (as
// real repositories are); each branch has its own versions.
const rnd = prng(Number(opt.seed))
const SYLLABLES = ['lib', 'py', 'gtk', 'x', 'qt', 'font', 'perl', 'lua', 'ruby', 'go', 'rust', 'node', 'kde', 'gnome', 'ca', 'ne', 'mo',
  'ra', 'ti', 'ko', 'sel', 'ban', 'dor', 'vik', 'zen', 'pul', 'far', 'gon', 'mir', 'tor', 'lex', 'nix', 'sto', 'wav', 'ice', 'arc']
const SUFFIXES = ['', '', '', '', '-dev', '-doc', '-libs', '-openrc', '-lang', '-dbg', '-static', '-utils', '-bash-completion', '-pyc']
function namePool (count) {
  const seen = new Set()
  const out = []
  while (out.length < count) {
    let stem = ''
    for (let n = 1 + rnd.int(3); n > 0; n--) stem += rnd.pick(SYLLABLES)
    let name = stem + rnd.pick(SUFFIXES)
    if (seen.has(name)) name += out.length
    seen.add(name)
    out.push(name)
  }
  return out
}
const POOLS = { main: namePool(6000), community: namePool(22_000), testing: namePool(12_000) }
const versionOf = (r) => `${r.int(30)}.${r.int(20)}.${r.int(12)}`
/** Per branch and name: a version, and whether the newest sync point replaced its release. */
function release (branch, name, index) {
  let h = 0x811c9dc5
  for (const s of [branch, name]) for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  const r = prng(h >>> 0)
  const rel = 1 + r.int(6)
  return { file: `${name}-${versionOf(r)}-r${rel}.apk`, old: `${name}-${versionOf(r)}-r${rel - 1}.apk`, bumped: index % 20 === 0, size: Math.round(2048 * Math.pow(25_600, r.float())) }
}
/** The previous release of a workload file name (`...-rN.apk` -> `...-r(N-1).apk`, or an older version). */
function previousFile (file) {
  const m = /^(.*)-(\d+)\.(\d+)\.(\d+)(.*)-r(\d+)\.apk$/.exec(file)
  if (m === null) return `${file.slice(0, -4)}-old.apk`
  const [, name, a, b, c, suffix, rel] = m
  if (Number(rel) > 0) return `${name}-${a}.${b}.${c}${suffix}-r${Number(rel) - 1}.apk`
  return `${name}-${a}.${b}.${c}${suffix}_rc1-r0.apk`
}
// The workload's packages by folder: each listed by the newest version there.
const wanted = new Map()
for (const q of requests) {
  if (q.kind !== 'package') continue
  const slash = q.rest.lastIndexOf('/')
  const dir = q.rest.slice(0, slash + 1)
  let set = wanted.get(dir)
  if (set === undefined) wanted.set(dir, set = new Set())
  set.add(q.rest.slice(slash + 1))
}

const now = Date.now()
const MINUTE = 60_000
const newestAt = now - Number(opt['age-minutes']) * MINUTE
const olderAt = newestAt - 6 * 60 * MINUTE
const indexes = indexSet()
const before = memory()
const histories = []
let listed = 0
let workloadListed = 0
const bumpedFiles = new Set()
/** By folder: the identity keys of the newest copy and the one before, as a HEAD of each answers. */
const keys = new Map()
const buildStarted = performance.now()
for (const [n, ix] of indexes.entries()) {
  const pool = POOLS[ix.repo]
  const share = ARCH_SHARE[ix.arch] ?? 1
  const older = []
  const newest = []
  let i = 0
  for (const name of pool) {
    if (newest.length >= ix.packages) break
    // The rarer architectures miss some packages: a deterministic pick per name and arch.
    if (share < 1 && ((fnv(name + ix.arch) % 1000) / 1000) >= share + 0.05) continue
    const r = release(ix.branch, name, i++)
    newest.push({ name: r.file, size: r.size })
    older.push({ name: r.bumped ? r.old : r.file, size: r.size })
  }
  for (const file of wanted.get(ix.dir) ?? []) {
    // A workload package: one in 20 (by name, not by popularity) was released at the newest sync point.
    const bumped = fnv(file) % 20 === 0
    newest.push({ name: file, size: 100_000 })
    older.push({ name: bumped ? previousFile(file) : file, size: 100_000 })
    if (bumped) bumpedFiles.add(ix.dir + file)
    workloadListed++
  }
  listed += newest.length
  const path = ix.dir + 'APKINDEX.tar.gz'
  const identities = [{ lastModified: newestAt, size: 1_000_001 + 2 * n }, { lastModified: olderAt, size: 1_000_000 + 2 * n }]
  let h = addVersion(null, path, { ...identities[1], etag: null }, older, olderAt)
  h = addVersion(h, path, { ...identities[0], etag: null }, newest, newestAt)
  histories.push(h)
  keys.set(h.dir, identities.map(identityKey))
}
const buildMs = performance.now() - buildStarted
const afterHistories = memory()

function fnv (s) {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

const policy = { ...config.probes, ...config.freshness }
const fleet = new Fleet(table, policy)
for (const h of histories) fleet.setIndex(h)
// Checks: a mirror behind is behind on every index (it syncs everything at once).
const checkRnd = prng(Number(opt.seed) ^ 0x51)
const behindShare = Number(opt.behind)
const missingShare = Number(opt.missing)
const state = new Map(enabled.map((m) => [m.id, { behind: checkRnd.float() < behindShare, missing: checkRnd.float() < missingShare }]))
let checks = 0
for (const h of histories) {
  const arch = h.dir.split('/')[2]
  for (const m of enabled) {
    const s = state.get(m.id)
    const at = now - checkRnd.int(60) * MINUTE
    if (s.missing && (arch === 'riscv64' || arch === 'loongarch64')) fleet.recordIndexCheck(m.id, h.dir, { kind: 'missing', at })
    else fleet.recordIndexCheck(m.id, h.dir, { kind: 'copy', key: keys.get(h.dir)[s.behind ? 1 : 0], at, syncTime: null })
    checks++
  }
}
const afterChecks = memory()
// The name pools and the workload's files are the bench's, not the service's: used once more
// here, they stay alive through the readings above instead of falling out of the heap during them.
if (POOLS.main.length + wanted.size + indexes.length < 0) console.log('unreachable')
const historiesBytes = histories.reduce((n, h) => n + historyBytes(h), 0)
const unionFiles = histories.reduce((n, h) => n + h.files.length, 0)
// Sanity: both versions kept, newest first, under the keys the checks give.
for (const h of histories) {
  if (h.versions.length !== 2 || h.versions.some((v, i) => v.key !== keys.get(h.dir)[i])) throw new Error(`${h.path}: the versions kept are not the two added`)
}

const keep = config.linkCount + 1
const make = (live, load) => new Redirector({ geoip, live, policy: config.selection, keep, cacheSize: Number(opt['cache-size'] ?? config.selection.cacheSize), freshness: config.freshness, ...(load ? { load } : {}) })
const withCoverage = make(fleet)
const emptyFleet = new Fleet(table, policy)
const noCoverage = make(emptyFleet)

// ---- budgets: three more redirectors, each with its Fleet (no index known) and LoadMeter -----

const benchRoot = resolve(here, '..', '..')
/** The virtual clock of the tight case's LoadMeter, in ms; each call of that case advances it. */
let clock = now
const stepMs = 1000 / Number(opt.rate)
let budgetSetup = null
if (LoadMeter !== null) {
  const tableWith = async (spec) => {
    const b = parseBudgets(spec)
    const t = writeBudgetTable({ root: benchRoot, source: config.table, out: join(here, '..', 'results', 'budgets', `route-${b.variant}.yaml`), budget: b.budget, describe: b.describe })
    return { ...b, table: await loadTableFile(t.file), budgeted: t.budgeted }
  }
  const side = (t, meterNow, windowMs) => {
    const live = new Fleet(t, policy)
    // As service.ts builds it: the capacity section (share 1: one process), sizes from the Fleet.
    const load = new LoadMeter({ ...config.capacity, coverage: () => live.coverage, ...(meterNow ? { now: meterNow } : {}), ...(windowMs ? { windowMs } : {}) })
    return { redirector: make(live, load), load }
  }
  const loose = await tableWith('loose')
  const tight = await tableWith(`tight:${opt['tight-rps']}`)
  if (!loose.table.budgeted) throw new Error('the loose table is not budgeted: nothing to measure')
  budgetSetup = {
    off: side(table),
    loose: side(loose.table),
    tight: side(tight.table, () => clock, Number(opt['tight-window']) * 1000),
    looseDescribe: loose.describe,
    tightDescribe: tight.describe,
    budgeted: loose.budgeted
  }
}

// ---- cases: one loop each, so every call site stays monomorphic --------------------------

let sink = 0
const N = requests.length
function passDecide (r) {
  let s = 0
  for (let i = 0; i < N; i++) { const q = requests[i]; s += r.decide(q.ip, q.scheme, q.cls, null).targets.length }
  sink += s
}
function passRoute (r) {
  let s = 0
  for (let i = 0; i < N; i++) { const q = requests[i]; s += r.route(q.ip, q.scheme, q.cls, q.rest, null).targets.length }
  sink += s
}
/** What http/redirect.ts does: route(), then record the first target's load when the table has budgets. */
function passRedirect (r, load) {
  let s = 0
  for (let i = 0; i < N; i++) {
    const q = requests[i]
    const d = r.route(q.ip, q.scheme, q.cls, q.rest, null)
    if (d.targets.length > 0 && load !== null && r.budgeted) load.record(d.targets[0].id, q.rest)
    s += d.targets.length
  }
  sink += s
}
/** The same on the virtual clock: --rate redirects a second, whatever this machine's speed. */
function passRedirectClocked (r, load) {
  let s = 0
  for (let i = 0; i < N; i++) {
    const q = requests[i]
    clock += stepMs
    const d = r.route(q.ip, q.scheme, q.cls, q.rest, null)
    if (d.targets.length > 0 && load !== null && r.budgeted) load.record(d.targets[0].id, q.rest)
    s += d.targets.length
  }
  sink += s
}
const cases = [
  { key: 'A', name: 'decide', pass: () => passDecide(withCoverage) },
  { key: 'B', name: 'route', pass: () => passRoute(withCoverage) },
  { key: 'C', name: 'route (empty)', pass: () => passRoute(noCoverage) },
  { key: 'A0', name: 'decide (empty)', pass: () => passDecide(noCoverage) }
]
if (budgetSetup !== null) {
  const { off, loose, tight } = budgetSetup
  cases.push(
    { key: 'R0', name: 'redirect, budgets off', pass: () => passRedirect(off.redirector, off.load) },
    { key: 'R1', name: 'redirect, budgets loose', pass: () => passRedirect(loose.redirector, loose.load) },
    { key: 'P1', name: 'route, budgets loose', pass: () => passRoute(loose.redirector) },
    { key: 'D1', name: 'decide, budgets loose', pass: () => passDecide(loose.redirector) },
    { key: 'R2', name: 'redirect, budgets tight', pass: () => passRedirectClocked(tight.redirector, tight.load) }
  )
}

// Warm: every case once (fills both redirectors' caches, GeoIP's, the path memo), then once
// more so the caches hold what a steady state holds.
for (let w = 0; w < 2; w++) for (const c of cases) c.pass()

// ---- what route() did with each request (untimed) -----------------------------------------
// The slow path (#routeByFiles) places the client again: geoip.locate() runs, so GeoIP's lookup
// counter moves. decide() has just cached the decision, so nothing else moves it. A reorder
// returns a fresh, unfrozen object; the slow path an interned, frozen one (which may even be
// the cached decision itself when the full selection agrees).
const paths = { fast: 0, reorder: 0, slow: 0, slowSame: 0 }
const byKind = {}
const firstMoved = { package: 0, index: 0, other: 0 }
let lastResort = 0
let emptyDiffers = 0
for (const q of requests) {
  const d = withCoverage.decide(q.ip, q.scheme, q.cls, null)
  if (d.lastResort) lastResort++
  const lookups = geoip.lookups
  const r = withCoverage.route(q.ip, q.scheme, q.cls, q.rest, null)
  const slow = geoip.lookups !== lookups
  const how = slow ? (r === d ? 'slowSame' : 'slow') : r === d ? 'fast' : Object.isFrozen(r) ? 'slow?' : 'reorder'
  paths[how] = (paths[how] ?? 0) + 1
  const k = byKind[q.kind] ??= { requests: 0, fast: 0, reorder: 0, slow: 0, slowSame: 0 }
  k.requests++
  k[how] = (k[how] ?? 0) + 1
  if (r.targets[0] !== d.targets[0]) firstMoved[q.kind]++
  const e = noCoverage.decide(q.ip, q.scheme, q.cls, null)
  if (noCoverage.route(q.ip, q.scheme, q.cls, q.rest, null) !== e) emptyDiffers++
}

// Under budgets: where route() sent each request against decide() of the same redirector (the
// first target kept, or moved by the placement), and against the redirector without budgets.
// The tight case's clock runs on, as in its timed passes.
let budgetPaths = null
if (budgetSetup !== null) {
  const { off, loose, tight } = budgetSetup
  // The tight case's load settles first: three windows of virtual time.
  for (let v = 0; v < 3 * Number(opt['tight-window']) * 1000; v += N * stepMs) passRedirectClocked(tight.redirector, tight.load)
  budgetPaths = { loose: { kept: 0, moved: 0, sameAsOff: 0, fallback: 0 }, tight: { kept: 0, moved: 0, sameAsOff: 0, fallback: 0 } }
  for (const q of requests) {
    const base = off.redirector.route(q.ip, q.scheme, q.cls, q.rest, null).targets[0]?.id
    for (const [name, side] of [['loose', loose], ['tight', tight]]) {
      if (name === 'tight') clock += stepMs
      const d = side.redirector.decide(q.ip, q.scheme, q.cls, null)
      const r = side.redirector.route(q.ip, q.scheme, q.cls, q.rest, null)
      if (r.targets.length > 0 && side.redirector.budgeted) side.load.record(r.targets[0].id, q.rest)
      const p = budgetPaths[name]
      if (r.lastResort && !d.lastResort) p.fallback++
      else if (r.targets[0] === d.targets[0]) p.kept++
      else p.moved++
      if (r.targets[0]?.id === base) p.sameAsOff++
    }
  }
}

// Cache misses in a warm pass: a decide() that misses places the client (GeoIP's counter).
const missesBefore = geoip.lookups
passDecide(withCoverage)
const decideMisses = geoip.lookups - missesBefore

// ---- timing -------------------------------------------------------------------------------

const rounds = Number(opt.rounds ?? (opt.quick ? 3 : 9))
// Passes per sample: enough for ~150 ms of decide(); the same count for every case.
const t0 = process.hrtime.bigint()
passDecide(withCoverage)
const passMs = Number(process.hrtime.bigint() - t0) / 1e6
const passes = Math.max(1, Math.round((opt.quick ? 40 : 150) / Math.max(passMs, 1)))
const times = new Map(cases.map((c) => [c.key, []]))
for (let round = 0; round < rounds; round++) {
  const order = cases.map((_, i) => cases[(i + round) % cases.length])
  for (const c of order) {
    const start = process.hrtime.bigint()
    for (let p = 0; p < passes; p++) c.pass()
    times.get(c.key).push(Number(process.hrtime.bigint() - start) / (passes * N))
  }
}

const result = Object.fromEntries(cases.map((c) => {
  const v = times.get(c.key)
  return [c.key, { name: c.name, nsPerCall: median(v), minNs: Math.min(...v), maxNs: Math.max(...v) }]
}))
// Differences per round (same round, back to back), then their median.
const perRound = (f) => median(times.get('A').map((_, i) => f(i)))
const diffBA = perRound((i) => times.get('B')[i] - times.get('A')[i])
const ratioBA = perRound((i) => times.get('B')[i] / times.get('A')[i])
const diffCA0 = perRound((i) => times.get('C')[i] - times.get('A0')[i])
/** Per-round differences of two cases: median, min, max. */
const spreadOf = (f) => {
  const v = times.get('A').map((_, i) => f(i))
  return { median: median(v), min: Math.min(...v), max: Math.max(...v) }
}
const t = (k) => (i) => times.get(k)[i]
const budgetDiffs = budgetSetup === null
  ? null
  : {
      loose: spreadOf((i) => t('R1')(i) - t('R0')(i)),
      placement: spreadOf((i) => t('P1')(i) - t('C')(i)),
      record: spreadOf((i) => t('R1')(i) - t('P1')(i)),
      decide: spreadOf((i) => t('D1')(i) - t('A0')(i)),
      offOverRoute: spreadOf((i) => t('R0')(i) - t('C')(i)),
      tight: spreadOf((i) => t('R2')(i) - t('R0')(i)),
      looseRatio: spreadOf((i) => t('R1')(i) / t('R0')(i))
    }

// ---- report -------------------------------------------------------------------------------

const mb = (b) => (b / 2 ** 20).toFixed(1)
const sign = (b) => (b < 0 ? '' : '+') + mb(b)
const pct = (x, n) => `${((100 * x) / n).toFixed(2)}%`
const kinds = Object.entries(byKind)
const distinctRests = new Set(requests.map((q) => q.rest)).size
const bumpedRequests = requests.filter((q) => bumpedFiles.has(q.rest)).length
const heapDelta = afterHistories.heap - before.heap
const abDelta = afterHistories.arrayBuffers - before.arrayBuffers
const checksDelta = (afterChecks.heap + afterChecks.arrayBuffers) - (afterHistories.heap + afterHistories.arrayBuffers)
console.log(`  ${N} requests (${kinds.map(([k, v]) => `${v.requests} ${k}`).join(', ')}; ${distinctRests} distinct paths) from ${fromFile ? opt.workload : 'the generated workload'}`)
console.log(`  ${table.mirrors.length} mirrors (${enabled.length} enabled), keep ${keep}; node ${process.version}`)
console.log(`  coverage: ${histories.length} indexes, ${listed} packages listed (${workloadListed} of them the workload's), ${unionFiles} files in the unions;` +
  ` newest ${opt['age-minutes']} min old; ${[...state.values()].filter((s) => s.behind).length} mirrors on the older copy, ` +
  `${[...state.values()].filter((s) => s.missing).length} with 404 for riscv64/loongarch64; ${checks} checks`)
console.log(`  package requests for a file the older copy lacks: ${pct(bumpedRequests, byKind.package?.requests ?? 1)} (${bumpedFiles.size} of ${workloadListed} workload files)`)
console.log(`  master history memory: historyBytes ${mb(historiesBytes)} MiB (${(historiesBytes / unionFiles).toFixed(2)} B a file); heap ${sign(heapDelta)} MiB, arrayBuffers ${sign(abDelta)} MiB` +
  `${gc === null ? ' (no gc: upper bounds)' : ' (after gc)'}; the checks ${sign(checksDelta)} MiB; built in ${(buildMs / 1000).toFixed(1)} s`)
console.log(`  route() paths: fast ${pct(paths.fast, N)}, reorder ${pct(paths.reorder, N)}, slow ${pct(paths.slow + paths.slowSame, N)}` +
  `${paths.slowSame > 0 ? ` (${paths.slowSame} of them gave the cached decision back)` : ''}${paths['slow?'] ? `, unclassified ${paths['slow?']}` : ''}; ` +
  `first target changed ${pct(firstMoved.package + firstMoved.index + firstMoved.other, N)}; lastResort decisions ${lastResort}; empty coverage: ${emptyDiffers} not the decision`)
for (const [k, v] of kinds) {
  console.log(`    ${k.padEnd(8)} ${String(v.requests).padStart(6)}: fast ${pct(v.fast, v.requests)}, reorder ${pct(v.reorder, v.requests)}, slow ${pct(v.slow + v.slowSame, v.requests)}, first target changed ${pct(firstMoved[k], v.requests)}`)
}
console.log(`  warm decide() cache misses: ${pct(decideMisses, N)}; ${rounds} rounds x ${passes} passes x ${N} calls per case`)
const round = (i) => ({ A: times.get('A')[i], B: times.get('B')[i], C: times.get('C')[i], A0: times.get('A0')[i] })
const all = times.get('A').map((_, i) => round(i))
const row = (label, pick) => {
  const v = (f) => pick(all.map(f))
  return [label, ...['A', 'B', 'C', 'A0'].map((k) => v((r) => r[k]).toFixed(0)), v((r) => r.B - r.A).toFixed(0), v((r) => r.B / r.A).toFixed(2), v((r) => r.C - r.A0).toFixed(0)]
}
const minOf = (v) => Math.min(...v)
const maxOf = (v) => Math.max(...v)
console.log('')
console.log(textTable(['ns/call', 'A decide', 'B route', 'C route, empty', 'A0 decide, empty', 'B-A', 'B/A', 'C-A0'],
  [row(`median of ${rounds}`, median), row('min', minOf), row('max', maxOf)]).text.replace(/^/gm, '  '))
console.log(`  route() took the slow path (full selection over what is known) ${pct(paths.slow + paths.slowSame, N)} of calls, reordered ${pct(paths.reorder, N)};` +
  ` B-A, B/A and C-A0 are medians (and extremes) of per-round differences; ${((performance.now() - started) / 1000).toFixed(1)} s in all`)
if (budgetSetup !== null) {
  const bp = budgetPaths
  const share = (p) => `first target kept ${pct(p.kept, N)}, moved ${pct(p.moved, N)}, fallback ${pct(p.fallback, N)}; the same first mirror as without budgets ${pct(p.sameAsOff, N)}`
  console.log('')
  console.log(`  sponsor budgets (no index known, as offline; ${budgetSetup.budgeted} enabled mirrors budgeted; a LoadMeter per redirector, share ${config.capacity.share}, window ${config.capacity.windowMs / 1000} s):`)
  console.log(`    loose: ${budgetSetup.looseDescribe}: ${share(bp.loose)}`)
  console.log(`    tight: ${budgetSetup.tightDescribe}, at ${Number(opt.rate)} redirects/s (virtual clock, window ${opt['tight-window']} s): ${share(bp.tight)}`)
  const ns = (k) => result[k].nsPerCall.toFixed(0)
  const d = budgetDiffs
  const r3 = (x) => `${x.median.toFixed(0)} (${x.min.toFixed(0)} to ${x.max.toFixed(0)})`
  console.log(textTable(['ns/call', 'R0 redirect, off', 'R1 redirect, loose', 'P1 route, loose', 'D1 decide, loose', 'R2 redirect, tight', 'C route (empty)', 'A0 decide (empty)'],
    [[`median of ${rounds}`, ns('R0'), ns('R1'), ns('P1'), ns('D1'), ns('R2'), ns('C'), ns('A0')]]).text.replace(/^/gm, '    '))
  console.log(`    per-round differences, median (min to max), ns: budgets loose R1-R0 ${r3(d.loose)} (R1/R0 ${d.looseRatio.median.toFixed(2)});` +
    ` placement P1-C ${r3(d.placement)}; record() R1-P1 ${r3(d.record)}; decide() D1-A0 ${r3(d.decide)}; off R0-C ${r3(d.offOverRoute)}; tight R2-R0 ${r3(d.tight)}`)
}
if (opt.json) {
  console.log('ROUTE_RESULT ' + JSON.stringify({
    budgets: budgetSetup === null ? null : { paths: budgetPaths, diffs: budgetDiffs, loose: budgetSetup.looseDescribe, tight: budgetSetup.tightDescribe, rate: Number(opt.rate) },
    node: process.version,
    requests: N,
    byKind,
    distinctPaths: distinctRests,
    mirrors: table.mirrors.length,
    enabled: enabled.length,
    indexes: histories.length,
    listed,
    unionFiles,
    historyBytes: historiesBytes,
    heapDelta,
    arrayBuffersDelta: abDelta,
    checksDelta,
    paths,
    firstMoved,
    decideMisses,
    rounds,
    passes,
    results: result,
    diffBA,
    ratioBA,
    diffCA0,
    samples: Object.fromEntries(times),
    sink: sink > 0
  }))
}
