// The freshness promise end to end: real probes against loopback mirrors at different sync
// points, then apk's pattern (index first, then the packages it lists) from many client
// networks. No package may 404 because index and package came from different sync points.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { get, startService } from '../helpers/service.js'

const ARCH = 'v3.22/main/x86_64/'
const NOW = Date.now()
const HOUR = 3_600_000

/** A mirror frozen at one sync point: its index lists exactly the packages it holds. */
async function mirrorAt (syncTime: number, packages: string[]): Promise<FakeMirror> {
  const files: Record<string, string> = { [ARCH + 'APKINDEX.tar.gz']: packages.map((p) => `P:${p}`).join('\n') }
  for (const p of packages) files[ARCH + p] = `package ${p}`
  return startFakeMirror({ syncTime, files })
}

async function follow (port: number, path: string, xff: string, headers: Record<string, string> = {}): Promise<{ status: number, mirror: string | undefined, body: string, redirect: number }> {
  const r = await get(port, '/alpine/' + path, { 'X-Forwarded-For': xff, ...headers })
  if (r.status !== 302) return { status: r.status, mirror: undefined, body: r.body, redirect: r.status }
  const res = await fetch(r.headers.location as string)
  return { status: res.status, mirror: r.headers['x-mirrorgate-mirror'] as string, body: await res.text(), redirect: 302 }
}

for (const budgets of [false, true]) t.test(`index then packages, across mirrors at mixed sync points${budgets ? ', with budgets that overflow' : ''}: no 404`, async (t) => {
  // Newest sync (S2) adds foo-2 and removes foo-1; S1 is 30 min old, S0 5 h, the last 48 h.
  const master = await mirrorAt(NOW, ['foo-2.apk', 'bar-1.apk'])
  const fakes: Record<string, FakeMirror> = {
    a: await mirrorAt(NOW, ['foo-2.apk', 'bar-1.apk']),
    b: await mirrorAt(NOW - 60_000, ['foo-2.apk', 'bar-1.apk']),
    c: await mirrorAt(NOW - 0.5 * HOUR, ['foo-1.apk', 'bar-1.apk']),
    d: await mirrorAt(NOW - 5 * HOUR, ['foo-0.apk', 'bar-0.apk']),
    e: await mirrorAt(NOW - 48 * HOUR, ['foo-00.apk'])
  }
  t.teardown(async () => { for (const f of [master, ...Object.values(fakes)]) await f.close() })

  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({
    mirrors: Object.entries(fakes).map(([id, f]) => ({
      id, name: `mirror ${id}`, tier: 'community', urls: [f.base], country: 'DE', latitude: 52.5, longitude: 13.4,
      weight: 10, families: ['ipv4'], enabled: true,
      // Tight enough that a and b fill and some networks overflow to the next in their order.
      ...(budgets && (id === 'a' || id === 'b') ? { budget: { requestsPerSecond: 15 } } : {})
    }))
  }))
  const { service, port } = await startService({
    table,
    capacity: { windowSeconds: 1 },
    probes: { enabled: true, master: master.base, intervalSeconds: 0.2, timeoutSeconds: 1, failuresToDown: 1, passesToUp: 1 },
    freshness: { volatileMaxLagSeconds: 3600, versionedMaxLagSeconds: 86400 }
  })
  t.teardown(() => service.close())
  await service.prober?.firstRound

  const report = JSON.parse((await get(port, '/api/v1/mirrors')).body) as { mirrors: Array<{ id: string, state: string, lagSeconds: number, servesIndexes: boolean, servesPackages: boolean }> }
  const byId = new Map(report.mirrors.map((m) => [m.id, m]))
  t.equal(byId.get('a')?.lagSeconds, 0)
  t.equal(byId.get('c')?.lagSeconds, 1800, 'lag read from the canaries')
  t.same([byId.get('c')?.servesIndexes, byId.get('d')?.servesIndexes, byId.get('d')?.servesPackages], [true, false, true])
  t.equal(byId.get('e')?.state, 'stale')
  t.equal(byId.get('e')?.servesPackages, false)

  const indexFrom = new Map<string, number>()
  let packages = 0
  const failures: string[] = []
  for (let n = 0; n < 300; n++) {
    const xff = `${11 + (n % 200)}.${n >> 2}.${(n * 7) % 256}.9`
    const index = await follow(port, ARCH + 'APKINDEX.tar.gz', xff)
    t.equal(index.status, 200)
    indexFrom.set(index.mirror as string, (indexFrom.get(index.mirror as string) ?? 0) + 1)
    for (const line of index.body.split('\n')) {
      const pkg = await follow(port, ARCH + line.slice(2), xff)
      packages++
      if (pkg.status !== 200) failures.push(`${xff}: ${line} index from ${index.mirror}, package from ${pkg.mirror}: ${pkg.status}`)
    }
  }
  t.same(failures, [], `no 404 over ${packages} package fetches`)
  if (budgets) t.match((await get(port, '/metrics')).body, /mirrorgate_overflows_total\{from="[ab]",to="[a-e]"\} [1-9]/, 'networks did overflow')
  t.ok(packages >= 600)
  t.ok((indexFrom.get('c') ?? 0) > 0, 'mirrors at an older sync point within the window do serve (mixed sync points)')
  t.ok((indexFrom.get('a') ?? 0) > 0 && (indexFrom.get('b') ?? 0) > 0)
  t.equal(indexFrom.get('d'), undefined, 'a mirror 5 h behind serves no index')
  t.equal(indexFrom.get('e'), undefined, 'a mirror 48 h behind serves nothing')

  // Degraded: every up-to-date mirror drained. Indexes go to the freshest live mirror (d, 5 h
  // behind) rather than nowhere, and its packages follow; e, 48 h behind, is not in d's sync group.
  for (const id of ['a', 'b', 'c']) service.fleet.drain(id, null, 'test')
  const idx = await follow(port, ARCH + 'APKINDEX.tar.gz', '11.0.0.9')
  t.same([idx.status, idx.mirror], [200, 'd'])
  const pkg = await follow(port, ARCH + 'foo-0.apk', '11.0.0.9')
  t.same([pkg.status, pkg.mirror], [200, 'd'])
  for (const id of ['a', 'b', 'c']) service.fleet.undrain(id)

  // A mirror that syncs catches up at its next probe and serves indexes again.
  const d = fakes.d as FakeMirror
  d.syncTime = NOW
  d.files.clear()
  for (const [k, v] of master.files) d.files.set(k, v)
  await service.prober?.probeNow('d')
  const after = JSON.parse((await get(port, '/api/v1/mirrors')).body) as typeof report
  t.equal(after.mirrors.find((m) => m.id === 'd')?.servesIndexes, true)
})

t.test('If-Modified-Since is never answered 304: apk sends its local download time, not a sync point', async (t) => {
  const master = await mirrorAt(NOW - HOUR, ['foo-2.apk'])
  const m1 = await mirrorAt(NOW - HOUR, ['foo-2.apk'])
  t.teardown(async () => { await master.close(); await m1.close() })
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({ mirrors: [{ id: 'm1', name: 'm1', tier: 'community', urls: [m1.base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 1, families: ['ipv4'], enabled: true }] }))
  const { service, port } = await startService({ table, probes: { enabled: true, master: master.base, intervalSeconds: 60, timeoutSeconds: 1 } })
  t.teardown(() => service.close())
  await service.prober?.firstRound

  const path = '/alpine/' + ARCH + 'APKINDEX.tar.gz'
  // Newer than the master's sync point, as a client that downloaded a minute ago would send.
  for (const since of [new Date().toUTCString(), new Date(NOW + HOUR).toUTCString(), 'yesterday-ish']) {
    const r = await get(port, path, { 'If-Modified-Since': since })
    t.equal(r.status, 302, `If-Modified-Since: ${since}`)
    t.equal(r.headers.location, m1.base + ARCH + 'APKINDEX.tar.gz')
    t.equal(r.headers['last-modified'], undefined)
  }
})
