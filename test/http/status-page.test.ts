// The status page at GET /: headers and escaping over inject(), then the page as a person
// sees it, in a real headless Chromium against a real port, fed by a real Fleet.

import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser } from 'playwright-core'
import { configFromDocument } from '../../src/config/schema.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import type { ProbeResult } from '../../src/core/health.js'
import { Fleet } from '../../src/live/fleet.js'
import { escapeHtml, humanDuration, registerStatusPage, renderStatusPage } from '../../src/http/routes/status-page.js'
import { TrafficShare } from '../../src/http/traffic.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const EVIL = '<script>alert(1)</script> & "friends"'
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
    spec('ca-new', 'CA', { name: 'Toronto mirror', urls: ['http://ca-new.example.org/alpine/'] })
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
  const head = await fastify.inject({ method: 'HEAD', url: '/' })
  t.equal(head.statusCode, 200)
})

t.test('in a real browser', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`Chromium not found at ${CHROMIUM}: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH`)
    return
  }
  const { fleet, origin } = await startPage(t)
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
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
