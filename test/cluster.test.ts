// Cluster mode as an operator runs it: the built entry point with --workers 2, probes in the
// primary, state shared with the workers, admin actions routed to the primary, cluster-wide
// metrics, and a rolling restart (SIGUSR2) under load without a refused request.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startCluster, until } from './helpers/cluster.js'
import { startFakeMirror } from './helpers/fake-mirror.js'
import { startLoad } from './helpers/load-loop.js'
import { putAt, syncPoints } from './helpers/repository.js'
import { get } from './helpers/service.js'

const TOKEN = 'cluster-admin-token-0123'
const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
/** An edge repository the master and mirror a carry, and mirror b does not. */
const EDGE = syncPoints({ dirs: ['edge/main/x86_64/'], packages: 3, points: 1, start: Date.now() - 60_000, stepMs: 1 })[0]
const EDGE_PACKAGE = '/alpine/edge/main/x86_64/' + (EDGE?.packages.get('edge/main/x86_64/') ?? [])[0]

t.test('two workers behind one primary', async (t) => {
  // The master's canary answers late, so the first probe round visibly takes a while.
  const master = await startFakeMirror({ canaryDelayMs: 1000 })
  const a = await startFakeMirror()
  const b = await startFakeMirror()
  t.teardown(async () => { await master.close(); await a.close(); await b.close() })
  if (EDGE !== undefined) { putAt(master, EDGE); putAt(a, EDGE) }
  const dir = t.testdir()
  const mirror = (id: string, base: string) => ({ id, name: id, tier: 'community', urls: [base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 10, families: ['ipv4'], enabled: true })
  writeFileSync(join(dir, 'mirrors.yaml'), JSON.stringify({ mirrors: [mirror('a', a.base), mirror('b', b.base)] }))
  writeFileSync(join(dir, 'c.yaml'), JSON.stringify({
    host: '127.0.0.1', port: 0, workers: 2, table: 'mirrors.yaml', admin: { token: TOKEN },
    probes: { master: master.base, intervalSeconds: 0.3, timeoutSeconds: 1, failuresToDown: 1, passesToUp: 1 },
    indexes: { cycleSeconds: 1, minGapSeconds: 0 }
  }))

  const cluster = await startCluster(t, join(dir, 'c.yaml'), { killAfterMs: 170_000 })
  const { child, port } = cluster

  // Both mirrors serve; wait until the primary's probes have reached the workers.
  const seen = async (n: number, path = INDEX): Promise<Set<string>> => {
    const ids = new Set<string>()
    for (let i = 0; i < n; i++) ids.add(String((await get(port, path, { 'X-Forwarded-For': `85.${i}.1.1` })).headers['x-mirrorgate-mirror']))
    return ids
  }
  // Workers are not ready until the primary's first probe round is in, then all of them are.
  t.equal((await get(port, '/readyz')).status, 503, 'not ready while the first round runs')
  t.ok(await until(async () => (await get(port, '/readyz')).status === 200), 'ready once the primary knows the state')
  const readiness = await Promise.all(Array.from({ length: 10 }, async () => (await get(port, '/readyz')).status))
  t.same([...new Set(readiness)], [200], 'every worker')
  t.same([...await seen(40)].sort(), ['a', 'b'])
  t.ok(await until(async () => /"state":"up"/.test((await get(port, '/api/v1/mirrors')).body)), 'probe results reach the workers')
  // What each mirror holds reaches the workers too (the master's file sets as typed arrays):
  // b lacks edge/, so once its copy is checked no worker sends an edge package there.
  t.ok(await until(async () => [...await seen(40, EDGE_PACKAGE)].join() === 'a'), 'edge packages only to the mirror that has edge/')

  // A drain goes to the primary and reaches every worker.
  const drain = await fetch(`http://127.0.0.1:${port}/api/v1/admin/mirrors/a/drain`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: '{}' })
  t.equal(drain.status, 200)
  t.same([...await seen(60)], ['b'], 'no worker sends clients to the drained mirror')
  // A mirror going down is seen by the primary's probes and by every worker.
  await b.down()
  const stateOf = async (id: string): Promise<string | undefined> =>
    (JSON.parse((await get(port, '/api/v1/mirrors')).body) as { mirrors: Array<{ id: string, state: string }> }).mirrors.find((m) => m.id === id)?.state
  t.ok(await until(async () => await stateOf('b') === 'down'), 'the workers see b down')
  const last = await get(port, INDEX, { 'X-Forwarded-For': '85.9.9.9' })
  t.same([last.status, last.headers['x-mirrorgate-mirror']], [302, 'b'], 'down and drained, no fallback: the down mirror is the last resort, not a 503')
  await b.up()
  await fetch(`http://127.0.0.1:${port}/api/v1/admin/mirrors/a/drain`, { method: 'DELETE', headers: { Authorization: `Bearer ${TOKEN}` } })
  t.ok(await until(async () => (await seen(20)).size === 2), 'both back')

  // /metrics from any worker covers the cluster: requests summed, probes from the primary.
  const metrics = (await get(port, '/metrics')).body
  const served = Number(/mirrorgate_http_requests_total\{route="redirect",status="302"\} (\d+)/.exec(metrics)?.[1])
  t.ok(served >= 120, `redirects counted over both workers (${served})`)
  t.match(metrics, /mirrorgate_probe_duration_seconds_count\{target="mirror"\} [1-9]/)
  t.match(metrics, /mirrorgate_mirror_up\{mirror="a",scheme="http"\} 1\n/)

  // Rolling restart under load: apk-style new connections, none refused or failed.
  const load = startLoad(t, port, { path: INDEX, clients: 1, connections: 'new', from: (i) => `85.${i % 200}.2.2` })
  const restarted = new Promise<void>((resolve) => child.stdout.on('data', () => { if (/workers restarted/.test(cluster.log())) resolve() }))
  child.kill('SIGUSR2')
  await restarted
  // Keep the load on until the restarted workers have answered a few dozen requests.
  const atRestart = load.total()
  t.ok(await until(() => load.total() >= atRestart + 40), 'requests answered after the restart')
  await load.stop()
  t.ok(load.total() > 50, `load ran through the restart (${load.total()} requests)`)
  t.same([...load.statuses.keys()], [302], 'every request answered 302')
  t.same([...await seen(40, EDGE_PACKAGE)], ['a'], 'restarted workers start with what is known of the files')

  child.kill('SIGTERM')
  t.equal(await cluster.exited, 0, 'clean exit on SIGTERM')
})
