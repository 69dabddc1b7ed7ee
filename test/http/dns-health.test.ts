// The DNS endpoint health routes on a real port, as a health checker (PowerDNS ifurlextup, a
// CDN) polls them: 200, 503 and 404 as a real Fleet drains and probes mirrors and a real
// HTTP health URL flips an instance.

import t from 'tap'
import { createServer, type Server } from 'node:http'
import Fastify from 'fastify'
import { configFromDocument } from '../../src/config/schema.js'
import type { ProbeResult } from '../../src/core/health.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import { Fleet } from '../../src/live/fleet.js'
import { Prober } from '../../src/probes/prober.js'
import { publicReason, registerDnsHealth } from '../../src/http/routes/dns-health.js'

const NAME = 'dl.example.org'
const SECRET = 'ticket 4711: flaky RAID controller'

const spec = (id: string, country: string, extra: Partial<MirrorSpec> = {}): MirrorSpec => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country, latitude: 0, longitude: 0,
  weight: 10, families: ['ipv4', 'ipv6'], enabled: true, ...extra
})
const fail = (message: string): ProbeResult => ({ ok: false, at: Date.now(), latencyMs: 1, syncTime: null, failure: 'connect', message })

// The instance's readiness URL: a real server whose answer the test sets.
let instanceStatus = 200
const healthServer: Server = createServer((req, res) => { res.writeHead(instanceStatus).end() })
await new Promise<void>((resolve) => healthServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => healthServer.close(() => resolve())))
const healthPort = (healthServer.address() as { port: number }).port

const config = configFromDocument({
  dns: {
    name: NAME,
    endpoints: [
      { id: 'i-fra', country: 'DE', latitude: 50.1, longitude: 8.7, addresses: ['192.0.2.1'], health: `http://127.0.0.1:${healthPort}/readyz` },
      { id: 'i-ams', country: 'NL', latitude: 52.4, longitude: 4.9, addresses: ['192.0.2.4'] }
    ]
  },
  probes: { enabled: false, failuresToDown: 1, passesToUp: 1 }
}, 'test', process.cwd())
const fleet = new Fleet(buildTable([
  spec('de-mirror', 'DE', { addresses: ['192.0.2.2'], dnsNames: [NAME] }),
  spec('nl-mirror', 'NL', { addresses: ['192.0.2.3', '2001:db8::3'], dnsNames: [NAME] }),
  spec('us-redirect-only', 'US')
]), { ...config.probes, ...config.freshness })
const directory = new EndpointDirectory(config.dns, config.selection, fleet)
// The one prober checks the instances' health URLs (probes of mirrors are off here).
const prober = new Prober(fleet, config.probes, { endpoints: config.dns.endpoints })

const fastify = Fastify()
registerDnsHealth(fastify, { directory })
await fastify.listen({ host: '127.0.0.1', port: 0 })
t.teardown(() => fastify.close())
const origin = `http://127.0.0.1:${(fastify.server.address() as { port: number }).port}`

interface Got { status: number, headers: Headers, text: string, body: Record<string, unknown> }
async function get (path: string, method = 'GET'): Promise<Got> {
  const res = await fetch(origin + path, { method })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, body: text === '' ? {} : JSON.parse(text) }
}

t.test('the endpoint list: id, kind, country, health and addresses, nothing else', async (t) => {
  fleet.drain('de-mirror', null, SECRET)
  t.teardown(() => { fleet.undrain('de-mirror') })
  const res = await get('/api/v1/dns/endpoints')
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.same(res.body, {
    endpoints: [
      { id: 'i-fra', kind: 'instance', country: 'DE', healthy: true, addresses: ['192.0.2.1'] },
      { id: 'i-ams', kind: 'instance', country: 'NL', healthy: true, addresses: ['192.0.2.4'] },
      { id: 'de-mirror', kind: 'mirror', country: 'DE', healthy: false, addresses: ['192.0.2.2'] },
      { id: 'nl-mirror', kind: 'mirror', country: 'NL', healthy: true, addresses: ['192.0.2.3', '2001:db8::3'] }
    ]
  }, 'the redirect-only mirror is no DNS endpoint')
  t.notOk(res.text.includes(SECRET), 'no drain reason')
})

t.test('a mirror: 200 while healthy, 503 while drained or down, 200 again', async (t) => {
  let res = await get('/api/v1/dns/health/de-mirror')
  t.equal(res.status, 200)
  t.equal(res.text, '{"id":"de-mirror","healthy":true}')
  t.equal(res.headers.get('cache-control'), 'no-store')

  fleet.drain('de-mirror', Date.parse('2099-01-01T00:00:00Z'), SECRET)
  res = await get('/api/v1/dns/health/de-mirror')
  t.equal(res.status, 503)
  t.same(res.body, { id: 'de-mirror', healthy: false, reason: 'drained until 2099-01-01T00:00:00.000Z' })
  t.notOk(res.text.includes('RAID'), 'the operator\'s drain note stays private')
  t.equal(res.headers.get('cache-control'), 'no-store')

  fleet.undrain('de-mirror')
  t.equal((await get('/api/v1/dns/health/de-mirror')).status, 200)

  fleet.record('nl-mirror', 'http', fail('connect ECONNREFUSED'))
  res = await get('/api/v1/dns/health/nl-mirror')
  t.equal(res.status, 503)
  t.equal(res.body.healthy, false)
  t.match(res.body.reason, /^down: connect/)
  t.ok(res.text.length < 300, 'a small body')
  fleet.record('nl-mirror', 'http', { ok: true, at: Date.now(), latencyMs: 1, syncTime: null, failure: null, message: null })
  t.equal((await get('/api/v1/dns/health/nl-mirror')).status, 200)
})

t.test('an instance follows its health URL', async (t) => {
  t.teardown(async () => { instanceStatus = 200; await prober.probeEndpoints() })
  await prober.probeEndpoints()
  t.equal((await get('/api/v1/dns/health/i-fra')).status, 200)
  instanceStatus = 503
  await prober.probeEndpoints()
  const res = await get('/api/v1/dns/health/i-fra')
  t.equal(res.status, 503)
  t.same(res.body, { id: 'i-fra', healthy: false, reason: 'health check failing: HTTP 503' })
  t.equal((await get('/api/v1/dns/health/i-ams')).status, 200, 'an instance without a health URL is always healthy')
  instanceStatus = 200
  await prober.probeEndpoints()
  t.equal((await get('/api/v1/dns/health/i-fra')).status, 200)
})

t.test('per address: the endpoint\'s health for each of its addresses, 404 for others', async (t) => {
  t.equal((await get('/api/v1/dns/health/nl-mirror/192.0.2.3')).status, 200)
  const v6 = await get('/api/v1/dns/health/nl-mirror/2001:db8::3')
  t.equal(v6.status, 200)
  t.same(v6.body, { id: 'nl-mirror', healthy: true })
  fleet.drain('nl-mirror', null, SECRET)
  t.equal((await get('/api/v1/dns/health/nl-mirror/2001:db8::3')).status, 503)
  fleet.undrain('nl-mirror')
  const other = await get('/api/v1/dns/health/nl-mirror/192.0.2.2')
  t.equal(other.status, 404)
  t.equal(other.body.error, 'MG_ERR_NOT_FOUND')
  t.equal(other.headers.get('cache-control'), 'no-store')
})

t.test('unknown ids are 404 MG_ERR_UNKNOWN_MIRROR, including mirrors that are no DNS endpoint', async (t) => {
  for (const path of ['/api/v1/dns/health/nope', '/api/v1/dns/health/us-redirect-only', '/api/v1/dns/health/nope/192.0.2.1']) {
    const res = await get(path)
    t.equal(res.status, 404, path)
    t.equal(res.body.error, 'MG_ERR_UNKNOWN_MIRROR')
    t.type(res.body.message, 'string')
    t.equal(res.headers.get('cache-control'), 'no-store')
    t.match(res.headers.get('content-type'), /^application\/json/)
  }
})

t.test('HEAD answers the same status without a body', async (t) => {
  t.equal((await get('/api/v1/dns/health/de-mirror', 'HEAD')).status, 200)
  fleet.drain('de-mirror', null, SECRET)
  const res = await get('/api/v1/dns/health/de-mirror', 'HEAD')
  t.equal(res.status, 503)
  t.equal(res.text, '')
  fleet.undrain('de-mirror')
  t.equal((await get('/api/v1/dns/health/nope', 'HEAD')).status, 404)
})

t.test('publicReason keeps reasons as they are, bounds the length', async (t) => {
  t.equal(publicReason('drained until 2099-01-01T00:00:00.000Z'), 'drained until 2099-01-01T00:00:00.000Z')
  t.equal(publicReason('down: timeout (after 5000 ms)'), 'down: timeout (after 5000 ms)')
  t.equal(publicReason(null), 'unhealthy')
  t.equal(publicReason('x'.repeat(500)).length, 200)
})
