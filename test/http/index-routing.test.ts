// Index-aware routing end to end: a loopback master and mirrors at three sync points of a real
// repository (APKINDEX.tar.gz files as Alpine writes them, newer versions deleting older
// packages), the real service with probes, the master's indexes and the mirrors' copies, and
// 300 client networks doing what apk does: fetch the index, then (after something changed)
// the packages it lists. No package may fail while some live mirror holds it.

import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseApkIndex } from '../../src/indexes/apkindex.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { putAt, syncPoints, type SyncPoint } from '../helpers/repository.js'
import { startService, type Running } from '../helpers/service.js'
import { request as httpRequest } from 'node:http'

const DIR = 'v3.22/main/x86_64/'
const STEP = 600_000
const NOW = Date.now()
/** S0 30 min ago, S1 20, S2 10, S3 now: A sits at S1, B at S2 (the master's), C at S0. */
const POINTS = syncPoints({ dirs: [DIR], packages: 6, points: 4, start: NOW - 3 * STEP, stepMs: STEP })
const S = (i: number): SyncPoint => POINTS[i] as SyncPoint
const NETWORKS = Array.from({ length: 300 }, (_, n) => `${11 + (n % 200)}.${(n * 13) % 256}.${n >> 3}.9`)

interface Fetched { readonly status: number | 'error', readonly mirror: string | null, readonly body: Buffer }

/** GET through mirrorgate as apk does: a new connection, the 302 followed, nothing retried. */
async function fetchVia (port: number, path: string, xff: string): Promise<Fetched> {
  const first = await getOnce(`http://127.0.0.1:${port}/alpine/${path}`, { 'x-forwarded-for': xff })
  if (first.status !== 302) return { status: first.status, mirror: null, body: first.body }
  const location = first.headers.location as string
  const mirror = (first.headers['x-mirrorgate-mirror'] as string | undefined) ?? 'fallback'
  try {
    const second = await getOnce(location, {})
    return { status: second.status, mirror, body: second.body }
  } catch {
    return { status: 'error', mirror, body: Buffer.alloc(0) }
  }
}

function getOnce (url: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, unknown>, body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { 'user-agent': 'libfetch/2.0', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('timeout')))
    req.end()
  })
}

interface World {
  readonly master: FakeMirror
  readonly fakes: Readonly<Record<'a' | 'b' | 'c', FakeMirror>>
  readonly running: Running
  /** Back to the start: A at S1, B and the master at S2, C at S0, all up, nothing drained, everything known. */
  reset (): Promise<void>
  /** Probes every mirror and the master, fetches the master's indexes, checks every copy. */
  learn (): Promise<void>
}

async function world (t: Test, indexes: boolean): Promise<World> {
  const master = await startFakeMirror()
  const fakes = { a: await startFakeMirror(), b: await startFakeMirror(), c: await startFakeMirror() }
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({
    mirrors: Object.entries(fakes).map(([id, f]) => ({
      id, name: `mirror ${id}`, tier: 'community', urls: [f.base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 10, families: ['ipv4'], enabled: true
    }))
  }))
  const all = [master, ...Object.values(fakes)]
  const reset = async (): Promise<void> => {
    for (const f of all) { await f.up(); f.mode = 'ok' }
    putAt(master, S(2))
    putAt(fakes.a, S(1))
    putAt(fakes.b, S(2))
    putAt(fakes.c, S(0))
  }
  await reset()
  const running = await startService({
    table,
    fallback: master.base,
    probes: { enabled: true, master: master.base, intervalSeconds: 3600, t1IntervalSeconds: 3600, timeoutSeconds: 1, failuresToDown: 1, passesToUp: 1, readyTimeoutSeconds: 0 },
    freshness: { volatileMaxLagSeconds: 900, versionedMaxLagSeconds: 86400 },
    indexes: { enabled: indexes, cycleSeconds: 3600, minGapSeconds: 0, masterIntervalSeconds: 3600 }
  })
  t.teardown(async () => {
    for (const f of all) await f.close()
    await running.service.close()
  })
  const learn = async (): Promise<void> => {
    await running.service.prober?.probeNow()
    await running.service.indexes?.master.discover()
    await running.service.indexes?.master.refresh()
    await running.service.indexes?.copies.checkAll()
  }
  return {
    master,
    fakes,
    running,
    async reset () {
      await reset()
      for (const id of ['a', 'b', 'c']) running.service.fleet.undrain(id)
      await learn()
    },
    learn
  }
}

interface Event {
  readonly name: string
  /** Before the index fetch (default: nothing). */
  readonly before?: (w: World) => Promise<void>
  /** Between the index fetch and the package fetches. */
  readonly after: (w: World) => Promise<void>
}

const EVENTS: readonly Event[] = [
  { name: "A's canary fails (A still serves its files)", after: async (w) => { w.fakes.a.mode = 'garbage'; await w.running.service.prober?.probeNow('a') } },
  { name: 'A drained', after: async (w) => { w.running.service.fleet.drain('a', null, 'maintenance') } },
  {
    name: 'A recovers after being down',
    before: async (w) => { await w.fakes.a.down(); await w.running.service.prober?.probeNow('a') },
    after: async (w) => { await w.fakes.a.up(); await w.learn() }
  },
  { name: 'A dies', after: async (w) => { await w.fakes.a.down(); await w.running.service.prober?.probeNow('a') } },
  { name: 'B dies', after: async (w) => { await w.fakes.b.down(); await w.running.service.prober?.probeNow('b') } },
  // Last: a master never goes back, so no event may follow this one.
  {
    name: "the master advances so A's lag crosses volatileMaxLagSeconds",
    after: async (w) => { putAt(w.master, S(3)); await w.learn() }
  }
]

interface Tally { readonly adds: number, readonly failed: number, readonly failedWithHolder: number, readonly examples: string[] }

/** Whether some live server (a mirror or the master, which the fallback points at) holds the file. */
async function heldByLive (w: World, path: string): Promise<boolean> {
  for (const f of [w.master, ...Object.values(w.fakes)]) {
    if (!f.files.has(path)) continue
    // Listening, and serving files (a 'garbage' canary does not stop file downloads).
    try {
      const r = await getOnce(f.base + path, {})
      if (r.status === 200) return true
    } catch {}
  }
  return false
}

async function play (w: World, event: Event): Promise<Tally> {
  await w.reset()
  // apk keeps an index for hours: a third of the clients fetch theirs now, through mirrorgate;
  // the others hold one fetched earlier, when A (S1) or C (S0) was the mirror that served it.
  const earlier = await Promise.all([w.fakes.a, w.fakes.c].map(async (f) => await getOnce(f.base + DIR + 'APKINDEX.tar.gz', {})))
  await event.before?.(w)
  const listed: Array<{ xff: string, files: string[], from: string | null }> = []
  for (const [n, xff] of NETWORKS.entries()) {
    const held = n % 3 === 0 ? null : n % 3 === 1 ? { ...earlier[0], mirror: 'a (earlier)' } : { ...earlier[1], mirror: 'c (earlier)' }
    const index = held ?? await fetchVia(w.running.port, DIR + 'APKINDEX.tar.gz', xff)
    if (index.status !== 200) throw new Error(`${event.name}: index for ${xff} answered ${index.status}`)
    listed.push({ xff, files: parseApkIndex(index.body as Buffer).map((f) => f.name), from: index.mirror })
  }
  await event.after(w)
  let adds = 0
  let failed = 0
  let failedWithHolder = 0
  const examples: string[] = []
  for (const { xff, files, from } of listed) {
    for (const file of files) {
      adds++
      const got = await fetchVia(w.running.port, DIR + file, xff)
      if (got.status === 200) continue
      failed++
      if (await heldByLive(w, DIR + file)) {
        failedWithHolder++
        if (examples.length < 3) examples.push(`${xff}: ${file} (index from ${from}) -> ${got.mirror}: ${got.status}`)
      }
    }
  }
  return { adds, failed, failedWithHolder, examples }
}

t.test('every event between an index fetch and its package fetches, 300 client networks: no failure while a live mirror holds the file', async (t) => {
  const w = await world(t, true)
  for (const event of EVENTS) {
    const r = await play(w, event)
    t.comment(`${event.name}: ${r.failed}/${r.adds} package fetches failed, ${r.failedWithHolder} of them while a live mirror held the file`)
    t.same(r.examples, [], `${event.name}: none failed while a live mirror held the file`)
    t.equal(r.failedWithHolder, 0)
    t.ok(r.adds >= 300 * 6)
  }
})

t.test('the same events with index-aware routing off fail as the issue describes (the test can fail)', async (t) => {
  const w = await world(t, false)
  let total = 0
  for (const event of EVENTS) {
    const r = await play(w, event)
    t.comment(`without indexes, ${event.name}: ${r.failedWithHolder}/${r.adds} failed while a live mirror held the file`)
    total += r.failedWithHolder
  }
  t.ok(total > 0, `without index-aware routing, ${total} package fetches fail that some live mirror could serve`)
})
