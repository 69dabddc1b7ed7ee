// The decision log through the real server: lines are flat JSON with the documented fields, name
// client networks and never addresses, sample 1 in N redirects within binomial bounds, and take
// every fallback, 503 and 400. The per-path demand counters are checked on the same traffic.

import t from 'tap'
import { Agent, request } from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadTableFile } from '../../src/config/table-file.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { networkKey, parseIp, type Ip } from '../../src/core/ip.js'
import { DecisionLog } from '../../src/http/decision-log.js'
import { get, startService } from '../helpers/service.js'

const FIELDS = ['log', 'time', 'instance', 'network', 'country', 'continent', 'located', 'class', 'kind', 'branch', 'arch', 'scheme', 'family', 'mirror', 'status', 'reason']
const REQUESTS = 20_000
const SAMPLE = 100
const PARALLEL = 32
const GERMAN = '85.214.132.117' // Berlin in DB-IP
const PATHS = [
  { path: 'v3.22/main/x86_64/APKINDEX.tar.gz', cls: 'volatile', kind: 'index', branch: 'v3.22', arch: 'x86_64' },
  { path: 'edge/community/aarch64/py3-foo-1.2.3-r0.apk', cls: 'versioned', kind: 'package', branch: 'edge', arch: 'aarch64' },
  { path: 'v3.22/releases/riscv64/alpine-minirootfs-3.22.0-riscv64.tar.gz', cls: 'versioned', kind: 'release', branch: 'v3.22', arch: 'riscv64' },
  { path: 'v2.7/main/sparc/APKINDEX.tar.gz', cls: 'volatile', kind: 'index', branch: 'other', arch: 'other' }
] as const

/** Request i's client: a distinct network each, with host parts no network key shares (.237, and ::beef:… in IPv6). */
function address (i: number): string {
  if (i % 4 === 3) return `2a01:4f8:${(i + 1).toString(16)}:beef:cafe:1234:5678:9abc`
  return `${11 + (i % 200)}.${Math.floor(i / 200) % 256}.${Math.floor(i / 51_200)}.237`
}

const table = await loadTableFile(DEFAULTS.table)
const enabled = new Set(table.mirrors.filter((m) => m.enabled).map((m) => m.id))

const linesOf = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)

const metric = (text: string, name: string, labels: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

t.test(`${REQUESTS} redirects at 1 in ${SAMPLE}: flat JSON, networks only, the sample within 4 sigma`, async (t) => {
  const file = join(t.testdir(), 'decisions.jsonl')
  const { service, port } = await startService({ decisionLog: { enabled: true, sample: SAMPLE, file } })
  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL })
  const send = (path: string, xff: string): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'x-forwarded-for': xff } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
  const sent = new Map<string, { address: string, path: typeof PATHS[number] }>()
  const statuses = new Map<number, number>()
  let next = 0
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < REQUESTS) {
      const i = next++
      const path = PATHS[i % PATHS.length] as typeof PATHS[number]
      sent.set(networkKey(parseIp(address(i)) as Ip), { address: address(i), path })
      const status = await send('/alpine/' + path.path, address(i))
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
  }))
  agent.destroy()
  t.same([...statuses], [[302, REQUESTS]], 'every request a redirect to a mirror')
  t.equal(sent.size, REQUESTS, 'each request from its own network')
  // Lines wait up to 100 ms to be written (and counted): read the count once it has settled.
  let metrics = ''
  for (let previous = '', i = 0; i < 50; i++, previous = metrics) {
    await sleep(150)
    metrics = (await get(port, '/metrics')).body
    const written = (text: string): number => metric(text, 'mirrorgate_decision_log_lines_total', 'outcome="written"')
    if (written(metrics) > 0 && written(metrics) === written(previous)) break
  }
  await service.close() // flushes the log

  const lines = linesOf(file)
  // Binomial(20000, 1/100): mean 200, sigma 14.07; 4 sigma fails a correct sampler once in 16,000 runs.
  const mean = REQUESTS / SAMPLE
  const band = 4 * Math.sqrt(REQUESTS * (1 / SAMPLE) * (1 - 1 / SAMPLE))
  t.ok(Math.abs(lines.length - mean) <= band, `${lines.length} lines, expected ${mean} ± ${band.toFixed(0)}`)
  t.equal(metric(metrics, 'mirrorgate_decision_log_lines_total', 'outcome="written"'), lines.length, 'the lines counted as written')

  const addresses = new Set([...sent.values()].map((s) => s.address))
  const leaks: string[] = []
  for (const line of lines) {
    t.same(Object.keys(line), FIELDS, 'the documented fields, in order, flat')
    const request = sent.get(line.network as string)
    if (request === undefined) {
      t.fail(`network ${String(line.network)} was never sent`)
      continue
    }
    const v6 = request.address.includes(':')
    t.match(line, {
      log: 'decision',
      instance: DEFAULTS.instance.id,
      network: v6 ? /^2a01:4f8:[0-9a-f]+::\/48$/ : /^\d+\.\d+\.\d+\.0\/24$/,
      class: request.path.cls,
      kind: request.path.kind,
      branch: request.path.branch,
      arch: request.path.arch,
      scheme: 'http',
      family: v6 ? 6 : 4,
      status: 302,
      reason: 'group'
    }, request.address)
    t.ok(enabled.has(line.mirror as string), `${String(line.mirror)} is an enabled mirror`)
    t.equal(new Date(line.time as string).toISOString(), line.time, 'time in ISO 8601')
    const text = JSON.stringify(line)
    for (const token of text.match(/[0-9a-f:.]{7,}/g) ?? []) if (addresses.has(token)) leaks.push(token)
    if (/\.237"|beef|cafe/.test(text)) leaks.push(text)
  }
  t.same(leaks, [], 'no line holds a client address or its host part')
  t.ok(lines.some((l) => l.family === 6) && lines.some((l) => l.family === 4), 'both families sampled')
  t.ok(lines.some((l) => l.country === 'DE'), 'countries from GeoIP')

  // The same traffic by branch, architecture and kind: a quarter of it each.
  for (const p of PATHS) {
    t.equal(metric(metrics, 'mirrorgate_redirects_by_path_total', `branch="${p.branch}",arch="${p.arch}",kind="${p.kind}"`), REQUESTS / PATHS.length, p.path)
  }
})

t.test('every fallback, 503 and 400 is logged', async (t) => {
  const dir = t.testdir()
  const tableFile = join(dir, 'mirrors.yaml')
  // One mirror, for Japan only: a German client has none.
  writeFileSync(tableFile, JSON.stringify({
    mirrors: [{ id: 'jp-only', name: 'jp', tier: 'community', urls: ['http://jp.mirror.test/alpine/'], country: 'JP', latitude: 35.7, longitude: 139.7, weight: 1, families: ['ipv4', 'ipv6'], restrictions: { onlyCountries: ['JP'] }, enabled: true }]
  }))
  const N = 40
  for (const fallback of ['https://fallback.example.org/alpine/', null]) {
    const file = join(dir, `decisions-${fallback === null ? 'none' : 'fallback'}.jsonl`)
    // 1 in a million: a sampled redirect would be a fluke; every line here is one that must be there.
    const { service, port } = await startService({ table: tableFile, fallback, decisionLog: { enabled: true, sample: 1_000_000, file } })
    for (let i = 0; i < N; i++) {
      const res = await get(port, `/alpine/v3.22/main/x86_64/pkg-${i}.apk`, { 'X-Forwarded-For': `85.214.${i}.117` })
      t.equal(res.status, fallback === null ? 503 : 302)
    }
    const bad = [
      [await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': 'not-an-address' }), 'bad-forwarded-for', null],
      [await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': GERMAN, 'X-Forwarded-Proto': 'gopher' }), 'bad-forwarded-proto', null],
      [await get(port, '/alpine/v3.22/%2e%2e/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': GERMAN }), 'path-traversal', '85.214.132.0/24'],
      [await get(port, '/_r/xx1/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': GERMAN }), 'bad-region-hint', '85.214.132.0/24'],
      [await get(port, '/elsewhere/%00', { 'X-Forwarded-For': GERMAN }), 'path-control', '85.214.132.0/24']
    ] as const
    for (const [res] of bad) t.equal(res.status, 400)
    await service.close()

    const lines = linesOf(file)
    t.equal(lines.length, N + bad.length, `${fallback === null ? 'no fallback' : 'a fallback'}: one line for each`)
    const decided = lines.filter((l) => l.status !== 400)
    t.equal(decided.length, N)
    for (const l of decided) {
      t.match(l, { country: 'DE', continent: 'EU', class: 'versioned', kind: 'package', status: fallback === null ? 503 : 302, reason: 'no-eligible' })
      t.equal(l.mirror, fallback === null ? null : 'fallback')
    }
    const refused = lines.filter((l) => l.status === 400)
    t.same(refused.map((l) => [l.reason, l.network]), bad.map(([, reason, network]) => [reason, network]), 'each 400 with its reason, and the network where the client is known')
    t.ok(refused.every((l) => l.mirror === null && l.class === null && l.kind === null), 'no mirror, no path for a 400')
    t.notOk(readFileSync(file, 'utf8').includes('85.214.132.117'), 'no address')
  }
})

t.test('a file that cannot be opened stops start-up', async (t) => {
  await t.rejects(startService({ decisionLog: { enabled: true, file: join(t.testdir(), 'no', 'such', 'dir', 'd.jsonl') } }),
    { code: 'MG_ERR_CONFIG_INVALID', message: /decisionLog\.file: cannot open/ })
})

t.test('the sampler: each redirect 1 in N, independently', async (t) => {
  const lines: string[] = []
  const sink = { write: (l: string) => lines.push(l), close: async () => {} }
  const every = new DecisionLog({ sample: 1, instance: 'i', sink })
  t.ok(Array.from({ length: 1000 }, () => every.sampled()).every(Boolean), 'sample 1: every one')
  const n = 1_000_000
  for (const sample of [2, 10, 1000]) {
    const log = new DecisionLog({ sample, instance: 'i', sink })
    let hits = 0
    let runs = 0
    let previous = false
    for (let i = 0; i < n; i++) {
      const s = log.sampled()
      if (s) hits++
      if (s && previous) runs++
      previous = s
    }
    const p = 1 / sample
    const band = 4 * Math.sqrt(n * p * (1 - p))
    t.ok(Math.abs(hits - n * p) <= band, `1 in ${sample}: ${hits} of ${n}, expected ${n * p} ± ${band.toFixed(0)}`)
    // Independent, not every Nth: back-to-back hits happen about p² of the time.
    const pairs = n * p * p
    t.ok(Math.abs(runs - pairs) <= 4 * Math.sqrt(pairs) + 1, `1 in ${sample}: ${runs} back-to-back, expected about ${pairs.toFixed(0)}`)
  }
  every.record({ client: null, cls: null, rest: null, mirror: null, status: 400, reason: 'bad-forwarded-for' })
  t.equal(lines.length, 1)
  t.ok((lines[0] as string).endsWith('}\n'), 'one line, newline-terminated')
})
