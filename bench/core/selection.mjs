#!/usr/bin/env node
// Micro-benchmark of the pure selection on the built code (dist/core/selection.js), over many
// distinct client networks, against trivial baselines measured in the same process:
//
//   haversine-loop   distanceKm() from every client to every mirror, keeping the nearest:
//                    the arithmetic floor any nearest-mirror rule pays
//   select           select(table, client, { nearKm: 800 })
//   select+gate      the same with a gate that admits every mirror (the health hook's cost)
//
//   node bench/core/selection.mjs [--quick] [--json] [--clients N] [--table FILE] [--root DIR]
//
// --root is the mirrorgate checkout whose dist/ is measured (default: this repository).
//
// Cases alternate order every sample; the report is the median ns/op over the samples.
// No cache is involved: every call does the full work, as on a mirrorgate cache miss.

import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { prng } from '../lib/workload.mjs'

const { values: opt } = parseArgs({
  options: {
    root: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..') },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    clients: { type: 'string', default: '20000' },
    table: { type: 'string' },
    seed: { type: 'string', default: '662302' }
  }
})

const root = resolve(opt.root)
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href)
let select, distanceKm, loadTableFile, COUNTRIES
try {
  ;({ select } = await dist('core/selection.js'))
  ;({ distanceKm } = await dist('core/geo.js'))
  ;({ loadTableFile } = await dist('config/table-file.js'))
  ;({ COUNTRIES } = await dist('core/countries.js'))
} catch (err) {
  console.error(`bench/core/selection: cannot load the built code (run npm run build): ${err.message}`)
  process.exit(1)
}

const table = await loadTableFile(resolve(opt.table ?? join(root, 'data', 'mirrors.yaml')))
const policy = Object.freeze({ nearKm: 800 })

// ---- clients: distinct networks, placed like download traffic ---------------------------

const rnd = prng(Number(opt.seed))
// Heavier countries first (rough share of Alpine-like download traffic), then a uniform tail.
const HEAVY = [['US', 22], ['DE', 9], ['CN', 7], ['GB', 4], ['FR', 4], ['NL', 4], ['JP', 3], ['IN', 3], ['BR', 3],
  ['RU', 3], ['CA', 2], ['SG', 2], ['KR', 2], ['AU', 2], ['PL', 2], ['SE', 1], ['FI', 1], ['IT', 1], ['ES', 1],
  ['UA', 1], ['CZ', 1], ['CH', 1], ['AT', 1], ['HK', 1], ['TW', 1], ['VN', 1], ['ID', 1], ['ZA', 1], ['AR', 1], ['MX', 1]]
const ALL = [...COUNTRIES.keys()].filter((c) => c !== 'AQ')
const clients = []
const networks = new Set()
const count = Number(opt.clients)
while (clients.length < count) {
  const cc = rnd.float() < 0.85 ? rnd.weighted(HEAVY) : rnd.pick(ALL)
  const info = COUNTRIES.get(cc)
  if (info === undefined) continue
  const family = rnd.float() < 0.15 ? 6 : 4
  const network = family === 4
    ? `${1 + rnd.int(223)}.${rnd.int(256)}.${rnd.int(256)}.0/24`
    : `2${rnd.int(0x1000).toString(16).padStart(3, '0')}:${rnd.int(0x10000).toString(16)}:${rnd.int(0x10000).toString(16)}::/48`
  if (networks.has(network)) continue
  networks.add(network)
  clients.push(Object.freeze({
    place: Object.freeze({
      country: cc,
      continent: info.continent,
      latitude: Math.max(-89, Math.min(89, info.latitude + (rnd.float() - 0.5) * 6)),
      longitude: ((info.longitude + (rnd.float() - 0.5) * 6 + 540) % 360) - 180,
      asn: null,
      source: 'geoip'
    }),
    family,
    scheme: rnd.float() < 0.3 ? 'https' : 'http',
    network
  }))
}

// ---- cases ------------------------------------------------------------------------------

const mirrors = table.mirrors
let sink = 0
const admitAll = () => null

const cases = [
  {
    name: 'haversine-loop',
    run (c) {
      const p = c.place
      let best = Infinity
      for (let i = 0; i < mirrors.length; i++) {
        const m = mirrors[i]
        const d = distanceKm(p.latitude, p.longitude, m.latitude, m.longitude)
        if (d < best) best = d
      }
      sink += best
    }
  },
  {
    name: 'select',
    run (c) { sink += select(table, c, policy).ranked.length }
  },
  {
    name: 'select+gate',
    run (c) { sink += select(table, c, policy, admitAll).ranked.length }
  }
]

// Sanity: the selection must rank something for nearly every client.
let empty = 0
for (const c of clients) if (select(table, c, policy).ranked.length === 0) empty++
if (empty > clients.length * 0.01) {
  console.error(`bench/core/selection: ${empty} of ${clients.length} clients got no mirror: the table or the client mix is wrong`)
  process.exit(1)
}

/** Runs `fn` over the clients for at least `ms` milliseconds; returns ns per call. */
function timeFor (fn, ms) {
  let calls = 0
  let i = 0
  const n = clients.length
  const start = process.hrtime.bigint()
  const limit = BigInt(ms) * 1_000_000n
  let elapsed = 0n
  do {
    // Batches of 1,000 calls between clock reads keep timer overhead out of the numbers.
    for (let k = 0; k < 1000; k++) {
      fn(clients[i])
      i = i + 1 === n ? 0 : i + 1
    }
    calls += 1000
    elapsed = process.hrtime.bigint() - start
  } while (elapsed < limit)
  return Number(elapsed) / calls
}

const samples = opt.quick ? 3 : 9
const sampleMs = opt.quick ? 60 : 400
const warmMs = opt.quick ? 100 : 1000

for (const c of cases) timeFor(c.run, warmMs)
const times = new Map(cases.map((c) => [c.name, []]))
for (let s = 0; s < samples; s++) {
  const order = s % 2 === 0 ? cases : [...cases].reverse()
  for (const c of order) times.get(c.name).push(timeFor(c.run, sampleMs))
}

const median = (v) => {
  const a = [...v].sort((x, y) => x - y)
  const m = a.length >> 1
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2
}
const results = cases.map((c) => {
  const v = times.get(c.name)
  return { name: c.name, nsPerOp: median(v), minNs: Math.min(...v), maxNs: Math.max(...v), samples: v.length }
})

const enabled = mirrors.filter((m) => m.enabled).length
const base = results[0].nsPerOp
console.log(`  ${clients.length} distinct client networks (${clients.filter((c) => c.family === 6).length} IPv6), ${mirrors.length} mirrors (${enabled} enabled), ${samples} samples x ${sampleMs} ms, node ${process.version}`)
for (const r of results) {
  console.log(`  ${r.name.padEnd(16)} ${r.nsPerOp.toFixed(0).padStart(7)} ns/op  (${r.minNs.toFixed(0)}-${r.maxNs.toFixed(0)})  ${(1e9 / r.nsPerOp).toFixed(0).padStart(9)} ops/s  ${(r.nsPerOp / base).toFixed(1)}x haversine-loop`)
}
if (opt.json) {
  console.log('CORE_RESULT ' + JSON.stringify({ networks: clients.length, mirrors: mirrors.length, enabled, samples, sampleMs, node: process.version, results, sink: sink > 0 }))
}
