// The redirect as apk sees it: a real server on loopback, real HTTP, the shipped mirror
// table and the embedded DB-IP database.

import t from 'tap'
import { loadTableFile } from '../../src/config/table-file.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { get, raw, rawStatus, startService } from '../helpers/service.js'

const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
const GERMAN = '85.214.132.117' // Berlin in DB-IP
const GERMAN_V6 = '2a01:4f8::1' // Nuremberg in DB-IP

const table = await loadTableFile(DEFAULTS.table)
const byBase = (location: string) => table.mirrors.find((m) => (m.http !== null && location.startsWith(m.http)) || (m.https !== null && location.startsWith(m.https)))

const { service, port } = await startService()
t.teardown(() => service.close())

t.test('a German client is sent to a German mirror with a plain 302', async (t) => {
  const res = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, 'User-Agent': 'libfetch/2.0' })
  t.equal(res.status, 302)
  const location = res.headers.location as string
  t.match(location, /^http:\/\/[a-z0-9.-]+\//, 'absolute lowercase http URL')
  t.ok(location.endsWith('/v3.22/main/x86_64/APKINDEX.tar.gz'), 'path below the prefix kept')
  const mirror = byBase(location)
  t.equal(mirror?.country, 'DE')
  t.equal(res.headers['x-mirrorgate-mirror'], mirror?.id)
  t.equal(res.headers['content-length'], '0')
  t.equal(res.body, '')
  t.match(res.headers['cache-control'], /no-store/)
  t.match(res.headers['cache-control'], /private/)
})

t.test('Link headers name the alternatives (RFC 6249)', async (t) => {
  const res = await get(port, INDEX, { 'X-Forwarded-For': GERMAN })
  const links = String(res.headers.link).split(', <')
  t.equal(links.length, DEFAULTS.linkCount)
  links.forEach((l, i) => {
    t.match(l, new RegExp(`^<?https?://[^>]+/v3\\.22/main/x86_64/APKINDEX\\.tar\\.gz>; rel=duplicate; pri=${i + 1}; geo=[a-z]{2}$`))
  })
  const hosts = links.map((l) => new URL(l.replace(/^</, '').split('>')[0] as string).host)
  t.notOk(hosts.includes(new URL(res.headers.location as string).host), 'the chosen mirror is not repeated')
})

t.test('HEAD redirects too; other methods get 405', async (t) => {
  const head = await get(port, INDEX, { 'X-Forwarded-For': GERMAN }, 'HEAD')
  t.equal(head.status, 302)
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const res = await get(port, INDEX, {}, method)
    t.equal(res.status, 405, method)
    t.equal(res.headers.allow, 'GET, HEAD')
    t.equal(JSON.parse(res.body).error, 'MG_ERR_METHOD_NOT_ALLOWED')
  }
})

t.test('a query string is kept, paths outside the prefix are 404', async (t) => {
  const res = await get(port, '/alpine/edge/main/x86_64/APKINDEX.tar.gz?v=1', { 'X-Forwarded-For': GERMAN })
  t.ok((res.headers.location as string).endsWith('/edge/main/x86_64/APKINDEX.tar.gz?v=1'))
  const nf = await get(port, '/debian/dists/stable/Release')
  t.equal(nf.status, 404)
  t.equal(JSON.parse(nf.body).error, 'MG_ERR_NOT_FOUND')
})

t.test('the same client network gets the same mirror for the index and every package', async (t) => {
  const paths = [INDEX, '/alpine/v3.22/main/x86_64/musl-1.2.5-r10.apk', '/alpine/v3.22/main/x86_64/busybox-1.37.0-r18.apk']
  const hosts = new Set<string>()
  for (const host of ['85.214.132.1', '85.214.132.117', '85.214.132.254']) {
    for (const p of paths) {
      const res = await get(port, p, { 'X-Forwarded-For': host })
      hosts.add(new URL(res.headers.location as string).host)
    }
  }
  t.equal(hosts.size, 1)
})

t.test('X-Forwarded-Proto https from a trusted proxy sends the client to https', async (t) => {
  const res = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, 'X-Forwarded-Proto': 'https' })
  t.match(res.headers.location, /^https:\/\//)
  t.ok((res.headers.link as string).split(', ').every((l) => l.startsWith('<https://')), 'alternatives are https too')
  const bad = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, 'X-Forwarded-Proto': 'gopher' })
  t.equal(bad.status, 400)
  t.equal(JSON.parse(bad.body).error, 'MG_ERR_BAD_FORWARDED_PROTO')
})

t.test('X-Forwarded-For is walked from the right', async (t) => {
  // A client-supplied left-most address is ignored when the proxy appended the real one.
  const res = await get(port, INDEX, { 'X-Forwarded-For': `1.1.1.1, ${GERMAN}` })
  t.equal(byBase(res.headers.location as string)?.country, 'DE')
  // Trusted hops (loopback) on the right are skipped.
  const hop = await get(port, INDEX, { 'X-Forwarded-For': `${GERMAN}, 127.0.0.5` })
  t.equal(byBase(hop.headers.location as string)?.country, 'DE')
  for (const bad of ['not-an-ip', '85.214.132.117, ', '300.1.1.1', '1.2.3.4:80', 'a'.repeat(100)]) {
    const r = await get(port, INDEX, { 'X-Forwarded-For': bad })
    t.equal(r.status, 400, bad)
    t.equal(JSON.parse(r.body).error, 'MG_ERR_BAD_FORWARDED_FOR')
  }
})

t.test('bad request targets are a clear 400 and never reach a Location', async (t) => {
  const cases: Array<[string, string]> = [
    ['/alpine/../etc/passwd', 'MG_ERR_PATH_TRAVERSAL'],
    ['/alpine/v3.22/%2e%2e/%2E%2e/x', 'MG_ERR_PATH_TRAVERSAL'],
    ['/alpine/v3.22/..%2fx', 'MG_ERR_PATH_TRAVERSAL'],
    ['/alpine/x%0d%0aSet-Cookie:%20a=b', 'MG_ERR_PATH_CONTROL'],
    ['/alpine/x%00.apk', 'MG_ERR_PATH_CONTROL'],
    ['/alpine/x%zz', 'MG_ERR_PATH_INVALID'],
    ['/alpine/x"<script>', 'MG_ERR_PATH_INVALID'],
    ['/alpine/' + 'a'.repeat(5000), 'MG_ERR_PATH_TOO_LONG']
  ]
  for (const [path, code] of cases) {
    const response = await raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    t.equal(rawStatus(response), 400, path.slice(0, 40))
    t.match(response, code)
    t.notMatch(response, /\r\nLocation:/i)
  }
})

t.test('raw control bytes and over-long headers are refused, the server survives', async (t) => {
  const ctl = await raw(port, 'GET /alpine/a\x01b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(rawStatus(ctl), 400)
  const split = await raw(port, 'GET /alpine/a\rSet-Cookie: x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(rawStatus(split), 400)
  t.notMatch(split, /Set-Cookie/i)
  const big = await raw(port, `GET ${INDEX} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\nConnection: close\r\n\r\n`)
  t.equal(rawStatus(big), 431, 'Request Header Fields Too Large')
  const after = await get(port, INDEX, { 'X-Forwarded-For': GERMAN })
  t.equal(after.status, 302, 'still serving')
})

t.test('random targets either fail with 400 or stay under the chosen base', async (t) => {
  const alphabet = 'ab/.%2e0fF\\?#&=:@+ \x00\r\n"<>\u00e9'
  let seed = 42
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  for (let i = 0; i < 300; i++) {
    let tail = ''
    for (let j = rnd(24); j > 0; j--) tail += alphabet[rnd(alphabet.length)]
    const response = await raw(port, Buffer.from(`GET /alpine/${tail} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${GERMAN}\r\nConnection: close\r\n\r\n`, 'utf8'))
    const status = rawStatus(response)
    if (status === 302) {
      const location = /\r\nLocation: ([^\r\n]*)/i.exec(response)?.[1] as string
      const mirror = byBase(location)
      t.ok(mirror !== undefined, `Location ${location} starts with a mirror base`)
      const url = new URL(location)
      t.notMatch(url.pathname, /\/\.\.?(\/|$)/)
    } else {
      t.ok(status === 400 || status === 404, `status ${status} for ${JSON.stringify(tail)}`)
    }
  }
})
