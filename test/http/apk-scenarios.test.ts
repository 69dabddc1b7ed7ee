// Ways the apk client fails through mirrorgate, each played end to end: the real service with
// real probes against loopback fake mirrors, and the apk model (test/helpers/apk.ts) from 12
// client networks. Each scenario states what a client must experience; all of them failed on
// the code they were written against, each for the reason its comment gives.

import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Apk, repoFiles, type Outcome } from '../helpers/apk.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { get, startService, type Running } from '../helpers/service.js'

const REPO = 'v3.22/main/x86_64/'
const HOUR = 3_600_000
/** Past apk's default --cache-max-age of 4 h: the next add refreshes the index. */
const AGED = 4 * HOUR + 60_000
/** Public-looking addresses over several /24s, so rendezvous hashing spreads them over the mirrors. */
const CLIENTS = Array.from({ length: 12 }, (_, n) => `${20 + n}.${n * 7}.1.9`)

interface Scene {
  /** The test's own folder (t.testdir() may be called only once: a second call empties it). */
  readonly dir: string
  /** A fake mirror holding a consistent repository at one sync point. */
  mirror (syncTime: number, packages: Record<string, string>, canaryDelayMs?: number): Promise<FakeMirror>
  /** Writes the mirror table (all in one country, equal weights) and returns its path. */
  table (mirrors: Record<string, FakeMirror>, tier?: 'community' | 't1'): string
  /** Starts the service; a config it rejects is a failed assertion (and null), not a crash. */
  start (doc: Record<string, unknown>): Promise<Running | null>
  /** Stops a service before the end of the test. */
  stop (running: Running): Promise<void>
  /** One apk client per network in CLIENTS. */
  clients (port: number, version?: 2 | 3): Apk[]
}

/** Fakes are stopped before services, so a probe held up by a slow canary ends at once. */
function scene (t: Test): Scene {
  const dir = t.testdir()
  const fakes: FakeMirror[] = []
  const services: Running[] = []
  t.teardown(async () => {
    for (const f of fakes) await f.close()
    for (const s of services) await s.service.close()
  })
  return {
    dir,
    async mirror (syncTime, packages, canaryDelayMs = 0) {
      const f = await startFakeMirror({ syncTime, files: repoFiles(REPO, packages), canaryDelayMs })
      fakes.push(f)
      return f
    },
    table (mirrors, tier = 'community') {
      const file = join(dir, 'mirrors.yaml')
      writeFileSync(file, JSON.stringify({
        mirrors: Object.entries(mirrors).map(([id, f]) => ({
          id, name: `mirror ${id}`, tier, urls: [f.base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 10, families: ['ipv4'], enabled: true
        }))
      }))
      return file
    },
    async start (doc) {
      try {
        const running = await startService(doc)
        services.push(running)
        return running
      } catch (err) {
        t.fail(`the service did not start: ${(err as Error).message}`)
        return null
      }
    },
    async stop (running) {
      services.splice(services.indexOf(running), 1)
      await running.service.close()
    },
    clients (port, version = 2) {
      return CLIENTS.map((xff) => new Apk({ port, xff, version, repo: REPO }))
    }
  }
}

/** Moves a fake to a new sync point: its canary and its whole repository change together. */
function syncTo (f: FakeMirror, syncTime: number, packages: Record<string, string>): void {
  f.syncTime = syncTime
  f.files.clear()
  for (const [path, body] of Object.entries(repoFiles(REPO, packages))) f.files.set(path, body)
}

/** One line per failed outcome, naming the client and the requests it made. */
function failures (clients: readonly Apk[], outcomes: readonly Outcome[]): string[] {
  return outcomes.flatMap((o, i) => o.ok
    ? []
    : [`${CLIENTS[i] as string} (apk ${clients[i]?.version}): ${o.error as string} after ${o.steps.map((s) => `${s.status}${s.mirror === undefined ? '' : ` via ${s.mirror}`}`).join(', ')}`])
}

/** GET /readyz every 50 ms until 200: how long it took, and whether a 503 came first. */
async function waitReady (port: number, since: number, limitMs: number): Promise<{ ready: boolean, afterMs: number, saw503: boolean }> {
  let saw503 = false
  for (;;) {
    const r = await get(port, '/readyz')
    if (r.status === 200) return { ready: true, afterMs: Date.now() - since, saw503 }
    if (r.status === 503) saw503 = true
    if (Date.now() - since > limitMs) return { ready: false, afterMs: Date.now() - since, saw503 }
    await sleep(50)
  }
}

/** The mirror /api/v1/explain would send this client's index request to (null: none, 503). */
async function indexChoice (port: number, ip: string): Promise<string | null> {
  const r = await get(port, `/api/v1/explain?ip=${ip}&path=/alpine/${REPO}APKINDEX.tar.gz`)
  return (JSON.parse(r.body) as { choice: { mirror: string | null } }).choice.mirror
}

// 1. apk's If-Modified-Since carries its own clock at download time, not a sync time: any
// recent download is "newer" than the reference sync point, so a 304 told clients to keep an
// index whose packages the mirrors had already deleted.
for (const version of [2, 3] as const) {
  t.test(`apk ${version}: a 304 must not keep a client on an index whose packages are gone`, async (t) => {
    const s = scene(t)
    const sync1 = Date.now() - 2 * HOUR
    const sync2 = Date.now() - HOUR
    const master = await s.mirror(sync1, { foo: '1' })
    const a = await s.mirror(sync1, { foo: '1' })
    const b = await s.mirror(sync1, { foo: '1' })
    const running = await s.start({ table: s.table({ a, b }), probes: { enabled: true, master: master.base, intervalSeconds: 60, timeoutSeconds: 2 } })
    if (running === null) return
    await running.service.prober?.firstRound

    const clients = s.clients(running.port, version)
    const updates = await Promise.all(clients.map((c) => c.update()))
    t.same(failures(clients, updates), [], 'first update')
    t.ok(clients.every((c) => c.index?.packages.get('foo') === '1'), 'every cached index lists foo 1')

    // The next sync replaces foo 1 by foo 2 everywhere; no probe has seen it yet.
    for (const f of [master, a, b]) syncTo(f, sync2, { foo: '2' })
    for (const c of clients) c.advance(AGED)
    const before = await Promise.all(clients.map((c) => c.add('foo')))
    t.same(failures(clients, before), [], 'add before the probes notice the new sync point')

    await running.service.prober?.probeNow()
    for (const c of clients) c.advance(AGED)
    const after = await Promise.all(clients.map((c) => c.add('foo')))
    t.same(failures(clients, after), [], 'add after the probes noticed')
    t.same(clients.map((c) => c.index?.packages.get('foo')), clients.map(() => '2'), 'every cached index lists foo 2')
  })
}

// 2. Readiness came before the first probe round: clients were sent to a mirror 5 h behind,
// whose index lists packages the fresh mirror (where their packages then go) does not hold.
t.test('not ready until the first probe round has answered', async (t) => {
  const s = scene(t)
  const now = Date.now()
  const master = await s.mirror(now, { foo: '2' }, 1500)
  const a = await s.mirror(now, { foo: '2' }, 1500)
  const b = await s.mirror(now - 5 * HOUR, { foo: '0' }, 1500)
  const started = Date.now()
  const running = await s.start({
    table: s.table({ a, b }),
    probes: { enabled: true, master: master.base, intervalSeconds: 60, timeoutSeconds: 5, failuresToDown: 1, passesToUp: 1 }
  })
  if (running === null) return
  const ready = await waitReady(running.port, started, 10_000)
  t.ok(ready.ready, 'ready within 10 s')

  const clients = s.clients(running.port)
  const updates = await Promise.all(clients.map((c) => c.update()))
  await running.service.prober?.firstRound
  const adds = await Promise.all(clients.map((c) => c.add('foo')))

  t.ok(ready.saw503, `/readyz answered 503 before 200 (200 after ${ready.afterMs} ms)`)
  t.same(failures(clients, updates), [], 'updates')
  t.same(updates.map((u) => u.indexFrom).filter((m) => m !== 'a'), [], 'every index from the fresh mirror')
  t.same(failures(clients, adds), [], 'no add fails')
})

t.test('a restart with a probe state file is ready at once, with what it knew', async (t) => {
  const s = scene(t)
  const now = Date.now()
  const master = await s.mirror(now, { foo: '2' })
  const a = await s.mirror(now, { foo: '2' })
  const b = await s.mirror(now - 5 * HOUR, { foo: '0' })
  const doc = {
    table: s.table({ a, b }),
    probes: { enabled: true, master: master.base, intervalSeconds: 60, timeoutSeconds: 5, failuresToDown: 1, passesToUp: 1, stateFile: join(s.dir, 'probe-state.json') }
  }
  const first = await s.start(doc)
  if (first === null) return
  await first.service.prober?.firstRound
  await s.stop(first)

  for (const f of [master, a, b]) f.canaryDelayMs = 3000
  const started = Date.now()
  const second = await s.start(doc)
  if (second === null) return
  const ready = await waitReady(second.port, started, 5000)
  t.ok(ready.ready && ready.afterMs <= 1000, `ready within 1 s of start (took ${ready.afterMs} ms)`)

  const clients = s.clients(second.port)
  const updates = await Promise.all(clients.map((c) => c.update()))
  t.ok(Date.now() - started < 3000, 'the updates ran before any slow probe could answer')
  t.same(failures(clients, updates), [], 'updates')
  t.same(updates.map((u) => u.indexFrom), clients.map(() => 'a'), 'every index from the mirror the saved state knows is fresh')
})

// 3. When no mirror is within the volatile bound, every index request got a 503: the fleet
// should serve from its freshest sync group (within the bound of the freshest mirror) instead.
t.test('indexes come from the freshest sync group when no mirror is within the bound', async (t) => {
  const s = scene(t)
  const now = Date.now()
  const master = await s.mirror(now, { foo: '2' })
  const a = await s.mirror(now - 2 * HOUR, { foo: '1' })
  const b = await s.mirror(now - 2.5 * HOUR, { foo: '1' })
  const c = await s.mirror(now - 5 * HOUR, { foo: '0' })
  const running = await s.start({
    table: s.table({ a, b, c }),
    probes: { enabled: true, master: master.base, intervalSeconds: 60, timeoutSeconds: 2 },
    freshness: { volatileMaxLagSeconds: 3600 }
  })
  if (running === null) return
  await running.service.prober?.firstRound

  const clients = s.clients(running.port)
  const updates = await Promise.all(clients.map((c) => c.update()))
  const adds = await Promise.all(clients.map((c) => c.add('foo')))
  t.same(failures(clients, updates), [], 'updates')
  t.same(failures(clients, adds), [], 'adds')
  const from = updates.map((u) => u.indexFrom)
  t.same(from.filter((m) => m !== 'a' && m !== 'b'), [], 'indexes only from a and b, never c')
  t.same(adds.map((o) => o.packageFrom), from, 'each package from the mirror its index came from')
})

// 4. With two of three mirrors down the fleet "failed open" (fewer than half up: ignore
// health), and sent clients to the dead ones while a live mirror could serve everybody.
t.test('no fail-open toward mirrors that refuse connections', async (t) => {
  const s = scene(t)
  const now = Date.now()
  const a = await s.mirror(now, { foo: '1' })
  const b = await s.mirror(now, { foo: '1' })
  const c = await s.mirror(now, { foo: '1' })
  const running = await s.start({ table: s.table({ a, b, c }), probes: { enabled: true, intervalSeconds: 0.2, timeoutSeconds: 1, failuresToDown: 1, passesToUp: 1 } })
  if (running === null) return
  await running.service.prober?.firstRound
  await b.down()
  await c.down()
  await running.service.prober?.probeNow()

  const clients = s.clients(running.port)
  const updates = await Promise.all(clients.map((c) => c.update()))
  const adds = await Promise.all(clients.map((c) => c.add('foo')))
  t.same(failures(clients, updates), [], 'updates')
  t.same(failures(clients, adds), [], 'adds')
  t.same([...updates.map((u) => u.indexFrom), ...adds.map((o) => o.packageFrom)].filter((m) => m !== 'a'), [], 'everything from a, the one mirror up')
})

// 5. A mirror that stops answering was noticed only after failuresToDown whole intervals; a
// failed probe should be confirmed within retrySeconds instead.
t.test('a dead mirror is noticed within one interval plus the confirming retries', async (t) => {
  const s = scene(t)
  const probes = { intervalSeconds: 2, jitter: 0, failuresToDown: 3, passesToUp: 1, retrySeconds: 0.1, timeoutSeconds: 1 }
  const now = Date.now()
  const a = await s.mirror(now, { foo: '1' })
  const b = await s.mirror(now, { foo: '1' })
  const running = await s.start({ table: s.table({ a, b }, 'community'), probes: { enabled: true, ...probes } })
  if (running === null) return
  await running.service.prober?.firstRound

  let ip: string | undefined
  for (const candidate of CLIENTS) {
    if (await indexChoice(running.port, candidate) === 'a') { ip = candidate; break }
  }
  if (ip === undefined) return t.fail('no client network goes to a')

  await a.down()
  const downAt = Date.now()
  let choice: string | null = 'a'
  while (choice === 'a' && Date.now() - downAt < 10_000) {
    await sleep(50)
    choice = await indexChoice(running.port, ip)
  }
  const noticedMs = Date.now() - downAt
  const budgetMs = 1000 * (probes.intervalSeconds * (1 + probes.jitter) + (probes.failuresToDown - 1) * (probes.retrySeconds + probes.timeoutSeconds) + 0.5)
  t.equal(choice, 'b', 'the client is moved to the live mirror')
  t.ok(noticedMs <= budgetMs, `noticed after ${noticedMs} ms; allowed ${budgetMs} ms`)
  t.ok(noticedMs < 3 * probes.intervalSeconds * 1000, 'sooner than failuresToDown whole intervals')

  const apk = new Apk({ port: running.port, xff: ip, repo: REPO })
  const update = await apk.update()
  t.equal(update.indexFrom, 'b', `the client's update goes to b (${update.error ?? 'ok'})`)
})
