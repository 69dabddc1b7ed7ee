// `mirrorgate explain` as a process agrees with GET /api/v1/explain of a service started on the
// same files with probes off: the same JSON, field by field, for several clients and paths.

import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get, startService, type Running } from '../helpers/service.js'
import { ensureBuilt, mirrorgate } from './run-cli.js'

await ensureBuilt()

const TABLE = `mirrors:
  - id: de-one
    name: DE one
    tier: community
    urls: [http://de-one.example.org/alpine/, https://de-one.example.org/alpine/]
    country: DE
    latitude: 50.1
    longitude: 8.7
    weight: 10
    families: [ipv4, ipv6]
    enabled: true
    budget: { requestsPerSecond: 1 }
  - id: nl-two
    name: NL two
    tier: t1
    urls: [https://nl-two.example.org/alpine/]
    country: NL
    latitude: 52.4
    longitude: 4.9
    weight: 100
    families: [ipv4]
    enabled: true
    budget: { megabitsPerSecond: 100 }
  - id: at-three
    name: AT three
    tier: community
    urls: [http://at-three.example.org/alpine/]
    country: AT
    latitude: 48.2
    longitude: 16.4
    weight: 5
    families: [ipv4, ipv6]
    enabled: true
    participation: overflow
    coverage: { exclude: ['**/riscv64/**'] }
  - id: us-four
    name: US four
    tier: community
    urls: [https://us-four.example.org/alpine/]
    country: US
    latitude: 40.7
    longitude: -74.0
    weight: 20
    families: [ipv4, ipv6]
    enabled: true
    restrictions: { onlyContinents: [NA] }
`

interface Query { readonly ip: string, readonly path: string, readonly scheme?: 'http' | 'https', readonly region?: string }

const QUERIES: readonly Query[] = [
  { ip: '85.214.132.117', path: '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz' },
  { ip: '85.214.132.117', path: '/alpine/v3.22/main/x86_64/musl-1.2.5-r10.apk', scheme: 'https' },
  { ip: '2a01:238:4000::1', path: '/alpine/edge/main/riscv64/APKINDEX.tar.gz' },
  { ip: '8.8.8.8', path: '/alpine/v3.21/community/aarch64/APKINDEX.tar.gz', scheme: 'https' },
  { ip: '8.8.8.8', path: '/alpine/v3.21/releases/x86_64/alpine-virt-3.21.0-x86_64.iso', region: 'eu' },
  { ip: '1.1.1.1', path: '/_r/na/alpine/edge/testing/x86_64/APKINDEX.tar.gz?x=1' }
]

async function viaHttp (running: Running, q: Query): Promise<unknown> {
  const params = new URLSearchParams({ ip: q.ip, path: q.path, ...(q.scheme === undefined ? {} : { scheme: q.scheme }), ...(q.region === undefined ? {} : { region: q.region }) })
  const r = await get(running.port, `/api/v1/explain?${params.toString()}`)
  if (r.status !== 200) throw new Error(`explain answered ${r.status}: ${r.body}`)
  return JSON.parse(r.body)
}

async function viaCli (t: Test, q: Query, args: readonly string[], cwd?: string): Promise<unknown> {
  const r = await mirrorgate(['explain', q.ip, q.path, ...(q.scheme === undefined ? [] : ['--scheme', q.scheme]),
    ...(q.region === undefined ? [] : ['--region', q.region]), ...args], cwd === undefined ? {} : { cwd })
  if (r.code !== 0) throw new Error(`mirrorgate explain exited ${String(r.code)}: ${r.stderr}`)
  t.equal(r.stderr, '', 'nothing on stderr')
  t.match(r.stdout, /^\{\n {2}"instance": \{\n/, 'pretty JSON')
  return JSON.parse(r.stdout)
}

/** Compares field by field, so that a difference names its field. */
function agree (t: Test, cli: unknown, http: unknown, what: string): void {
  const a = cli as Record<string, unknown>
  const b = http as Record<string, unknown>
  t.same(Object.keys(a), Object.keys(b), `${what}: the same fields`)
  for (const k of Object.keys(b)) t.same(a[k], b[k], `${what}: ${k}`)
}

t.test('with a table of budgets, coverage, restrictions and a fallback: the same answers', async (t) => {
  const dir = t.testdir({ 'mirrors.yaml': TABLE })
  const doc = { table: join(dir, 'mirrors.yaml'), fallback: 'https://dl-master.example.org/alpine/' }
  // JSON is YAML: the CLI reads the same document the service was started with.
  writeFileSync(join(dir, 'c.yaml'), JSON.stringify(doc))
  const running = await startService(doc)
  t.teardown(() => running.service.close())
  const answers = await Promise.all(QUERIES.map(async (q) => [q, await viaCli(t, q, ['--config', 'c.yaml'], dir), await viaHttp(running, q)] as const))
  for (const [q, cli, http] of answers) agree(t, cli, http, `${q.ip} ${q.path}`)
  // Not empty agreement: the answers say what this table makes them say.
  const [, first] = answers[0] as readonly [Query, unknown, unknown]
  const view = first as { choice: { mirror: string }, budget: { loads: unknown[] }, excluded: Array<{ id: string }> }
  t.equal(view.choice.mirror, 'de-one', 'the nearest mirror')
  t.ok(view.budget.loads.length > 0, 'the budget section is there')
  t.ok(view.excluded.some((e) => e.id === 'us-four'), 'a restricted mirror is excluded')
})

t.test('with the shipped table and the built-in defaults: the same answers', async (t) => {
  const running = await startService({})
  t.teardown(() => running.service.close())
  for (const q of QUERIES.slice(0, 3)) agree(t, await viaCli(t, q, []), await viaHttp(running, q), `${q.ip} ${q.path}`)
  // --table names the table: here the shipped one again, given explicitly.
  const q = QUERIES[0] as Query
  agree(t, await viaCli(t, q, ['--table', 'data/mirrors.yaml']), await viaHttp(running, q), 'with --table')
})

t.test('a bad table or config exits 2 with the problem; nothing on stdout', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'mirrors: []\n', 'c.yaml': 'linkCount: lots\n' })
  const table = await mirrorgate(['explain', '1.2.3.4', '/alpine/', '--table', join(dir, 'bad.yaml')])
  t.equal(table.code, 2)
  t.match(table.stderr, /^mirrorgate explain: MG_ERR_TABLE_INVALID: .*bad\.yaml: mirrors: needs at least 1 item/)
  t.equal(table.stdout, '')
  const config = await mirrorgate(['explain', '1.2.3.4', '--config', join(dir, 'c.yaml')])
  t.equal(config.code, 2)
  t.match(config.stderr, /^mirrorgate explain: MG_ERR_CONFIG_INVALID: .*c\.yaml: linkCount: expected a number, got "lots"/)
  t.equal(config.stdout, '')
})
