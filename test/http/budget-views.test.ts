// What people and dashboards see of sponsor budgets: where /api/v1/explain says budgets put a
// network and why (agreeing with the redirect), each mirror's budget and load in
// /api/v1/mirrors, the load bar on the status page; and that a table without budgets shows
// none of it. A real Fleet, Redirector and LoadMeter (on a clock the test moves) behind the
// real app on a real port.

import t, { type Test } from 'tap'
import { configFromDocument } from '../../src/config/schema.js'
import type { ProbeResult } from '../../src/core/health.js'
import { addVersion } from '../../src/core/file-set.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import { buildApp } from '../../src/http/app.js'
import { inertControl } from '../helpers/control.js'
import { Fleet } from '../../src/live/fleet.js'
import { LoadMeter } from '../../src/live/load.js'
import { Metrics } from '../../src/metrics.js'
import { Redirector } from '../../src/redirector.js'
import { openGeoIp } from '../../src/service.js'
import { get } from '../helpers/service.js'

const MIN = 60_000
const NOW = Date.now()
const FALLBACK = 'https://fallback.example.org/alpine/'
const PKG = 'v3.22/main/x86_64/foo-1.apk'
/** An index: only index requests move a network (its packages follow the index it was given). */
const INDEX = 'v3.22/main/x86_64/APKINDEX.tar.gz'
/** A path whose estimated size is a release's (30 MB by default): a few fill a bytes budget. */
const ISO = 'v3.22/releases/x86_64/alpine-standard-3.22.0-x86_64.iso'

/** netmountains-de has 1 redirect a second; osso-nl 100 Mbit/s; at-overflow takes overflow only; fr-country, clients in France only. */
const BUDGETS: Readonly<Record<string, Partial<MirrorSpec>>> = {
  'netmountains-de': { budget: { requestsPerSecond: 1 } },
  'osso-nl': { budget: { megabitsPerSecond: 100 } }
}

const spec = (id: string, country: string, latitude: number, longitude: number, extra: Partial<MirrorSpec> = {}): MirrorSpec => ({
  id, name: `mirror ${id}`, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country, latitude, longitude, weight: 10, families: ['ipv4'], enabled: true, ...extra
})

/** The clients here (loopback) are placed at the instance: Frankfurt, DE. So netmountains-de is their mirror, osso-nl the next. */
function table (budgets: Readonly<Record<string, Partial<MirrorSpec>>>): MirrorSpec[] {
  return [
    spec('netmountains-de', 'DE', 50.1, 8.7, budgets['netmountains-de']),
    spec('osso-nl', 'NL', 52.4, 4.9, { tier: 't1', ...budgets['osso-nl'] }),
    spec('at-overflow', 'AT', 48.2, 16.4, { participation: 'overflow', ...budgets['at-overflow'] }),
    spec('fr-country', 'FR', 48.9, 2.3, { participation: 'country' })
  ]
}

const ok: ProbeResult = { ok: true, at: NOW - MIN, latencyMs: 10, syncTime: NOW - 5 * MIN, failure: null, message: null }

const control = inertControl

interface Started { port: number, load: LoadMeter, clock: { now: number }, fleet: Fleet }

/** The app over this table; `meter: false` leaves budgets unenforced, as an app without a LoadMeter. */
async function start (t: Test, specs: MirrorSpec[], opts: { meter?: boolean } = {}): Promise<Started> {
  const config = configFromDocument({ fallback: FALLBACK, capacity: { windowSeconds: 20 } }, 'test', process.cwd())
  const fleet = new Fleet(buildTable(specs), { ...config.probes, ...config.freshness })
  t.teardown(() => fleet.close())
  for (const s of specs) fleet.record(s.id, 'http', ok)
  fleet.markKnown()
  const clock = { now: NOW }
  const load = new LoadMeter({ ...config.capacity, share: 1, coverage: () => fleet.coverage, now: () => clock.now })
  const geoip = openGeoIp(config)
  const metrics = new Metrics(geoip, fleet, config.instance)
  const meter = opts.meter === false ? {} : { load }
  const redirector = new Redirector({
    geoip, live: fleet, metrics, policy: config.selection, freshness: config.freshness, keep: config.linkCount + 1, cacheSize: config.selection.cacheSize, ...meter
  })
  const app = buildApp({ config, geoip, redirector, metrics, fleet, directory: new EndpointDirectory(config.dns, config.selection, fleet), control, ...meter })
  await app.fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.fastify.close())
  return { port: (app.fastify.server.address() as { port: number }).port, load, clock, fleet }
}

/** `n` redirects' worth of load on one mirror, all at the clock's now (windowSeconds 20: each adds 0.05 a second). */
function drive (load: LoadMeter, id: string, n: number, path = PKG): void {
  for (let i = 0; i < n; i++) load.record(id, path)
}

interface Budget { assigned: string | null, placed: string | null, passedOver: string[], loads: Array<{ id: string, ratio: number, percent: number }>, note: string | null }
interface Explained { choice: { mirror: string | null, location: string | null, reason: string }, budget?: Budget }

async function explain (port: number, path = INDEX): Promise<Explained> {
  return JSON.parse((await get(port, `/api/v1/explain?path=${encodeURIComponent('/alpine/' + path)}`)).body) as Explained
}

/** Where the redirect really goes. */
async function redirect (port: number, path = INDEX): Promise<{ status: number, mirror: string | undefined, location: string | undefined }> {
  const r = await get(port, '/alpine/' + path)
  return { status: r.status, mirror: r.headers['x-mirrorgate-mirror'] as string | undefined, location: r.headers.location as string | undefined }
}

t.test('explain: a mirror over its budget is passed over, and the redirect agrees', async (t) => {
  const { port, load, clock } = await start(t, table(BUDGETS))
  const before = await explain(port)
  t.equal(before.choice.mirror, 'netmountains-de', 'under budget: the nearest')
  t.same(before.budget, {
    assigned: null, placed: 'netmountains-de', passedOver: [],
    loads: [{ id: 'netmountains-de', ratio: 0, percent: 0 }, { id: 'osso-nl', ratio: 0, percent: 0 }, { id: 'at-overflow', ratio: 0, percent: 0 }],
    note: null
  }, 'the candidates in order: overflow-only last, the country-only French mirror not at all')
  t.notMatch(before.choice.reason, /overflow|budget|kept on/)

  // Past any network's point of leaving (the explain above gave this one netmountains-de).
  drive(load, 'netmountains-de', 25)
  const over = await explain(port)
  t.same(over.budget?.passedOver, ['netmountains-de'])
  t.equal(over.budget?.placed, 'osso-nl')
  t.same(over.budget?.loads[0], { id: 'netmountains-de', ratio: 1.25, percent: 125 })
  t.equal(over.budget?.note, 'netmountains-de at 125% of its budget; overflow to osso-nl')
  t.equal(over.choice.mirror, 'osso-nl')
  t.equal(over.choice.location, `http://osso-nl.example.org/alpine/${INDEX}`)
  t.match(over.choice.reason, /; overflow: netmountains-de at its budget, passed over$/)
  const r = await redirect(port)
  t.equal(r.status, 302)
  t.equal(r.mirror, 'osso-nl', 'the redirect goes where explain says')
  t.equal(r.location, over.choice.location)
  t.equal((await explain(port)).budget?.assigned, 'osso-nl', 'the network now has osso-nl')

  // Back under budget but not far enough: the network stays where it was put.
  clock.now += 10 * MIN
  drive(load, 'netmountains-de', 18)
  const sticky = await explain(port)
  t.same(sticky.budget?.loads[0], { id: 'netmountains-de', ratio: 0.9, percent: 90 })
  t.same(sticky.budget?.passedOver, [])
  t.equal(sticky.budget?.note, null)
  t.equal(sticky.choice.mirror, 'osso-nl')
  t.match(sticky.choice.reason, /; kept on osso-nl, the mirror this network was given, until netmountains-de's load falls well below its budget$/)
  t.equal((await redirect(port)).mirror, 'osso-nl')

  // Long after: the load has decayed. A package still goes where the network's index went...
  clock.now += 10 * MIN
  const pkg = await explain(port, PKG)
  t.equal(pkg.choice.mirror, 'osso-nl')
  t.match(pkg.choice.reason, /; kept on osso-nl, the mirror this network was given, where its index went: its packages follow it$/)
  t.equal((await redirect(port, PKG)).mirror, 'osso-nl')
  // ...and at its next index, the network returns.
  const back = await explain(port)
  t.equal(back.budget?.placed, 'netmountains-de')
  t.equal(back.choice.mirror, 'netmountains-de')
  t.notMatch(back.choice.reason, /overflow|kept on/)
  t.equal((await redirect(port)).mirror, 'netmountains-de')
})

t.test('explain: every candidate at its budget, the fallback', async (t) => {
  const { port, load } = await start(t, table({ ...BUDGETS, 'at-overflow': { budget: { requestsPerSecond: 2 } } }))
  drive(load, 'netmountains-de', 21)
  drive(load, 'osso-nl', 9, ISO) // 9 x 30 MB over 20 s: 108 Mbit/s
  drive(load, 'at-overflow', 42)
  const e = await explain(port)
  t.equal(e.budget?.placed, null)
  t.same(e.budget?.passedOver, ['netmountains-de', 'osso-nl', 'at-overflow'])
  t.same(e.budget?.loads.map((l) => l.percent), [105, 108, 105])
  t.equal(e.budget?.note, 'every mirror that could serve this client is at its budget: the fallback')
  t.same(e.choice, { mirror: null, location: FALLBACK + INDEX, reason: 'every mirror that could serve this client is at its budget: the configured fallback first' })
  t.equal((await redirect(port)).location, FALLBACK + INDEX, 'and the redirect goes there')
})

t.test('every candidate at its budget in a followed folder: the fallback, unless only older versions list the file', async (t) => {
  const { port, load, fleet } = await start(t, table({ ...BUDGETS, 'at-overflow': { budget: { requestsPerSecond: 2 } } }))
  const path = 'v3.22/main/x86_64/APKINDEX.tar.gz'
  const v1 = addVersion(null, path, { lastModified: NOW - 60 * MIN, size: 10, etag: null }, [{ name: 'foo-1.apk', size: 100 }], NOW - 60 * MIN)
  fleet.setIndex(addVersion(v1, path, { lastModified: NOW - 5 * MIN, size: 11, etag: null }, [{ name: 'foo-2.apk', size: 100 }], NOW - 5 * MIN))
  for (const id of ['netmountains-de', 'osso-nl', 'at-overflow']) fleet.recordIndexCheck(id, 'v3.22/main/x86_64/', { kind: 'copy', key: `${NOW - 5 * MIN}/11`, at: NOW, syncTime: null })
  fleet.recordIndexCheck('osso-nl', 'v3.22/main/x86_64/', { kind: 'copy', key: `${NOW - 60 * MIN}/10`, at: NOW, syncTime: null })
  drive(load, 'netmountains-de', 21)
  drive(load, 'osso-nl', 9, ISO)
  drive(load, 'at-overflow', 42)
  t.equal((await redirect(port)).location, FALLBACK + INDEX, 'the index: the fallback')
  const newest = await get(port, '/alpine/v3.22/main/x86_64/foo-2.apk')
  t.equal(newest.headers.location, FALLBACK + 'v3.22/main/x86_64/foo-2.apk', 'a file the newest index lists: the fallback has it')
  const older = await get(port, '/alpine/v3.22/main/x86_64/foo-1.apk')
  t.equal(older.headers['x-mirrorgate-mirror'], 'osso-nl', 'a file only an older index lists: the mirror holding it, over budget or not')
})

interface MirrorsBody {
  capacity: { budgeted: boolean, share: number | null }
  mirrors: Array<{ id: string, participation: string, budget: unknown }>
}

const mirrorsOf = async (port: number): Promise<MirrorsBody> => JSON.parse((await get(port, '/api/v1/mirrors')).body) as MirrorsBody

t.test('/api/v1/mirrors: each mirror\'s budget, load and participation', async (t) => {
  const { port, load } = await start(t, table(BUDGETS))
  drive(load, 'netmountains-de', 21)
  drive(load, 'osso-nl', 2, ISO)
  const body = await mirrorsOf(port)
  t.same(body.capacity, { budgeted: true, share: 1 })
  const m = (id: string): MirrorsBody['mirrors'][number] | undefined => body.mirrors.find((x) => x.id === id)
  // 21 packages at 500 kB each over 20 s: 4.2 Mbit/s; 2 releases at 30 MB: 24 Mbit/s.
  t.same(m('netmountains-de')?.budget, { requestsPerSecond: 1, megabitsPerSecond: null, load: { requestsPerSecond: 1.05, megabitsPerSecond: 4.2, ratio: 1.05 } })
  t.same(m('osso-nl')?.budget, { requestsPerSecond: null, megabitsPerSecond: 100, load: { requestsPerSecond: 0.1, megabitsPerSecond: 24, ratio: 0.24 } })
  t.equal(m('at-overflow')?.budget, null)
  t.same(body.mirrors.map((x) => [x.id, x.participation]),
    [['netmountains-de', 'full'], ['osso-nl', 'full'], ['at-overflow', 'overflow'], ['fr-country', 'country']])
})

/** The status page's row for one mirror, as served. */
async function row (port: number, id: string): Promise<string> {
  const page = (await get(port, '/')).body
  return new RegExp(`<tr [^>]*data-mirror="${id}">[\\s\\S]*?</tr>`).exec(page)?.[0] ?? ''
}

t.test('the status page: a load bar for budgeted mirrors, participation where not full', async (t) => {
  const { port, load } = await start(t, table(BUDGETS))
  drive(load, 'netmountains-de', 21)
  const de = await row(port, 'netmountains-de')
  t.match(de, /<div class="budget load-over" data-load="105" title="105 % of the budget this process may use · sent lately: 1\.05 redirects\/s, 4\.2 Mbit\/s · budget: 1 redirects\/s">/)
  t.match(de, /105 % of budget<span class="bar" aria-hidden="true"><span style="width: 100%"><\/span><\/span><\/div>/, 'the percent as text, and a full bar')
  t.notMatch(de, /class="participation"/, 'full participation is not remarked on')
  t.match(await row(port, 'osso-nl'), /<div class="budget load-ok" data-load="0"/)
  const at = await row(port, 'at-overflow')
  t.notMatch(at, /class="budget/, 'no budget, no bar')
  t.match(at, /<span class="participation" title="takes clients only when the mirrors preferred for them are at their budget or none is eligible">overflow only<\/span>/)
  t.match(await row(port, 'fr-country'), /<span class="participation" title="takes clients in France only">own country only<\/span>/)
})

t.test('without budgets: no budget anywhere, and explain as before', async (t) => {
  const metered = await start(t, table({}))
  const bare = await start(t, table({}), { meter: false })
  drive(metered.load, 'netmountains-de', 40) // counted, yet nothing has a budget
  const e = await explain(metered.port)
  t.notOk('budget' in e, 'no budget section')
  t.equal(e.choice.mirror, 'netmountains-de')
  t.same(e, await explain(bare.port), 'the same answer as an app that measures no load')
  t.equal((await redirect(metered.port)).mirror, 'netmountains-de')

  const body = await mirrorsOf(metered.port)
  t.same(body.capacity, { budgeted: false, share: 1 })
  t.same(body.mirrors.map((m) => m.budget), [null, null, null, null])
  t.same((await mirrorsOf(bare.port)).capacity, { budgeted: false, share: null }, 'no meter: no share')
  t.notMatch((await get(metered.port, '/')).body, /class="budget/, 'no bar on the page')
})
