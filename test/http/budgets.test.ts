// Sponsor budgets through the real server: 100,000 client networks, each fetching an index and
// then a package, against two mirrors with budgets far below the demand and one without. Every
// answer is a 302 to a mirror that may serve the client, each budgeted mirror's measured rate
// stays within its budget, and each network's index and package come from one mirror.

import t from 'tap'
import { Agent, request } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseIp, type Ip } from '../../src/core/ip.js'
import { openGeoIp } from '../../src/service.js'
import { startService } from '../helpers/service.js'

const NETWORKS = 100_000
const PARALLEL = 32
const BUDGET = { a: 150, b: 250 } as const
const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
const PACKAGE = '/alpine/v3.22/main/x86_64/busybox-1.37.0-r18.apk'

/** Distinct public-looking /24 networks (a few land in special ranges: they take this instance's region). */
function address (i: number): string {
  return `${11 + (i % 200)}.${Math.floor(i / 200) % 256}.${Math.floor(i / 51_200)}.9`
}

t.test('100,000 networks against budgets far below the demand', async (t) => {
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  const entry = (id: string, weight: number, extra: object): object => ({
    id, name: id, tier: 'community', urls: [`http://${id}.mirror.test/alpine/`], country: 'DE', latitude: 52.5, longitude: 13.4, weight, families: ['ipv4', 'ipv6'], enabled: true, ...extra
  })
  writeFileSync(table, JSON.stringify({
    mirrors: [
      entry('a', 10, { budget: { requestsPerSecond: BUDGET.a } }),
      entry('b', 10, { budget: { requestsPerSecond: BUDGET.b } }),
      entry('c', 1, {}),
      // Serves only its own country: never an answer for these clients, budget or not.
      entry('fr', 100, { country: 'FR', participation: 'country' })
    ]
  }))
  const { service, port } = await startService({ table, capacity: { windowSeconds: 2 } })
  t.teardown(() => service.close())

  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL })
  t.teardown(() => agent.destroy())
  const get = (path: string, xff: string): Promise<{ status: number, mirror: string }> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'x-forwarded-for': xff } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, mirror: String(res.headers['x-mirrorgate-mirror']) }))
    })
    req.on('error', reject)
    req.end()
  })

  const started = Date.now()
  const answers: Array<{ at: number, mirror: string }> = []
  const toFr: string[] = []
  const statuses = new Map<number, number>()
  let split = 0
  let next = 0
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < NETWORKS) {
      const xff = address(next++)
      const index = await get(INDEX, xff)
      const pkg = await get(PACKAGE, xff)
      for (const r of [index, pkg]) {
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        answers.push({ at: Date.now() - started, mirror: r.mirror })
      }
      if (index.mirror !== pkg.mirror) split++
      if (index.mirror === 'fr') toFr.push(xff)
    }
  }))
  const seconds = (Date.now() - started) / 1000
  t.same([...statuses], [[302, 2 * NETWORKS]], 'every answer a 302')
  const served = new Map<string, number>()
  for (const a of answers) served.set(a.mirror, (served.get(a.mirror) ?? 0) + 1)
  t.same([...served.keys()].filter((m) => !['a', 'b', 'c', 'fr'].includes(m)), [], 'only the table\'s mirrors')
  // fr takes part for France only: every client sent there is placed in France.
  const geoip = openGeoIp(service.config)
  const countries = new Set(toFr.map((xff) => geoip.locate(parseIp(xff) as Ip).country))
  t.ok(toFr.length > 0, `fr serves its own country (${toFr.length} networks)`)
  t.same([...countries], ['FR'], 'and only its own country')
  t.equal(split, 0, "each network's index and package come from one mirror")

  // Each budgeted mirror's rate, second by second, once the meters have warmed up.
  for (const [id, budget] of Object.entries(BUDGET)) {
    const perSecond = new Map<number, number>()
    for (const a of answers) if (a.mirror === id && a.at >= 3000) perSecond.set(Math.floor(a.at / 1000), (perSecond.get(Math.floor(a.at / 1000)) ?? 0) + 1)
    const full = [...perSecond.entries()].filter(([s]) => s < Math.floor(seconds)).map(([, n]) => n).sort((x, y) => x - y)
    const median = full[Math.floor(full.length / 2)] ?? 0
    const mean = full.reduce((s, n) => s + n, 0) / Math.max(1, full.length)
    t.comment(`${id}: budget ${budget}/s; median ${median}/s, mean ${mean.toFixed(0)}/s, max ${full.at(-1) ?? 0}/s over ${full.length} s; ${served.get(id)} of ${answers.length} redirects`)
    t.ok(mean <= budget * 1.1, `${id} stays within its budget on average (${mean.toFixed(0)} <= ${budget} + 10%)`)
    t.ok(median <= budget * 1.1, `${id}: median second within its budget`)
    t.ok(mean >= budget * 0.5, `${id} is used: its budget is not idle`)
  }
  t.ok((served.get('c') ?? 0) > answers.length / 2, 'the overflow goes to the mirror without a budget')
  t.comment(`${answers.length} redirects in ${seconds.toFixed(1)} s (${(answers.length / seconds).toFixed(0)}/s)`)

  // Overflow is counted, from the full mirror to where it went.
  const metrics = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve(body))
    }).on('error', reject).end()
  })
  t.match(metrics, /mirrorgate_overflows_total\{from="[ab]",to="[bc]"\} [1-9]/)
  t.match(metrics, /mirrorgate_mirror_load_ratio\{mirror="a"\} [0-9.]+/)
})
