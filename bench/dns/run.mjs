#!/usr/bin/env node
// DNS benchmark: dnsperf against mirrorgate's responder (from the built dist/, in a process of
// its own: this script with --serve) and against a bare node:dgram server answering one fixed
// A record (bench/dns/baseline.mjs), in the same run, alternating order every round, each
// target a fresh process per round.
//
//   node bench/dns/run.mjs              3 rounds of 10 s per target (about 1.5 minutes)
//   node bench/dns/run.mjs --quick      1 round of 3 s
//   node bench/dns/run.mjs --help       every option
//
// Targets are pinned to CPU 0 and dnsperf to CPU 1 (when taskset exists and there are two
// CPUs). The queries (the workload section below) go in dnsperf's binary format so that each
// can carry its own Client Subnet. Everything stays on 127.0.0.1 and every run is time-bounded.
// Results: a table on stdout and bench/results/dns/latest.{json,md}.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { cpuSeconds, hasTaskset, pinned, runToEnd, startProcess, stopProcess, waitForQuiet, waitUntil, which } from '../lib/proc.mjs'
import { fmt, median, table } from '../lib/stats.mjs'
import { isPublicV4, prng } from '../lib/workload.mjs'

const dnsDir = dirname(fileURLToPath(import.meta.url))
const root = dirname(dirname(dnsDir))
const resultsDir = join(root, 'bench', 'results', 'dns')

const USAGE = `usage: node bench/dns/run.mjs [options]
  --quick            1 round of 3 s, 1 s warm-up
  --rounds N         rounds; medians over them (default 3)
  --seconds S        dnsperf seconds per measurement (default 10)
  --warmup S         unmeasured dnsperf seconds first, per target and round (default 2)
  --clients N        dnsperf -c: client sockets (default 4)
  --outstanding N    dnsperf -q: queries in flight (default 200)
  --queries N        distinct queries in the file (default 20000)
  --no-build         use dist/ as it is (default: npm run build first)
  --no-pin           do not pin processes to CPUs
  --help
internal: --serve [--host H] [--port P] [--dist DIR] runs the mirrorgate target`

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    clients: { type: 'string', default: '4' },
    outstanding: { type: 'string', default: '200' },
    queries: { type: 'string', default: '20000' },
    'no-build': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    serve: { type: 'boolean', default: false },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    dist: { type: 'string', default: join(root, 'dist') }
  }
})
if (opts.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
const rounds = Number(opts.rounds ?? (opts.quick ? 1 : 3))
const seconds = Number(opts.seconds ?? (opts.quick ? 3 : 10))
const warmup = Number(opts.warmup ?? (opts.quick ? 1 : 2))
const pin = !opts['no-pin'] && hasTaskset && cpus().length >= 2
const log = (s) => process.stderr.write(`${s}\n`)


// ---------------------------------------------------------------------------------------------
// The workload: a seeded list of queries written in dnsperf's binary input format (-B: each
// message preceded by its 2-byte length, RFC 1035 §4.2.2), so that every query can carry its
// own EDNS Client Subnet; dnsperf's -E would put one fixed option on every query.
//
// Mix (of --queries distinct queries, which dnsperf cycles through):
//   60 % A    for the apex with an IPv4 ECS /24 from public unicast space
//   15 % AAAA for the apex with an IPv6 ECS /56 from allocated RIR blocks
//   10 % A    with EDNS but no ECS (answered by the resolver's address)
//    5 % AAAA without EDNS at all
//   10 % other: SOA, NS, MX (NODATA), a region hint, a name below the apex (NXDOMAIN)
// Half of the names use random 0x20 case, as resolvers doing DNS 0x20 send them.

const NAME = 'dl-cdn.alpinelinux.org'
const IPV6_BLOCKS = [[0x2a00, 12], [0x2001, 16], [0x2400, 12], [0x2600, 12], [0x2800, 12]]
const TYPES = { A: 1, NS: 2, SOA: 6, MX: 15, AAAA: 28 }

/** A random /24 whose addresses are public unicast (the workload's own filter). */
function publicV4 (rand) {
  for (;;) {
    const b = [0, 0, 0].map(() => Math.floor(rand() * 256))
    if (isPublicV4(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | 1) >>> 0)) return b
  }
}

function v6Subnet (rand) {
  const [prefix, bits] = IPV6_BLOCKS[Math.floor(rand() * IPV6_BLOCKS.length)]
  const bytes = Array.from({ length: 7 }, () => Math.floor(rand() * 256))
  const keep = 16 - bits // random bits after the block's fixed bits in the first 16
  const first = (prefix & ~((1 << keep) - 1)) | (((bytes[0] << 8) | bytes[1]) & ((1 << keep) - 1))
  bytes[0] = first >> 8
  bytes[1] = first & 0xff
  return bytes
}

function mixCase (name, rand) {
  return [...name].map((c) => (rand() < 0.5 ? c.toUpperCase() : c)).join('')
}

function encodeName (name) {
  const out = []
  for (const label of name.split('.')) {
    out.push(label.length, ...Buffer.from(label, 'latin1'))
  }
  out.push(0)
  return out
}

/** One query message: id 0 (dnsperf overwrites it), RD clear, optional OPT with optional ECS. */
function message (name, type, edns, ecs) {
  const header = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]
  const question = [...encodeName(name), type >> 8, type & 0xff, 0, 1]
  if (!edns) return Buffer.from([...header, ...question])
  const option = ecs === null ? [] : [0, 8, 0, 4 + ecs.address.length, 0, ecs.family, ecs.source, 0, ...ecs.address]
  const opt = [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, option.length >> 8, option.length & 0xff, ...option]
  return Buffer.from([...header, ...question, ...opt])
}

function buildQueries (count = 20_000, seed = 53) {
  const rand = prng(seed).float
  const out = []
  const mix = { 'A+ecs4': 0, 'AAAA+ecs6': 0, 'A+edns': 0, 'AAAA plain': 0, other: 0 }
  for (let i = 0; i < count; i++) {
    const name = rand() < 0.5 ? mixCase(NAME, rand) : NAME
    const r = rand()
    if (r < 0.60) {
      out.push(message(name, TYPES.A, true, { family: 1, source: 24, address: publicV4(rand) }))
      mix['A+ecs4']++
    } else if (r < 0.75) {
      out.push(message(name, TYPES.AAAA, true, { family: 2, source: 56, address: v6Subnet(rand) }))
      mix['AAAA+ecs6']++
    } else if (r < 0.85) {
      out.push(message(name, TYPES.A, true, null))
      mix['A+edns']++
    } else if (r < 0.90) {
      out.push(message(name, TYPES.AAAA, false, null))
      mix['AAAA plain']++
    } else {
      const pick = Math.floor(rand() * 5)
      const q = [[NAME, TYPES.SOA], [NAME, TYPES.NS], [NAME, TYPES.MX], [`eu.${NAME}`, TYPES.A], [`www.${NAME}`, TYPES.A]][pick]
      out.push(message(q[0], q[1], true, null))
      mix.other++
    }
  }
  return { messages: out, mix }
}

/** Writes the queries in dnsperf -B format; returns the mix. */
function writeQueryFile (file, count, seed) {
  const { messages, mix } = buildQueries(count, seed)
  const parts = []
  for (const m of messages) {
    const len = Buffer.alloc(2)
    len.writeUInt16BE(m.length, 0)
    parts.push(len, m)
  }
  writeFileSync(file, Buffer.concat(parts))
  return mix
}

// ---------------------------------------------------------------------------------------------
// The mirrorgate target (run.mjs --serve, in its own process): the responder from dist/ alone,
// with the embedded DB-IP databases, an empty mirror table and 16 instance endpoints around
// the world (documentation addresses, no health URLs), two answers per query, probes off.
// Prints "listening <host>:<port>" once bound and the counts by rcode on stderr when stopped.

// [id, country, latitude, longitude]; each gets 192.0.2.<n> and 2001:db8::<n>.
const SITES = [
  ['fra', 'DE', 50.11, 8.68], ['ams', 'NL', 52.37, 4.9], ['lon', 'GB', 51.51, -0.13], ['par', 'FR', 48.86, 2.35],
  ['sto', 'SE', 59.33, 18.07], ['waw', 'PL', 52.23, 21.01], ['iad', 'US', 38.95, -77.45], ['sjc', 'US', 37.36, -121.93],
  ['yyz', 'CA', 43.68, -79.63], ['gru', 'BR', -23.43, -46.47], ['nrt', 'JP', 35.77, 140.39], ['sin', 'SG', 1.36, 103.99],
  ['syd', 'AU', -33.87, 151.21], ['bom', 'IN', 19.09, 72.87], ['jnb', 'ZA', -26.14, 28.25], ['hkg', 'HK', 22.31, 113.91]
]

async function serve (host, port, dist) {
  const load = (path) => import(pathToFileURL(resolve(dist, path)).href)
  const { configFromDocument } = await load('config/schema.js')
  const { buildTable } = await load('core/table.js')
  const { EndpointDirectory } = await load('dns/endpoints.js')
  const { DnsResponder } = await load('dns/responder.js')
  const { Fleet } = await load('live/fleet.js')
  const { GeoIp } = await load('geoip/reader.js')
  const config = configFromDocument({
    probes: { enabled: false },
    dns: {
      enabled: true,
      name: 'dl-cdn.alpinelinux.org',
      host,
      port,
      answers: 2,
      nameservers: ['ns1.mirrorgate.invalid', 'ns2.mirrorgate.invalid'],
      endpoints: SITES.map(([id, country, latitude, longitude], i) => ({
        id, country, latitude, longitude, addresses: [`192.0.2.${i + 1}`, `2001:db8::${(i + 1).toString(16)}`]
      }))
    }
  }, 'bench', process.cwd())

  const geoip = new GeoIp(config.geoip.databases, config.instance, config.geoip.cacheSize)
  const fleet = new Fleet(buildTable([]), { ...config.probes, ...config.freshness })
  const directory = new EndpointDirectory(config.dns, config.selection, fleet)
  const counts = new Map()
  const responder = new DnsResponder({
    config, directory, geoip,
    log: { warn: (obj, msg) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`) },
    onQuery: (rcode) => counts.set(rcode, (counts.get(rcode) ?? 0) + 1)
  })
  const { udpPort } = await responder.listen()
  process.stdout.write(`listening ${host}:${udpPort}\n`)

  const stop = () => {
    process.stderr.write(`rcodes ${JSON.stringify(Object.fromEntries(counts))}\n`)
    void responder.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

async function bench () {
  const dnsperf = which('dnsperf')
  if (dnsperf === null) {
    log('dnsperf is not installed: apt-get install -y dnsperf')
    process.exitCode = 2
    return
  }

  // Build. While others edit src/, tsc may report errors elsewhere yet still emit dist/: say so.
  if (!opts['no-build']) {
    log('building: npm run build')
    const b = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' })
    if (b.status !== 0) {
      if (!existsSync(join(root, 'dist', 'dns', 'responder.js'))) {
        log(`build failed:\n${b.stdout}\n${b.stderr}`)
        process.exitCode = 1
        return
      }
      log(`warning: the build reported errors; using what tsc emitted into dist/:\n${b.stdout.split('\n').filter((l) => l.includes('error')).slice(0, 5).join('\n')}`)
    }
  }

  mkdirSync(resultsDir, { recursive: true })
  const queryFile = join(resultsDir, 'queries.bin')
  const mix = writeQueryFile(queryFile, Number(opts.queries), 53)

  const TARGETS = {
    baseline: { script: join(dnsDir, 'baseline.mjs'), what: 'node:dgram, one fixed A record, no parsing' },
    mirrorgate: { script: fileURLToPath(import.meta.url), args: ['--serve', '--dist', join(root, 'dist')], what: 'dist/dns/responder.js, DB-IP GeoIP, 16 endpoints, 2 answers' }
  }

  async function startTarget (name) {
    const [cmd, args] = pinned(pin ? 0 : null, process.execPath, [TARGETS[name].script, ...(TARGETS[name].args ?? []), '--host', '127.0.0.1', '--port', '0'])
    const proc = startProcess(cmd, args)
    let port = null
    proc.child.stdout.on('data', (c) => {
      const m = /listening [^\s]+:(\d+)/.exec(c.toString())
      if (m !== null) port = Number(m[1])
    })
    await waitUntil(() => port !== null, proc, 30_000, name)
    return { proc, port }
  }

  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

  /** One dnsperf run; returns its statistics and the CPU each side used (process CPU time / dnsperf run time). */
  async function perf (port, secs, targetPid) {
    const args = ['-s', '127.0.0.1', '-p', String(port), '-B', '-d', queryFile, '-l', String(secs),
      '-c', opts.clients, '-q', opts.outstanding, '-T', '1', '-t', '2']
    // GNU time reports dnsperf's own user + system time exactly; without it, sample /proc.
    const [cmd, full] = pinned(pin ? 1 : null, ...(timeBin === null ? [dnsperf, args] : [timeBin, ['-f', 'dnsperf-cpu %U %S', dnsperf, ...args]]))
    const s0 = cpuSeconds(targetPid)
    const started = performance.now()
    let perfPid = null
    let sampled = null
    const sampler = timeBin !== null ? null : setInterval(() => { if (perfPid !== null) sampled = cpuSeconds(perfPid) ?? sampled }, 50)
    const r = await runToEnd(cmd, full, { timeoutMs: (secs + 15) * 1000, onSpawn: (child) => { perfPid = child.pid } })
    if (sampler !== null) clearInterval(sampler)
    const wall = (performance.now() - started) / 1000
    const targetCpu = cpuSeconds(targetPid) - s0
    const timed = /dnsperf-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)
    const perfCpu = timed === null ? (sampled ?? 0) : Number(timed[1]) + Number(timed[2])
    const num = (label) => {
      const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(r.stdout)
      return m === null ? null : Number(m[1])
    }
    const qps = num('Queries per second')
    // dnsperf's own run time, without its start-up and the final wait for lost queries.
    const runTime = num('Run time \\(s\\)') ?? wall
    if (qps === null) throw new Error(`dnsperf gave no result (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
    return {
      qps,
      sent: num('Queries sent'),
      // Target CPU time per answered query: robust to other load on the machine, unlike q/s.
      cpuUsPerQuery: (targetCpu * 1e6) / Math.max(1, num('Queries completed') ?? 0),
      lost: num('Queries lost'),
      latencyMs: (num('Average Latency \\(s\\)') ?? 0) * 1000,
      // Share of one CPU each process used over the run (its kernel work for sockets included).
      targetCpu: targetCpu / runTime,
      perfCpu: perfCpu / runTime
    }
  }

  const runs = { baseline: [], mirrorgate: [] }
  let noisy = 0
  log(`dnsperf ${dnsperf}; ${rounds} round(s) of ${seconds} s (+${warmup} s warm-up); ${pin ? 'target on CPU 0, dnsperf on CPU 1' : 'not pinned'}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['baseline', 'mirrorgate'] : ['mirrorgate', 'baseline']
    for (const name of order) {
      // Other work on the CPUs (a test suite, another benchmark) skews both targets: wait for a lull.
      const quiet = await waitForQuiet({ maxMs: opts.quick ? 5_000 : 60_000 })
      if (!quiet.quiet) { noisy++; log(`warning: CPUs still busy (${JSON.stringify(quiet.busy)}); measuring anyway`) }
      const { proc, port } = await startTarget(name)
      try {
        if (warmup > 0) await perf(port, warmup, proc.pid)
        const r = await perf(port, seconds, proc.pid)
        runs[name].push(r)
        log(`round ${round + 1} ${name.padEnd(10)} ${fmt(r.qps)} q/s, lost ${r.lost}, ${r.latencyMs.toFixed(1)} ms avg, ${r.cpuUsPerQuery.toFixed(1)} µs CPU/query, CPU target ${(r.targetCpu * 100).toFixed(0)} % dnsperf ${(r.perfCpu * 100).toFixed(0)} %`)
      } finally {
        await stopProcess(proc)
      }
    }
  }

  /** Which side limits the rate: the one that used (nearly) its whole CPU. */
  function bottleneck (r) {
    if (r.targetCpu >= 0.9 && r.perfCpu < 0.9) return 'target'
    if (r.perfCpu >= 0.9 && r.targetCpu < 0.9) return 'dnsperf'
    if (r.perfCpu >= 0.9 && r.targetCpu >= 0.9) return 'both'
    return 'neither saturated'
  }

  const summary = {}
  for (const name of Object.keys(TARGETS)) {
    const rs = runs[name]
    const mid = median(rs.map((r) => r.qps))
    const at = rs.find((r) => r.qps === mid) ?? rs[0]
    summary[name] = {
      qps: mid,
      runs: rs.map((r) => Math.round(r.qps)),
      lost: median(rs.map((r) => r.lost)),
      latencyMs: median(rs.map((r) => r.latencyMs)),
      cpuUsPerQuery: median(rs.map((r) => r.cpuUsPerQuery)),
      targetCpu: median(rs.map((r) => r.targetCpu)),
      perfCpu: median(rs.map((r) => r.perfCpu)),
      limitedBy: bottleneck(at)
    }
  }
  const ratio = summary.mirrorgate.qps / summary.baseline.qps
  const rows = Object.entries(summary).map(([name, s]) => [
    name, fmt(s.qps), s.runs.map((x) => fmt(x)).join(' / '), fmt(s.lost), s.latencyMs.toFixed(2), s.cpuUsPerQuery.toFixed(1),
    `${(s.targetCpu * 100).toFixed(0)} %`, `${(s.perfCpu * 100).toFixed(0)} %`, s.limitedBy
  ])
  const t = table(['target', 'median q/s', 'runs q/s', 'lost', 'avg ms', 'CPU µs/query', 'target CPU', 'dnsperf CPU', 'limited by'], rows)
  const notes = []
  notes.push(`mirrorgate / baseline: ${(ratio * 100).toFixed(1)} % of the baseline's queries per second; ` +
    `${(summary.mirrorgate.cpuUsPerQuery / summary.baseline.cpuUsPerQuery).toFixed(2)}x its CPU time per query`)
  for (const [name, s] of Object.entries(summary)) {
    if (s.limitedBy === 'dnsperf') notes.push(`${name}: dnsperf used its whole CPU while the target did not: dnsperf is the bottleneck, the target can do more`)
    if (s.limitedBy === 'both') notes.push(`${name}: the target and dnsperf each used a whole CPU: the q/s figure is a floor for the target; CPU µs/query is the fairer comparison`)
    if (s.limitedBy === 'target') notes.push(`${name}: the target used its whole CPU while dnsperf had room: the target is the bottleneck`)
    if (s.limitedBy === 'neither saturated') notes.push(`${name}: neither side used a whole CPU: the rate is bound by latency and queries in flight (-q), or by other load on the machine`)
  }
  if (summary.baseline.limitedBy === 'dnsperf' && summary.mirrorgate.limitedBy !== 'dnsperf') {
    notes.push('the baseline figure is a dnsperf limit, so the ratio understates how close mirrorgate is to the Node ceiling')
  }
  const load = loadavg()
  if (noisy > 0) notes.push(`${noisy} measurement(s) started while other work kept the CPUs busy (load average ${load[0].toFixed(2)}): absolute numbers are low and noisy; CPU µs/query holds up better than q/s`)

  process.stdout.write(`\n${t.text}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`)
  const result = {
    cpuRatio: summary.mirrorgate.cpuUsPerQuery / summary.baseline.cpuUsPerQuery,
    at: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, pinned: pin, loadavg: load,
    rounds, seconds, warmup, clients: Number(opts.clients), outstanding: Number(opts.outstanding), queries: Number(opts.queries), mix,
    targets: Object.fromEntries(Object.entries(TARGETS).map(([k, v]) => [k, v.what])), summary, ratio, runs, notes
  }
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(result, null, 2))
  writeFileSync(join(resultsDir, 'latest.md'), `# DNS benchmark ${result.at}\n\nNode ${result.node}, ${result.cpus} CPUs (${result.cpu}), ${pin ? 'pinned' : 'not pinned'}, ` +
    `${rounds} x ${seconds} s, dnsperf -c ${opts.clients} -q ${opts.outstanding}, ${opts.queries} distinct queries.\n\n${t.md}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`)
  log(`results: ${join(resultsDir, 'latest.md')}`)
}

if (opts.serve) await serve(opts.host, Number(opts.port), opts.dist)
else await bench()
