// Metalink 4 documents for release images, through the real server: a loopback master serves
// latest-releases.yaml (and the images, so the sums can be checked against the bytes), the
// shipped mirror table ranks the URLs. Each document is validated with xmllint against
// test/fixtures/metalink4.rng, a RELAX NG schema of RFC 5854, when xmllint is installed.

import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseLatestReleases } from '../../src/indexes/apkindex.js'
import { buildLatestReleases } from '../helpers/apkindex.js'
import { startFakeMirror } from '../helpers/fake-mirror.js'
import { get, startService } from '../helpers/service.js'

const RNG = join(import.meta.dirname, '..', 'fixtures', 'metalink4.rng')
const XMLLINT = spawnSync('xmllint', ['--version']).error === undefined
const GERMAN = '85.214.132.117' // Berlin in DB-IP (test/http/redirect.test.ts)
const FALLBACK = 'https://fallback.example.org/alpine/'
const DIR = 'v3.22/releases/x86_64/'
const ODD = 'alpine-&\'"<odd>.iso'
/** ODD as a request path may carry it: what RFC 3986 allows raw stays raw. */
const ODD_PATH = 'alpine-&\'%22%3Codd%3E.iso'

const images: Record<string, Buffer> = {
  'alpine-minirootfs-3.22.0-x86_64.tar.gz': Buffer.from('a minirootfs, or as good as one\n'),
  'alpine-virt-3.22.0-x86_64.iso': Buffer.alloc(70_000, 7),
  [ODD]: Buffer.from('a file with a name that needs escaping\n')
}
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const yaml = buildLatestReleases(Object.entries(images).map(([file, body]) => ({ file, size: body.length, sha256: sha256(body) })))
const master = await startFakeMirror({
  files: {
    [DIR + 'latest-releases.yaml']: yaml,
    ...Object.fromEntries(Object.entries(images).map(([name, body]) => [DIR + name, body]))
  }
})
t.teardown(() => master.close())

const { service, port } = await startService({ probes: { enabled: false, master: master.base }, fallback: FALLBACK })
t.teardown(() => service.close())

interface Meta4 { name: string, size: number | null, hash: string | null, urls: Array<{ location: string | null, priority: number, url: string }> }

const unescape = (s: string): string => s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: '\'', amp: '&' })[e] as string)

/** What the tests read of a document (the schema checks its shape; this reads its values). */
function read (doc: string): Meta4 {
  const name = /<file name="([^"]*)">/.exec(doc)?.[1]
  const size = /<size>(\d+)<\/size>/.exec(doc)?.[1]
  const hash = /<hash type="sha-256">([^<]*)<\/hash>/.exec(doc)?.[1]
  const urls = [...doc.matchAll(/<url(?: location="([^"]*)")? priority="(\d+)">([^<]*)<\/url>/g)]
    .map((m) => ({ location: m[1] ?? null, priority: Number(m[2]), url: unescape(m[3] as string) }))
  return { name: unescape(name ?? ''), size: size === undefined ? null : Number(size), hash: hash ?? null, urls }
}

/** Validates against the RFC 5854 schema; skipped, saying so, where xmllint is not installed. */
function validates (t: Test, doc: string, name: string): void {
  if (!XMLLINT) {
    t.pass(`${name}: valid against RFC 5854`, { skip: 'xmllint not installed (apt-get install libxml2-utils): the schema is not checked' })
    return
  }
  const file = join(t.testdir(), 'doc.meta4')
  writeFileSync(file, doc)
  const run = spawnSync('xmllint', ['--noout', '--relaxng', RNG, file], { encoding: 'utf8' })
  t.equal(run.status, 0, `${name}: valid against RFC 5854`, { stderr: run.stderr })
}

const yamlCount = (): number => master.requests.filter((r) => r.endsWith('latest-releases.yaml')).length

t.test('<file>.meta4: size and SHA-256 from the master, the client\'s mirrors best first', async (t) => {
  const name = 'alpine-minirootfs-3.22.0-x86_64.tar.gz'
  const res = await get(port, `/alpine/${DIR}${name}.meta4`, { 'X-Forwarded-For': GERMAN })
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/metalink4+xml')
  t.equal(res.headers['cache-control'], 'private, no-store')
  t.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)))
  t.ok(res.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<metalink xmlns="urn:ietf:params:xml:ns:metalink">'), 'the Metalink 4 namespace')
  validates(t, res.body, name)
  const doc = read(res.body)
  t.equal(doc.name, name)
  // As the master serves them: its yaml, and the bytes themselves.
  const listed = parseLatestReleases((await (await fetch(master.base + DIR + 'latest-releases.yaml')).text())).find((f) => f.name === name)
  t.equal(doc.size, listed?.size)
  t.equal(doc.hash, listed?.sha256)
  const bytes = Buffer.from(await (await fetch(master.base + DIR + name)).arrayBuffer())
  t.equal(doc.hash, sha256(bytes), 'the hash is the bytes\' SHA-256')
  t.equal(doc.size, bytes.length)

  t.same(doc.urls.map((u) => u.priority), doc.urls.map((_, i) => i + 1), 'priorities 1, 2, 3 ... in order')
  t.equal(doc.urls[0]?.location, 'de', 'a German mirror first')
  t.same(doc.urls.at(-1), { location: null, priority: doc.urls.length, url: FALLBACK + DIR + name }, 'the fallback last, with no location')
  // The mirrors, in MIRRORS.txt's order (every one is eligible: nothing is probed here).
  const list = await get(port, '/alpine/MIRRORS.txt', { 'X-Forwarded-For': GERMAN })
  t.same(doc.urls.slice(0, -1).map((u) => u.url), list.body.trim().split('\n').map((base) => base + DIR + name))
  t.ok(doc.urls.slice(0, -1).every((u) => u.location !== null && /^[a-z]{2}$/.test(u.location)), 'each mirror with its country')
  // The redirect's own choice heads the list.
  const redirect = await get(port, `/alpine/${DIR}${name}`, { 'X-Forwarded-For': GERMAN })
  t.equal(redirect.status, 302, 'the file itself is still a redirect')
  t.equal(doc.urls[0]?.url, redirect.headers.location)
})

t.test('Accept: application/metalink4+xml asks for one too; a file it cannot describe is redirected', async (t) => {
  const name = 'alpine-virt-3.22.0-x86_64.iso'
  const accept = 'application/metalink4+xml;q=0.9, */*;q=0.1'
  const res = await get(port, `/alpine/${DIR}${name}`, { 'X-Forwarded-For': GERMAN, Accept: accept })
  t.equal(res.status, 200)
  t.equal(res.headers['content-type'], 'application/metalink4+xml')
  t.equal(res.headers.vary, 'Accept')
  validates(t, res.body, name)
  t.equal(read(res.body).hash, sha256(images[name] as Buffer))
  t.equal(read(res.body).size, 70_000)
  const named = await get(port, `/alpine/${DIR}${name}.meta4`, { 'X-Forwarded-For': GERMAN })
  t.equal(named.body, res.body, 'the same document as <file>.meta4')

  for (const [what, headers] of [
    ['q=0 refuses it', { Accept: 'application/metalink4+xml;q=0, */*' }],
    ['another type', { Accept: 'application/metalink+xml' }],
    ['no Accept', {}]
  ] as const) {
    const r = await get(port, `/alpine/${DIR}${name}`, { 'X-Forwarded-For': GERMAN, ...headers })
    t.equal(r.status, 302, `${what}: the redirect`)
  }
  const unknown = await get(port, `/alpine/${DIR}alpine-extended-3.22.0-x86_64.iso`, { 'X-Forwarded-For': GERMAN, Accept: accept })
  t.equal(unknown.status, 302, 'a file the yaml does not list: redirected, as without the header')
  const notRelease = await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': GERMAN, Accept: accept })
  t.equal(notRelease.status, 302, 'outside releases/: redirected')
})

t.test('everything in the document is escaped', async (t) => {
  const res = await get(port, `/alpine/${DIR}${ODD_PATH}.meta4`, { 'X-Forwarded-For': GERMAN })
  t.equal(res.status, 200)
  validates(t, res.body, 'a name with & \' " < >')
  t.ok(res.body.includes('<file name="alpine-&amp;&apos;&quot;&lt;odd&gt;.iso">'), 'the name attribute')
  t.notOk(res.body.includes('<odd>'), 'no markup from the name')
  const doc = read(res.body)
  t.equal(doc.name, ODD, 'the name reads back')
  t.equal(doc.hash, sha256(images[ODD] as Buffer))
  t.ok(doc.urls.every((u) => u.url.endsWith(DIR + ODD_PATH)), 'URLs keep the path as requested, escaped in XML')
  t.ok(res.body.includes(`${DIR}alpine-&amp;&apos;%22%3Codd%3E.iso</url>`))
})

t.test('a .meta4 mirrorgate cannot answer: 404, and the master is not asked outside known folders', async (t) => {
  const asked = yamlCount()
  for (const path of [
    `/alpine/${DIR}alpine-extended-3.22.0-x86_64.iso.meta4`, // not in the yaml
    '/alpine/v3.22/releases/cloud/nocloud.qcow2.meta4', // not an architecture: no listing fetched
    '/alpine/v9.1/releases/x86_64/x.iso.meta4', // not a branch mirrorgate knows the shape of
    `/alpine/${DIR}alpine-%FF.iso.meta4` // an escape that is no UTF-8 names no file
  ]) {
    const res = await get(port, path, { 'X-Forwarded-For': GERMAN })
    t.equal(res.status, 404, path)
    t.equal(JSON.parse(res.body).error, 'MG_ERR_NO_METALINK')
  }
  t.equal(yamlCount(), asked, 'the cached listing answered; no folder outside the known shapes was fetched')
  const head = await get(port, `/alpine/${DIR}alpine-virt-3.22.0-x86_64.iso.meta4`, { 'X-Forwarded-For': GERMAN }, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
})

t.test('the listing is fetched once per folder and kept; a master that fails is a 503', async (t) => {
  const before = yamlCount()
  await Promise.all(Array.from({ length: 5 }, () => get(port, `/alpine/${DIR}alpine-virt-3.22.0-x86_64.iso.meta4`, { 'X-Forwarded-For': GERMAN })))
  t.equal(yamlCount(), before, 'within its TTL, no fetch')
  master.files.set('edge/releases/aarch64/latest-releases.yaml', buildLatestReleases([{ file: 'a.iso', size: 1, sha256: 'ab'.repeat(32) }]))
  const fresh = await Promise.all(Array.from({ length: 5 }, () => get(port, '/alpine/edge/releases/aarch64/a.iso.meta4', { 'X-Forwarded-For': GERMAN })))
  t.same(fresh.map((r) => r.status), [200, 200, 200, 200, 200])
  t.equal(yamlCount(), before + 1, 'five requests for a new folder at once: one fetch')
  await master.down()
  const down = await get(port, '/alpine/edge/releases/x86_64/a.iso.meta4', { 'X-Forwarded-For': GERMAN })
  t.equal(down.status, 503)
  t.equal(JSON.parse(down.body).error, 'MG_ERR_MASTER_UNAVAILABLE')
  t.equal(down.headers['retry-after'], '60')
  const cached = await get(port, '/alpine/edge/releases/aarch64/a.iso.meta4', { 'X-Forwarded-For': GERMAN })
  t.equal(cached.status, 200, 'a listing already fetched still serves')
  await master.up()
})

t.test('without a master there are no Metalinks', async (t) => {
  const bare = await startService()
  t.teardown(() => bare.service.close())
  const res = await get(bare.port, `/alpine/${DIR}alpine-virt-3.22.0-x86_64.iso.meta4`, { 'X-Forwarded-For': GERMAN })
  t.equal(res.status, 404)
  t.equal(JSON.parse(res.body).error, 'MG_ERR_NO_METALINK')
  const accepted = await get(bare.port, `/alpine/${DIR}alpine-virt-3.22.0-x86_64.iso`, { 'X-Forwarded-For': GERMAN, Accept: 'application/metalink4+xml' })
  t.equal(accepted.status, 302, 'asked by Accept: the redirect')
})

t.test('the schema itself rejects what RFC 5854 does not allow', { skip: XMLLINT ? false : 'xmllint not installed (apt-get install libxml2-utils)' }, async (t) => {
  const good = (await get(port, `/alpine/${DIR}alpine-virt-3.22.0-x86_64.iso.meta4`, { 'X-Forwarded-For': GERMAN })).body
  const file = join(t.testdir(), 'bad.meta4')
  for (const [what, bad] of [
    ['priority 0', good.replace('priority="2"', 'priority="0"')],
    ['a three-letter location', good.replace('location="de"', 'location="deu"')],
    ['uppercase hex', good.replace(/>([0-9a-f]{64})</, (_, h: string) => `>${h.toUpperCase()}<`)],
    ['no url', good.replace(/ *<url[^\n]*\n/g, '')],
    ['another namespace', good.replace('urn:ietf:params:xml:ns:metalink', 'urn:example:metalink')]
  ] as const) {
    t.not(bad, good, `${what}: the document was changed`)
    writeFileSync(file, bad)
    t.not(spawnSync('xmllint', ['--noout', '--relaxng', RNG, file]).status, 0, `${what}: invalid`)
  }
})
