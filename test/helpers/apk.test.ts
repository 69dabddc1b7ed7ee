// The apk model against a loopback server of its own, so that scenario tests can rely on it
// behaving like the real client: headers, redirects, the index cache and the failures.

import t, { type Test } from 'tap'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import { APK_ERRORS, Apk, apkIndex, parseApkIndex, repoFiles } from './apk.js'

const REPO = 'v3.22/main/x86_64/'
const HOUR = 3_600_000
const INDEX = `/alpine/${REPO}APKINDEX.tar.gz`
/** A server date far from the client's clock, to show apk never uses it for its cache. */
const SERVER_DATE = 'Mon, 01 Jan 2001 00:00:00 GMT'

interface Seen { method: string, url: string, headers: IncomingHttpHeaders }

type Handler = (req: Seen, res: ServerResponse, origin: string) => void

/** Records every request and every TCP connection; `handle` answers, and tests swap it. */
async function startServer (t: Test, handle: Handler): Promise<{ port: number, origin: string, seen: Seen[], connections: () => number, setHandler: (h: Handler) => void }> {
  const seen: Seen[] = []
  let connections = 0
  let handler = handle
  let origin = ''
  const server = createServer((req, res) => {
    const s = { method: req.method ?? '', url: req.url ?? '', headers: req.headers }
    seen.push(s)
    handler(s, res, origin)
  })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  origin = `http://127.0.0.1:${port}`
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { port, origin, seen, connections: () => connections, setHandler: (h) => { handler = h } }
}

function reply (res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), 'Last-Modified': SERVER_DATE, ...headers })
  res.end(body)
}

/**
 * Stands in for mirrorgate and one mirror on one port: /alpine/ redirects to /mirror/ naming
 * mirror m1, and /mirror/ serves `files` (paths below the repository root).
 */
function mirrorgate (files: Record<string, string>): Handler {
  return (req, res, origin) => {
    if (req.url.startsWith('/alpine/')) {
      reply(res, 302, '', { Location: origin + '/mirror/' + req.url.slice('/alpine/'.length), 'X-Mirrorgate-Mirror': 'm1' })
      return
    }
    const body = files[req.url.slice('/mirror/'.length)]
    if (body === undefined) reply(res, 404, 'not found\n')
    else reply(res, 200, body)
  }
}

t.test('index helpers: the index lists what repoFiles stores', async (t) => {
  const files = repoFiles(REPO, { foo: '1', bar: '2.0-r1' })
  t.same(Object.keys(files).sort(), [REPO + 'APKINDEX.tar.gz', REPO + 'bar-2.0-r1.apk', REPO + 'foo-1.apk'])
  t.same([...parseApkIndex(files[REPO + 'APKINDEX.tar.gz'] as string)], [['foo', '1'], ['bar', '2.0-r1']])
  t.same([...parseApkIndex(apkIndex({}))], [])
})

t.test('apk 2: GET on new connections; If-Modified-Since of its own clock, to the first URL only', async (t) => {
  const srv = await startServer(t, mirrorgate(repoFiles(REPO, { foo: '1' })))
  const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO })

  const before = apk.now()
  const first = await apk.update()
  const after = apk.now()
  t.ok(first.ok, 'the first update downloads the index')
  t.equal(first.indexFrom, 'm1')
  t.same(first.steps.map((s) => s.status), [302, 200])
  t.same([...(apk.index?.packages ?? [])], [['foo', '1']])
  const mtime = apk.index?.mtime as number
  t.ok(mtime >= before && mtime <= after, 'the index mtime is the client clock at download, not Last-Modified')
  t.equal(srv.seen[0]?.headers['if-modified-since'], undefined, 'nothing cached: no If-Modified-Since')

  apk.advance(4 * HOUR + 60_000)
  const second = await apk.update()
  t.ok(second.ok)
  t.equal(srv.seen.length, 4)
  t.equal(srv.seen[2]?.url, INDEX)
  t.equal(srv.seen[2]?.headers['if-modified-since'], new Date(mtime).toUTCString(), 'the cached copy\'s local mtime goes to mirrorgate')
  t.not(srv.seen[2]?.headers['if-modified-since'], SERVER_DATE)
  t.ok(srv.seen[3]?.url.startsWith('/mirror/'))
  t.equal(srv.seen[3]?.headers['if-modified-since'], undefined, 'never to the mirror it is sent to')

  t.same(srv.seen.map((s) => s.method), ['GET', 'GET', 'GET', 'GET'])
  t.ok(srv.seen.every((s) => s.headers.range === undefined), 'no Range')
  t.ok(srv.seen.every((s) => s.headers['user-agent'] === 'libfetch/2.0'))
  t.same(srv.seen.map((s) => s.headers['x-forwarded-for']), ['203.0.113.9', undefined, '203.0.113.9', undefined], 'the proxy address only toward mirrorgate')
  t.equal(srv.connections(), 4, 'a new TCP connection for every request')
})

t.test('a 304 keeps the cached index and resets its mtime to the client clock', async (t) => {
  const files = repoFiles(REPO, { foo: '1' })
  const srv = await startServer(t, mirrorgate(files))
  const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO })
  t.ok((await apk.update()).ok)
  const inner = mirrorgate(files)
  srv.setHandler((req, res, origin) => {
    if (req.url === INDEX && req.headers['if-modified-since'] !== undefined) reply(res, 304)
    else inner(req, res, origin)
  })

  apk.advance(5 * HOUR)
  const clock = apk.now()
  const added = await apk.add('foo')
  t.ok(added.ok, added.error ?? '')
  t.same(added.steps.map((s) => s.status), [304, 302, 200], 'not modified, then the package through a redirect')
  t.equal(added.indexFrom, null, 'no index was downloaded')
  t.equal(added.packageFrom, 'm1')
  t.ok((apk.index?.mtime as number) >= clock, 'mtime moved to the local now')
  t.same([...(apk.index?.packages ?? [])], [['foo', '1']], 'the cached index is kept')

  const again = await apk.add('foo')
  t.same(again.steps.map((s) => s.url.endsWith('foo-1.apk')), [true, true], 'the index counts as fresh again: only the package is fetched')
})

t.test('apk 2 update asks nothing while its index is younger than the max age', async (t) => {
  const srv = await startServer(t, mirrorgate(repoFiles(REPO, { foo: '1' })))
  const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO })
  t.ok((await apk.update()).ok)
  const requests = srv.seen.length

  apk.advance(4 * HOUR - 60_000)
  const young = await apk.update()
  t.ok(young.ok)
  t.same(young.steps, [], 'no request')
  t.equal(srv.seen.length, requests)

  apk.advance(2 * 60_000)
  const old = await apk.update()
  t.equal(old.steps.length, 2, 'past the max age it asks again')
  t.ok(old.steps[0]?.ims !== undefined, 'conditionally')
})

t.test('apk 3 update always downloads, never with If-Modified-Since; its add does send it', async (t) => {
  const srv = await startServer(t, mirrorgate(repoFiles(REPO, { foo: '1' })))
  const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO, version: 3 })
  t.ok((await apk.update()).ok)
  const again = await apk.update()
  t.ok(again.ok)
  t.equal(again.indexFrom, 'm1')
  t.equal(srv.seen.length, 4, 'a young index is downloaded again')
  t.ok(srv.seen.every((s) => s.headers['if-modified-since'] === undefined))
  t.ok(srv.seen.every((s) => s.headers['user-agent'] === 'apk-tools/3.0.6'))

  apk.advance(4 * HOUR + 60_000)
  const added = await apk.add('foo')
  t.ok(added.ok)
  t.equal(srv.seen[4]?.url, INDEX)
  t.type(srv.seen[4]?.headers['if-modified-since'], 'string', 'add refreshes an old index conditionally')
})

t.test('307 and 308 end the command; the target is never asked', async (t) => {
  for (const status of [307, 308]) {
    const srv = await startServer(t, (req, res, origin) => reply(res, status, '', { Location: origin + '/mirror/x' }))
    const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO })
    const r = await apk.update()
    t.equal(r.ok, false)
    t.equal(r.error, APK_ERRORS.redirectRefused(status))
    t.equal(srv.seen.length, 1, `${status} not followed`)
    t.equal(apk.index, null)
  }
})

t.test('four redirects are followed, a fifth is an error', async (t) => {
  let chain = 4
  const srv = await startServer(t, (req, res) => {
    // /alpine/... starts a chain of `chain` redirects through /hop/n down to /hop/0.
    const n = req.url.startsWith('/hop/') ? Number(req.url.slice(5)) : chain
    if (n === 0) reply(res, 200, apkIndex({ foo: '1' }))
    else reply(res, n % 2 === 0 ? 301 : 303, '', { Location: `/hop/${n - 1}` })
  })
  const four = await new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO }).update()
  t.ok(four.ok, four.error ?? '')
  t.equal(four.steps.length, 5)

  chain = 5
  const before = srv.seen.length
  const five = await new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO }).update()
  t.equal(five.ok, false)
  t.equal(five.error, APK_ERRORS.tooManyRedirects)
  t.equal(srv.seen.length - before, 5, 'gives up on the fifth redirect without following it')
})

t.test('a listed package that 404s, an unlisted name, a 5xx index', async (t) => {
  const files = repoFiles(REPO, { foo: '1' })
  delete files[REPO + 'foo-1.apk']
  const srv = await startServer(t, mirrorgate(files))
  const apk = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO })
  t.ok((await apk.update()).ok)

  const missing = await apk.add('foo')
  t.equal(missing.ok, false)
  t.equal(missing.error, APK_ERRORS.notFound)
  t.equal(missing.packageFrom, 'm1')
  t.equal(missing.steps.at(-1)?.status, 404)

  const unknown = await apk.add('bar')
  t.equal(unknown.error, 'unable to select packages: bar')
  t.same(unknown.steps, [], 'decided from the cached index alone')

  srv.setHandler((req, res) => reply(res, 503, 'busy\n'))
  const v3 = new Apk({ port: srv.port, xff: '203.0.113.9', repo: REPO, version: 3 })
  const broken = await v3.update()
  t.equal(broken.error, APK_ERRORS.temporary)
  t.equal(v3.index, null)
})

t.test('connection refused', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))

  const apk = new Apk({ port, xff: '203.0.113.9', repo: REPO })
  const r = await apk.update()
  t.equal(r.ok, false)
  t.equal(r.error, APK_ERRORS.connect)
  t.equal(r.steps[0]?.status, 'error')
  t.equal(apk.index, null)
  const add = await apk.add('foo')
  t.equal(add.error, APK_ERRORS.connect, 'add tries the index first and fails the same way')
})
