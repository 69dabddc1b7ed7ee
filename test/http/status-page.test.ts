// The status page at GET /: headers and escaping over inject(), then the page as a person
// sees it, in a real headless Chromium against a real port, fed by a real Fleet.

import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { configFromDocument } from '../../src/config/schema.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import type { ProbeResult } from '../../src/core/health.js'
import { addVersion, type IndexHistory } from '../../src/core/file-set.js'
import { Fleet } from '../../src/live/fleet.js'
import { LoadMeter } from '../../src/live/load.js'
import { escapeHtml, humanDuration, registerStatusPage, renderStatusPage } from '../../src/http/routes/status-page.js'
import { TrafficShare } from '../../src/http/traffic.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const EVIL = '<script>alert(1)</script> & "friends"'
/** A repository name that would be markup if it were not escaped (no '/': it is one path segment). */
const EVIL_REPO = '"><img src=x onerror=alert(2)>'
const SECRET = 'secret reason'
const MIN = 60_000
const HOUR = 60 * MIN

t.setTimeout(120_000) // launching Chromium alone can take ten seconds on a busy machine

const spec = (id: string, country: string, extra: Partial<MirrorSpec> = {}): MirrorSpec => ({
  id, name: id, tier: 'community', urls: [`https://${id}.example.org/alpine/`, `http://${id}.example.org/alpine/`],
  country, latitude: 0, longitude: 0, weight: 10, families: ['ipv4'], enabled: true, ...extra
})

const ok = (at: number, syncTime: number): ProbeResult => ({ ok: true, at, latencyMs: 12, syncTime, failure: null, message: null })
const fail = (at: number, message: string): ProbeResult => ({ ok: false, at, latencyMs: 0, syncTime: null, failure: 'connect', message })

/** One version of an index (listing one file) per Last-Modified given, oldest first. */
function index (dir: string, ...times: number[]): IndexHistory {
  let h: IndexHistory | null = null
  for (const at of times) h = addVersion(h, `${dir}APKINDEX.tar.gz`, { lastModified: at, size: at % 1000, etag: null }, [{ name: `pkg-${at}.apk`, size: 1 }], at)
  return h as IndexHistory
}

/**
 * The master's indexes over three branches, and each mirror's copies in every state the matrix
 * shows: fastly-us and evil current everywhere; osso-nl behind on edge main and without edge
 * community and v3.9; de-up failing on edge main; au-lag with a copy of v3.22 main the master
 * never served; the others not checked (ca-new declares it carries no edge).
 */
function follow (fleet: Fleet): void {
  const now = Date.now()
  const dirs = ['edge/main/x86_64/', 'edge/community/x86_64/', 'edge/main/aarch64/', 'v3.22/main/x86_64/', 'v3.22/community/x86_64/',
    `v3.22/${EVIL_REPO}/x86_64/`, 'v3.9/main/x86_64/']
  const histories = new Map(dirs.map((dir) => [dir, index(dir, now - 3 * HOUR, now - HOUR)]))
  for (const h of histories.values()) fleet.setIndex(h)
  const copy = (dir: string, version: number) => ({ kind: 'copy' as const, key: histories.get(dir)?.versions[version]?.key ?? '', at: now - MIN, syncTime: null })
  for (const id of ['fastly-us', 'evil']) for (const dir of dirs) fleet.recordIndexCheck(id, dir, copy(dir, 0))
  for (const dir of dirs) fleet.recordIndexCheck('osso-nl', dir, dir.startsWith('v3.22/') || dir === 'edge/main/aarch64/' ? copy(dir, 0) : { kind: 'missing', at: now - MIN })
  fleet.recordIndexCheck('osso-nl', 'edge/main/x86_64/', copy('edge/main/x86_64/', 1))
  fleet.recordIndexCheck('de-up', 'edge/main/x86_64/', { kind: 'failing', at: now - MIN, detail: 'timeout' })
  fleet.recordIndexCheck('au-lag', 'v3.22/main/x86_64/', { kind: 'copy', key: '1/1', at: now - MIN, syncTime: null })
}

/** Chromium, headless and kept off the network; closed when the test ends. */
async function launch (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

/** A fleet in every state the page shows; returns it with the server's origin. */
async function startPage (t: Test): Promise<{ fastify: FastifyInstance, fleet: Fleet, origin: string }> {
  const config = configFromDocument({}, 'test', process.cwd())
  const table = buildTable([
    spec('fastly-us', 'US', { name: 'Fastly CDN', tier: 't1', sponsor: 'Fastly & Co <CDN>' }),
    spec('osso-nl', 'NL', { name: 'Osso B.V.', tier: 't1', sponsor: 'Osso B.V.' }),
    spec('de-up', 'DE', { name: 'Uni Frankfurt' }),
    spec('fr-down', 'FR', { name: 'Paris mirror' }),
    spec('jp-drain', 'JP', { name: 'Tokyo mirror' }),
    spec('br-stale', 'BR', { name: 'São Paulo mirror' }),
    spec('evil', 'GB', { name: EVIL }),
    spec('au-lag', 'AU', { name: 'Sydney mirror' }),
    spec('za-off', 'ZA', { name: 'Johannesburg mirror', enabled: false }),
    spec('ca-new', 'CA', { name: 'Toronto mirror', urls: ['http://ca-new.example.org/alpine/'], coverage: { exclude: ['edge/**'] } })
  ])
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness, failuresToDown: 1 })
  const traffic = new TrafficShare()
  const now = Date.now()
  const synced = now - 5 * MIN
  for (const id of ['fastly-us', 'osso-nl', 'de-up', 'evil', 'jp-drain']) {
    fleet.record(id, 'https', ok(now - MIN, synced))
    fleet.record(id, 'http', ok(now - 2 * MIN, synced))
  }
  fleet.record('au-lag', 'https', ok(now - MIN, synced - 3 * HOUR)) // behind: packages yes, indexes no
  fleet.record('br-stale', 'https', ok(now - MIN, synced - 30 * HOUR)) // too far behind even for packages
  fleet.record('fr-down', 'https', fail(now - 3 * MIN, 'connect ECONNREFUSED <b>192.0.2.1</b>'))
  fleet.record('fr-down', 'http', fail(now - 3 * MIN, 'connect ECONNREFUSED <b>192.0.2.1</b>'))
  fleet.drain('jp-drain', null, SECRET)
  for (const [id, n] of [['fastly-us', 50], ['osso-nl', 20], ['de-up', 15], ['au-lag', 10], ['evil', 5]] as const) {
    for (let i = 0; i < n; i++) traffic.count(id)
  }

  const fastify = Fastify({ logger: false })
  registerStatusPage(fastify, { config, fleet, traffic })
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => fastify.close())
  const { port } = fastify.server.address() as { port: number }
  return { fastify, fleet, origin: `http://127.0.0.1:${port}` }
}

t.test('escapeHtml and humanDuration', async (t) => {
  t.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;')
  t.equal(escapeHtml(42), '42')
  t.equal(humanDuration(45), '45 s')
  t.equal(humanDuration(12 * 60 + 30), '12 min')
  t.equal(humanDuration(3 * 3600), '3 h')
  t.equal(humanDuration(3 * 86400), '3 d')
})

t.test('the master, a timed drain and an empty tier', async (t) => {
  const at = '2026-08-01T12:00:00.000Z'
  const page = renderStatusPage({
    instance: { id: 'x', region: 'y' },
    generatedAt: at,
    tableVersion: 7,
    referenceSyncTime: null,
    master: { url: 'https://master.example.org/alpine/', state: 'down', syncTime: null, lastError: { reason: 'tls', message: 'x', at } },
    failOpen: false,
    mirrors: [{
      id: 'm', name: 'm', sponsor: null, tier: 'community', country: 'DE', continent: 'EU', enabled: true, state: 'draining',
      http: null, https: null, syncTime: null, lagSeconds: null, draining: { until: '2026-08-01T15:00:00.000Z' },
      servesIndexes: false, servesPackages: false, servesFamilies: { ipv4: true, ipv6: false }, share: 0
    }]
  })
  t.match(page, /state-down">down<\/span> <span class="muted">master\.example\.org<\/span> <span class="error">tls<\/span>/)
  t.match(page, /until <time datetime="2026-08-01T15:00:00\.000Z"[^>]*>in 3 h<\/time>/)
  t.match(page, /No Tier-1 sponsor mirrors/)
  t.match(page, /not known yet/)
  t.match(page, /title="serves IPv4">✓ IPv4</, 'each claimed family on its own')
  t.match(page, /title="does not serve IPv6 now">✗ IPv6</)
})

t.test('the coverage matrix only where some index is followed', async (t) => {
  const mirror = {
    id: 'm', name: 'm', sponsor: null, tier: 'community', country: 'DE', continent: 'EU', enabled: true, state: 'up',
    http: null, https: null, syncTime: null, lagSeconds: null, draining: null, servesIndexes: true, servesPackages: true, share: 0,
    coverage: { basis: 'measured', declared: null, counts: {}, indexes: { 'v3.22/main/x86_64/': 'behind' } }
  }
  const report = { instance: { id: 'x', region: 'y' }, generatedAt: '2026-08-01T12:00:00.000Z', tableVersion: 1, referenceSyncTime: null, master: null, failOpen: false, mirrors: [mirror] }
  t.notMatch(renderStatusPage(report), /id="coverage"/, 'no indexes in the report')
  t.notMatch(renderStatusPage({ ...report, indexes: { followed: 0, files: 0, lastModified: null } }), /id="coverage"/, 'none followed')
  t.notMatch(renderStatusPage({ ...report, indexes: { followed: 1, files: 3, lastModified: null }, mirrors: [{ ...mirror, enabled: false }] }), /id="coverage"/,
    'no enabled mirror to show')
  const page = renderStatusPage({ ...report, indexes: { followed: 1, files: 3, lastModified: null } })
  t.match(page, /<td class="cell branch-start" data-state="behind" data-branch="v3\.22" data-arch="x86_64" title="v3\.22 x86_64 · main: behind">/)
})

t.test('the page is HTML, uncached, script-free, and escapes every value', async (t) => {
  const { fastify } = await startPage(t)
  const res = await fastify.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.notMatch(res.body, /<script/i, 'no script element, not even the mirror named <script>')
  t.ok(res.body.includes(escapeHtml(EVIL)), 'the name is there, escaped')
  t.ok(res.body.includes('connect ECONNREFUSED &lt;b&gt;192.0.2.1&lt;/b&gt;'), 'error messages are escaped')
  t.ok(res.body.includes('Fastly &amp; Co &lt;CDN&gt;'), 'sponsors are escaped')
  t.notOk(res.body.includes(SECRET), 'drain reasons never reach the page')
  t.notMatch(res.body, /<(link|img)[^>]+(src|href)="https?:/i, 'no external assets')
  t.notMatch(res.body, /id="coverage"/, 'no coverage matrix while no index is followed')
  const head = await fastify.inject({ method: 'HEAD', url: '/' })
  t.equal(head.statusCode, 200)
})

t.test('in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`)
    return
  }
  const { fleet, origin } = await startPage(t)
  const browser = await launch(t)
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const requests: string[] = []
  const consoleErrors: string[] = []
  const dialogs: string[] = []
  page.on('request', (r) => { requests.push(r.url()) })
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  page.on('pageerror', (e) => { consoleErrors.push(e.message) })
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss() })

  const res = await page.goto(`${origin}/`)
  t.equal(res?.status(), 200)
  t.equal(res?.headers()['content-type'], 'text/html; charset=utf-8')
  t.equal(res?.headers()['cache-control'], 'no-store')
  t.equal(await page.title(), 'Mirror status · mirrorgate-1')

  t.equal(await page.locator('#fail-open').count(), 0, 'no fail-open banner while most mirrors are up')
  t.equal(await page.locator('#coverage').count(), 0, 'no coverage matrix while no index is followed')
  t.notMatch(await page.locator('header').innerText(), /Indexes followed/i)
  t.equal(await page.locator('.budget').count(), 0, 'no budgets: no load bars')
  t.equal(await page.locator('.participation').count(), 0, 'every mirror takes part fully: nothing said')

  const row = (id: string) => page.locator(`tr[data-mirror="${id}"]`)
  const down = await row('fr-down').innerText()
  t.match(down, /down/i)
  t.match(down, /connect/, 'the error reason')
  t.match(down, /ECONNREFUSED <b>192\.0\.2\.1<\/b>/, 'the error message, as text')
  t.match(await row('jp-drain').innerText(), /draining/i)
  t.match(await row('br-stale').innerText(), /stale/i)
  t.match(await row('za-off').innerText(), /disabled/i)
  t.match(await row('ca-new').innerText(), /unknown/i)
  const lagging = await row('au-lag').innerText()
  t.match(lagging, /\bup\b/i)
  t.match(lagging, /3 h/, 'lag in hours')
  t.match(lagging, /✗ indexes/, 'too far behind for indexes')
  t.match(lagging, /✓ packages/, 'still fine for packages')
  const fastly = await row('fastly-us').innerText()
  t.match(fastly, /Fastly & Co <CDN>/)
  t.match(fastly, /50\.0 %/, 'traffic share')
  t.match(fastly, /12(\.0)? ms/, 'latency')
  t.match(fastly, /1 min ago/, 'last check')

  const text = await page.textContent('body') ?? ''
  t.notOk(text.includes(SECRET), 'the drain reason is not on the page')
  t.ok(text.includes(EVIL), 'the malicious name is shown as text')
  t.same(dialogs, [], 'no dialog fired')
  t.same(await page.$$eval('script', (els) => els.map((e) => e.textContent)), [], 'no script element exists')
  t.match(text, /Europe/)
  t.match(await page.locator('.summary').innerText(), /5\s+up/)

  const dbip = page.locator('a[href="https://db-ip.com"]')
  t.equal(await dbip.count(), 1, 'DB-IP attribution link')
  t.match(await page.locator('footer').innerText(), /DB-IP.*CC BY 4\.0/s)
  t.match(await page.locator('footer').innerText(), /Alpine Linux/)

  const order = await page.evaluate(() => {
    const t1 = document.querySelector('#tier-t1')
    const community = document.querySelector('#tier-community')
    const ids = [...document.querySelectorAll('#tier-community tr[data-mirror]')].map((r) => r.getAttribute('data-mirror'))
    return { t1First: t1 !== null && community !== null && (t1.compareDocumentPosition(community) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0, ids }
  })
  t.ok(order.t1First, 'Tier-1 section comes before the community section')
  // Continents by name (Africa, Asia, Europe, North America, Oceania, South America), then countries by name.
  t.same(order.ids, ['za-off', 'jp-drain', 'fr-down', 'de-up', 'evil', 'ca-new', 'au-lag', 'br-stale'])

  await page.screenshot({ path: '/tmp/mirrorgate-status.png', fullPage: true })

  // Every mirror failing at once (no master configured): the prober itself is the likely
  // cause, so health is ignored and the page must say so.
  const at = Date.now()
  for (const m of fleet.table.mirrors) {
    for (const scheme of ['https', 'http'] as const) if (m[scheme] !== null) fleet.record(m.id, scheme, fail(at, 'timeout'))
  }
  t.ok(fleet.failOpen, 'the fleet is failing open')
  await page.reload()
  t.match(await page.locator('#fail-open').innerText(), /FAIL-OPEN/)
  t.ok(await page.locator('#fail-open').isVisible())
  await page.screenshot({ path: '/tmp/mirrorgate-status-fail-open.png', fullPage: false })

  t.same(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:')), [], 'no request left 127.0.0.1')
  t.same(consoleErrors, [], 'no console errors')
})

/** Each matrix row as the browser has it: the mirror, its basis, and every cell's place, state, title and text. */
async function matrix (page: Page): Promise<Array<{ id: string | null, basis: string, cells: Array<{ at: string, state: string | null, title: string, text: string }> }>> {
  return page.$$eval('#coverage tbody tr', (rows) => rows.map((r) => ({
    id: r.getAttribute('data-mirror'),
    basis: r.querySelector('td.basis')?.textContent ?? '',
    cells: [...r.querySelectorAll('td.cell')].map((td) => ({
      at: `${td.getAttribute('data-branch') ?? ''} ${td.getAttribute('data-arch') ?? ''}`,
      state: [...(td.querySelector('.mark')?.classList ?? [])].find((c) => c.startsWith('idx-')) ?? null,
      title: td.getAttribute('title') ?? '',
      text: td.textContent ?? ''
    }))
  })))
}

t.test('the coverage matrix in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`)
    return
  }
  const { fleet, origin, fastify } = await startPage(t)
  follow(fleet)
  const body = (await fastify.inject({ method: 'GET', url: '/' })).body
  t.notOk(body.includes(EVIL_REPO), 'the repository name never appears unescaped')
  t.ok(body.includes(escapeHtml(EVIL_REPO)), 'it appears escaped')

  const browser = await launch(t)
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const dialogs: string[] = []
  const consoleErrors: string[] = []
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss() })
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  page.on('pageerror', (e) => { consoleErrors.push(e.message) })
  await page.goto(`${origin}/`)

  t.ok(await page.locator('#coverage table').isVisible(), 'the matrix is shown')
  t.match(await page.locator('header').innerText(), /Indexes followed\s+7/i)
  // Branches newest first after edge (v3.22 before v3.9); within one, architectures by name.
  t.same(await page.$$eval('#coverage thead th.branch', (ths) => ths.map((th) => [th.textContent, th.getAttribute('colspan'), th.getAttribute('scope')])),
    [['edge', '2', 'colgroup'], ['v3.22', '1', 'colgroup'], ['v3.9', '1', 'colgroup']])
  t.same(await page.$$eval('#coverage thead th.arch', (ths) => ths.map((th) => [th.textContent, th.getAttribute('scope')])),
    [['aarch64', 'col'], ['x86_64', 'col'], ['x86_64', 'col'], ['x86_64', 'col']])
  t.equal(await page.getByRole('columnheader', { name: 'v3.22' }).count(), 1, 'branch headers are column headers')
  t.equal(await page.locator('#coverage').getByRole('rowheader', { name: 'Osso B.V.' }).count(), 1, 'mirror names are row headers')

  const rows = await matrix(page)
  const row = (id: string) => rows.find((r) => r.id === id)
  t.same(rows.slice(0, 2).map((r) => r.id), ['fastly-us', 'osso-nl'], 'Tier-1 sponsors first')
  t.equal(rows.length, 9, 'every enabled mirror')
  t.notOk(row('za-off'), 'not the disabled one')
  const states = (id: string) => row(id)?.cells.map((c) => `${c.at}=${c.state ?? '?'}`)
  t.same(states('fastly-us'), ['edge aarch64=idx-current', 'edge x86_64=idx-current', 'v3.22 x86_64=idx-current', 'v3.9 x86_64=idx-current'])
  t.same(states('osso-nl'), ['edge aarch64=idx-current', 'edge x86_64=idx-behind', 'v3.22 x86_64=idx-current', 'v3.9 x86_64=idx-missing'],
    'a cell shows the worst of its repositories: behind on main outweighs community missing')
  t.same(states('de-up'), ['edge aarch64=idx-unchecked', 'edge x86_64=idx-failing', 'v3.22 x86_64=idx-unchecked', 'v3.9 x86_64=idx-unchecked'])
  t.same(states('au-lag'), ['edge aarch64=idx-unchecked', 'edge x86_64=idx-unchecked', 'v3.22 x86_64=idx-unknown', 'v3.9 x86_64=idx-unchecked'])

  const osso = row('osso-nl')?.cells[1]
  t.equal(osso?.title, 'edge x86_64 · community: missing; main: behind', 'the title gives each repository')
  t.equal(osso?.text, '!community: missing; main: behind', 'a mark, and the same detail as text')
  t.equal(await page.locator('tr[data-mirror="osso-nl"]').getByRole('cell', { name: 'community: missing; main: behind', exact: true }).count(), 1,
    'a screen reader hears the detail, not the mark')
  t.equal(row('evil')?.cells[2]?.title, `v3.22 x86_64 · ${EVIL_REPO}: current; community: current; main: current`, 'the hostile name is plain text in the title')
  t.equal(await page.locator('#coverage').getByRole('rowheader', { name: EVIL }).count(), 1, 'the hostile mirror name is plain text')
  t.equal(await page.locator('img').count(), 0, 'no element came out of a name')
  t.same(dialogs, [], 'no dialog fired')
  t.same(consoleErrors, [], 'no console errors')

  t.equal(row('fastly-us')?.basis, 'measured')
  t.equal(row('ca-new')?.basis, 'declared', 'checked nowhere, so what the table declares')
  t.match(await page.locator('tr[data-mirror="ca-new"] td.basis').getAttribute('title'), /exclude .*edge/)
  t.equal(row('jp-drain')?.basis, 'not known')
  t.match(await page.locator('#coverage').innerText(), /Measured overrides declared/)

  // Colour carries the state, and the marks are there for who cannot see it.
  const look = (state: string) => page.$eval(`#coverage tbody .idx-${state}`, (el) => {
    const s = getComputedStyle(el)
    return { bg: s.backgroundColor, image: s.backgroundImage, text: el.textContent, hidden: el.getAttribute('aria-hidden') }
  })
  t.same(await look('current'), { bg: 'rgb(45, 164, 78)', image: 'none', text: '✓', hidden: 'true' })
  t.same(await look('behind'), { bg: 'rgb(212, 167, 44)', image: 'none', text: '!', hidden: 'true' })
  t.same(await look('failing'), { bg: 'rgb(207, 34, 46)', image: 'none', text: '✗', hidden: 'true' })
  t.match(await look('missing'), { text: '–', image: /repeating-linear-gradient/ }, 'missing is hatched')
  t.same(await page.$$eval('#coverage .legend li', (lis) => lis.map((li) => li.querySelector('.mark')?.className)),
    ['mark idx-current', 'mark idx-unchecked', 'mark idx-missing', 'mark idx-unknown', 'mark idx-behind', 'mark idx-failing'], 'a legend for every mark')
  await page.locator('#coverage').screenshot({ path: '/tmp/mirrorgate-status-coverage.png' })

  // Nothing followed any more: the matrix goes.
  for (const dir of fleet.coverage.indexes.keys()) fleet.dropIndex(dir)
  await page.reload()
  t.equal(await page.locator('#coverage').count(), 0, 'no matrix once no index is followed')
})

t.test('load against budgets in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`)
    return
  }
  const config = configFromDocument({ capacity: { windowSeconds: 20 } }, 'test', process.cwd())
  const fleet = new Fleet(buildTable([
    spec('over-de', 'DE', { budget: { requestsPerSecond: 2 } }),
    spec('near-nl', 'NL', { budget: { requestsPerSecond: 2 } }),
    spec('ok-fr', 'FR', { budget: { megabitsPerSecond: 100 } }),
    spec('spill-at', 'AT', { participation: 'overflow' }),
    spec('home-pl', 'PL', { participation: 'country' })
  ]), { ...config.probes, ...config.freshness })
  // This process may use half of each budget: 1 redirect a second of over-de's 2.
  const load = new LoadMeter({ ...config.capacity, share: 0.5, coverage: () => fleet.coverage, now: () => 0 })
  // Each redirect adds 1/20 a second (windowSeconds 20).
  for (const [id, n] of [['over-de', 25], ['near-nl', 18], ['ok-fr', 2]] as const) for (let i = 0; i < n; i++) load.record(id, 'v3.22/main/x86_64/foo-1.apk')
  const fastify = Fastify({ logger: false })
  registerStatusPage(fastify, { config, fleet, traffic: new TrafficShare(), load })
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => fastify.close())
  const { port } = fastify.server.address() as { port: number }

  const browser = await launch(t)
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  const consoleErrors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  page.on('pageerror', (e) => { consoleErrors.push(e.message) })
  await page.goto(`http://127.0.0.1:${port}/`)

  const bar = (id: string) => page.$eval(`tr[data-mirror="${id}"] .budget`, (el) => {
    const fill = el.querySelector('.bar span') as HTMLElement
    return {
      className: el.className,
      text: el.textContent?.trim(),
      fill: getComputedStyle(fill).backgroundColor,
      filled: Math.round(100 * fill.getBoundingClientRect().width / (fill.parentElement as HTMLElement).getBoundingClientRect().width),
      hidden: el.querySelector('.bar')?.getAttribute('aria-hidden')
    }
  })
  t.same(await bar('over-de'), { className: 'budget load-over', text: '125 % of budget', fill: 'rgb(207, 34, 46)', filled: 100, hidden: 'true' },
    'over budget: red, and the bar full')
  t.same(await bar('near-nl'), { className: 'budget load-near', text: '90 % of budget', fill: 'rgb(212, 167, 44)', filled: 90, hidden: 'true' }, 'near it: amber')
  t.match(await bar('ok-fr'), { className: 'budget load-ok', text: '1 % of budget', fill: 'rgb(45, 164, 78)' }, 'well under it: green')
  t.equal(await page.locator('tr[data-mirror="over-de"] .budget').getAttribute('title'),
    '125 % of the budget this process may use · sent lately: 1.25 redirects/s, 5 Mbit/s · budget: 2 redirects/s, of which this process may use 50.0 %',
    'the figures on hover')
  t.equal(await page.locator('tr[data-mirror="over-de"]').getByRole('cell', { name: /125 % of budget/ }).count(), 1, 'the percent is text a screen reader reads')
  t.equal(await page.locator('tr[data-mirror="spill-at"] .budget').count(), 0, 'no budget: no bar')
  t.equal(await page.locator('tr[data-mirror="spill-at"] .participation').innerText(), 'overflow only')
  t.equal(await page.locator('tr[data-mirror="home-pl"] .participation').innerText(), 'own country only')
  t.equal(await page.locator('tr[data-mirror="home-pl"] .participation').getAttribute('title'), 'takes clients in Poland only')
  t.equal(await page.locator('tr[data-mirror="over-de"] .participation').count(), 0, 'full participation: nothing said')
  t.same(await page.$$eval('script', (els) => els.length), 0)
  t.same(consoleErrors, [], 'no console errors')
  await page.locator('#tier-community').screenshot({ path: '/tmp/mirrorgate-status-budgets.png' })
})
