// src/probes/probe.ts: one canary GET against loopback servers, each way a mirror can fail
// mapped to its ProbeFailure.

import { createServer, type IncomingHttpHeaders, type RequestListener, type Server as HttpServer } from 'node:http'
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { classify, MAX_BODY, probe, USER_AGENT } from '../../src/probes/probe.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'

const SYNC = Date.UTC(2026, 5, 1, 12, 0, 0) // whole seconds, as Alpine writes them
/** For the timeout tests; the others get a generous one, so that a loaded machine does not fail them. */
const TIMEOUT = 200
const GENEROUS = 5000

// A self-signed certificate for 127.0.0.1 (valid until 2126): no client trusts it.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgqjSwssrVqhONIchd
yqVPXJneBVBoYy6Ah+y+5pKSJjKhRANCAASesbBftmDrf6jQnuIvTE8AhZNd4vIk
hAZPn7Bf3LfkXhwfsrFmxDFkpvPJkbVNnE3Qi10/O5vOU2vGqAa08gAS
-----END PRIVATE KEY-----
`
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUewhdpZIeFv4Rp9Sjf2Tfqdtlc8cwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjA0MDMwNVoYDzIxMjYxMTAy
MDQwMzA1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASesbBftmDrf6jQnuIvTE8AhZNd4vIkhAZPn7Bf3LfkXhwfsrFmxDFk
pvPJkbVNnE3Qi10/O5vOU2vGqAa08gASo28wbTAdBgNVHQ4EFgQUFB3+M4ZwSvTe
uvnGpUUdRa3nAV0wHwYDVR0jBBgwFoAUFB3+M4ZwSvTeuvnGpUUdRa3nAV0wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIgezbRUZI+0nPNoKDdJ3dUnq78LPbE3t65iBZM28bMglgCIQCU
qVIFsb8eni75XoNFFGOYKVLa6Dp50nTktTU3qgavbg==
-----END CERTIFICATE-----
`

const fake: FakeMirror = await startFakeMirror({ syncTime: SYNC })
t.teardown(() => fake.close())
t.beforeEach(async () => {
  fake.mode = 'ok'
  await fake.up()
})
const canary = (): string => `${fake.base}last-updated`

/** A one-off loopback server for behaviour the fake mirror does not have. */
async function serve (t: Test, handler: RequestListener, tls = false): Promise<string> {
  const server: HttpServer | HttpsServer = tls ? createTlsServer({ key: TLS_KEY, cert: TLS_CERT }, handler) : createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('a healthy mirror: ok, with the sync time read from the canary', async (t) => {
  const r = await probe(canary(), GENEROUS, () => SYNC + 60_000)
  t.same(r, { ok: true, at: SYNC + 60_000, latencyMs: r.latencyMs, syncTime: SYNC, failure: null, message: null })
  t.ok(r.latencyMs > 0 && r.latencyMs < GENEROUS, 'latency measured')
  t.same(fake.requests.slice(-1), ['/alpine/last-updated'])
})

t.test('identifies itself, asks caches to revalidate, keeps no connection open', async (t) => {
  let headers: IncomingHttpHeaders = {}
  const origin = await serve(t, (req, res) => { headers = req.headers; res.end(`${SYNC / 1000}\n`) })
  const r = await probe(`${origin}/last-updated`, GENEROUS)
  t.equal(r.ok, true)
  t.equal(headers['user-agent'], USER_AGENT)
  t.equal(headers['user-agent'], 'mirrorgate-probe/1 (+https://github.com/mirrorgate)')
  t.equal(headers['cache-control'], 'no-cache')
  t.equal(headers.connection, 'close')
})

t.test('a mirror slower than the timeout: timeout, within a bound', async (t) => {
  fake.mode = 'slow'
  fake.delayMs = 10_000
  const started = performance.now()
  const r = await probe(canary(), TIMEOUT)
  const took = performance.now() - started
  t.equal(r.ok, false)
  t.equal(r.failure, 'timeout')
  t.match(r.message, /200 ms/)
  t.ok(took >= TIMEOUT - 5 && took < TIMEOUT + 2000, `gave up after ${Math.round(took)} ms`)
})

t.test('the timeout also covers a body that trickles in', async (t) => {
  const origin = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 20 })
    res.write('17') // and never the rest
  })
  const r = await probe(`${origin}/last-updated`, TIMEOUT)
  t.equal(r.failure, 'timeout')
})

t.test('a closed port: connect', async (t) => {
  await fake.down()
  const r = await probe(canary(), GENEROUS)
  t.equal(r.failure, 'connect')
  t.match(r.message, /ECONNREFUSED/)
})

t.test('a connection dropped mid-body: connect', async (t) => {
  const origin = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': 20 })
    res.write('17', () => res.destroy())
  })
  const r = await probe(`${origin}/last-updated`, GENEROUS)
  t.equal(r.failure, 'connect')
})

for (const [mode, status] of [['status-404', 404], ['status-500', 500]] as const) {
  t.test(`HTTP ${status}: http-status, naming the status`, async (t) => {
    fake.mode = mode
    const r = await probe(canary(), GENEROUS)
    t.equal(r.ok, false)
    t.equal(r.failure, 'http-status')
    t.match(r.message, String(status))
    t.equal(r.syncTime, null)
  })
}

t.test('a canary that is not a time: bad-canary', async (t) => {
  fake.mode = 'garbage'
  const r = await probe(canary(), GENEROUS)
  t.equal(r.failure, 'bad-canary')
  t.match(r.message, /not a time/)
})

t.test('a canary far in the future (by the clock passed in): bad-canary', async (t) => {
  const r = await probe(canary(), GENEROUS, () => SYNC - 7 * 86_400_000)
  t.equal(r.failure, 'bad-canary')
})

t.test('a huge canary: too-large, declared or streamed', async (t) => {
  fake.mode = 'huge'
  const declared = await probe(canary(), GENEROUS)
  t.equal(declared.failure, 'too-large')
  t.match(declared.message, /declares 102400 bytes/, 'refused on its Content-Length, unread')
  const origin = await serve(t, (_req, res) => {
    res.writeHead(200) // chunked: no length to go by
    res.write(Buffer.alloc(MAX_BODY, '1'))
    res.end('1')
  })
  const streamed = await probe(`${origin}/last-updated`, GENEROUS)
  t.equal(streamed.failure, 'too-large')
  const atLimit = await serve(t, (_req, res) => res.end(`${SYNC / 1000}`.padEnd(MAX_BODY, ' ')))
  t.equal((await probe(`${atLimit}/last-updated`, GENEROUS)).ok, true, 'exactly MAX_BODY bytes is fine')
})

t.test('an unresolvable host: dns (or timeout on a slow resolver)', async (t) => {
  const r = await probe('http://nonexistent.invalid/last-updated', 2000)
  t.equal(r.ok, false)
  t.ok(r.failure === 'dns' || r.failure === 'timeout', `failure ${r.failure}: ${r.message}`)
})

t.test('TLS failures: tls', async (t) => {
  const origin = await serve(t, (_req, res) => res.end(`${SYNC / 1000}\n`), true)
  const selfSigned = await probe(`${origin}/last-updated`, GENEROUS)
  t.equal(selfSigned.failure, 'tls', `untrusted certificate: ${selfSigned.message}`)
  const plain = await probe(canary().replace('http:', 'https:'), GENEROUS)
  t.equal(plain.failure, 'tls', `https to a plain-http port: ${plain.message}`)
})

t.test('redirects: up to two, same-origin or to https', async (t) => {
  const tlsOrigin = await serve(t, (_req, res) => res.end(`${SYNC / 1000}\n`), true)
  const seen: string[] = []
  const origin = await serve(t, (req, res) => {
    seen.push(req.url ?? '')
    const hop = /^\/hop(\d)$/.exec(req.url ?? '')
    if (hop !== null) {
      const n = Number(hop[1])
      res.writeHead(302, { location: n === 0 ? '/last-updated' : `/hop${n - 1}` }).end()
    } else if (req.url === '/elsewhere') res.writeHead(301, { location: fake.base + 'last-updated' }).end()
    else if (req.url === '/secure') res.writeHead(308, { location: `${tlsOrigin}/last-updated` }).end()
    else res.end(`${SYNC / 1000}\n`)
  })
  const two = await probe(`${origin}/hop1`, GENEROUS)
  t.equal(two.ok, true, 'two same-origin redirects are followed')
  t.equal(two.syncTime, SYNC)
  t.same(seen, ['/hop1', '/hop0', '/last-updated'])

  const three = await probe(`${origin}/hop2`, GENEROUS)
  t.equal(three.failure, 'http-status')
  t.match(three.message, /more than 2 redirects/)

  const before = fake.requests.length
  const other = await probe(`${origin}/elsewhere`, GENEROUS)
  t.equal(other.failure, 'http-status', 'plain http to another origin is refused')
  t.match(other.message, /301.*refused/)
  t.equal(fake.requests.length, before, 'and not requested')

  const secure = await probe(`${origin}/secure`, GENEROUS)
  t.equal(secure.failure, 'tls', 'an upgrade to https is followed (and its certificate checked)')
})

t.test('never throws, whatever the URL', async (t) => {
  t.equal((await probe('not a url', GENEROUS)).failure, 'other')
  t.equal((await probe('ftp://127.0.0.1/last-updated', GENEROUS)).failure, 'other')
})

t.test('classify maps error codes to failures', async (t) => {
  const cases: Array<[unknown, string]> = [
    [{ code: 'ECONNREFUSED' }, 'connect'], [{ code: 'ECONNRESET' }, 'connect'], [{ code: 'EHOSTUNREACH' }, 'connect'],
    [{ code: 'ENOTFOUND' }, 'dns'], [{ code: 'EAI_AGAIN' }, 'dns'],
    [{ code: 'CERT_HAS_EXPIRED' }, 'tls'], [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'tls'], [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'tls'],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, 'tls'], [{ code: 'EPROTO' }, 'tls'],
    [{ code: 'ETIMEDOUT' }, 'timeout'],
    [new AggregateError([Object.assign(new Error('every address refused'), { code: 'ECONNREFUSED' })]), 'connect'],
    [{ code: 'EWHATEVER' }, 'other'], [new Error('no code'), 'other'], [null, 'other']
  ]
  for (const [err, failure] of cases) t.equal(classify(err), failure, `${(err as { code?: string } | null)?.code ?? String(err)} -> ${failure}`)
})
