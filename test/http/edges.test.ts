// Trust, address families, the no-mirror cases, explain, health and metrics.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get, raw, startService } from '../helpers/service.js'

const INDEX = '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'
const GERMAN = '85.214.132.117'
const JAPANESE = '202.12.27.33'

function tableFile (dir: string, mirrors: object[]): string {
  const file = join(dir, 'mirrors.yaml')
  writeFileSync(file, JSON.stringify({ mirrors })) // JSON is YAML
  return file
}

const mirror = (id: string, country: string, lat: number, lon: number, extra: object = {}) => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`], country, latitude: lat, longitude: lon,
  weight: 10, families: ['ipv4'], enabled: true, ...extra
})

t.test('an untrusted peer cannot set the client address', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [mirror('de1', 'DE', 52.5, 13.4), mirror('jp1', 'JP', 35.7, 139.7)])
  // Loopback is not trusted here: X-Forwarded-For is ignored and the peer, 127.0.0.1, cannot
  // be placed, so the client takes this instance's region (Japan).
  const { service, port } = await startService({
    table, trustedProxies: ['10.0.0.0/8'], instance: { id: 'tokyo-1', region: 'ap-northeast', country: 'JP', latitude: 35.7, longitude: 139.7 }
  })
  t.teardown(() => service.close())
  const res = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, 'X-Forwarded-Proto': 'https' })
  t.equal(res.status, 302)
  t.equal(res.headers['x-mirrorgate-mirror'], 'jp1')
  t.match(res.headers.location, /^http:\/\//, 'X-Forwarded-Proto ignored too')
  const garbage = await get(port, INDEX, { 'X-Forwarded-For': 'garbage' })
  t.equal(garbage.status, 302, 'malformed headers from untrusted peers are simply ignored')
})

t.test('X-Forwarded-For split over several lines is one list, read from the right', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [mirror('de1', 'DE', 52.5, 13.4), mirror('jp1', 'JP', 35.7, 139.7)])
  const { service, port } = await startService({ table })
  t.teardown(() => service.close())
  const mirrorFor = async (first: string, second: string): Promise<string | undefined> => {
    const response = await raw(port, `GET ${INDEX} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${first}\r\nx-forwarded-for: ${second}\r\nConnection: close\r\n\r\n`)
    return /\r\nx-mirrorgate-mirror: ([^\r]+)/i.exec(response)?.[1]
  }
  t.equal(await mirrorFor(GERMAN, JAPANESE), 'jp1', 'the last line holds the right-most hop')
  t.equal(await mirrorFor(JAPANESE, GERMAN), 'de1')
})

t.test('IPv6 clients, direct and forwarded, never go to IPv4-only mirrors', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [
    mirror('de-v4', 'DE', 52.5, 13.4),
    mirror('nl-v6', 'NL', 52.4, 4.9, { families: ['ipv4', 'ipv6'] })
  ])
  const { service, port } = await startService({ table }, '::1')
  t.teardown(() => service.close())
  const direct = await get(port, INDEX, {}, 'GET', '::1')
  t.equal(direct.headers['x-mirrorgate-mirror'], 'nl-v6', 'direct ::1 client is IPv6')
  const forwarded = await get(port, INDEX, { 'X-Forwarded-For': '2a01:4f8::1' }, 'GET', '::1')
  t.equal(forwarded.headers['x-mirrorgate-mirror'], 'nl-v6')
  const v4 = await get(port, INDEX, { 'X-Forwarded-For': GERMAN }, 'GET', '::1')
  t.equal(v4.headers['x-mirrorgate-mirror'], 'de-v4', 'an IPv4 client through an IPv6 proxy stays IPv4')
  const mapped = await get(port, INDEX, { 'X-Forwarded-For': `::ffff:${GERMAN}` }, 'GET', '::1')
  t.equal(mapped.headers['x-mirrorgate-mirror'], 'de-v4', 'IPv4-mapped IPv6 is IPv4')
})

t.test('no eligible mirror: 503 with Retry-After, or the fallback', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [mirror('only-v4', 'DE', 52.5, 13.4), mirror('off', 'DE', 52.5, 13.4, { enabled: false, families: ['ipv6'] })])
  const none = await startService({ table }, '::1')
  t.teardown(() => none.service.close())
  const res = await get(none.port, INDEX, { 'X-Forwarded-For': '2a01:4f8::1' }, 'GET', '::1')
  t.equal(res.status, 503)
  t.equal(res.headers['retry-after'], '60')
  t.equal(JSON.parse(res.body).error, 'MG_ERR_NO_MIRROR')
  t.equal(res.headers.location, undefined)

  const fb = await startService({ table, fallback: 'https://origin.example.org/alpine/' }, '::1')
  t.teardown(() => fb.service.close())
  const res2 = await get(fb.port, INDEX, { 'X-Forwarded-For': '2a01:4f8::1' }, 'GET', '::1')
  t.equal(res2.status, 302)
  t.equal(res2.headers.location, 'https://origin.example.org/alpine/v3.22/main/x86_64/APKINDEX.tar.gz')
  const metrics = await get(fb.port, '/metrics', {}, 'GET', '::1')
  t.match(metrics.body, /mirrorgate_fallbacks_total\{outcome="fallback"\} 1/)
})

t.test('every mirror known down: the fallback first; without one, the dead mirrors as a last resort, never a 503', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [mirror('a', 'DE', 52.5, 13.4), mirror('b', 'DE', 52.5, 13.4)])
  const dead = { ok: false, at: Date.now(), latencyMs: 1, syncTime: null, failure: 'connect', message: 'ECONNREFUSED' } as const
  const explainFor = async (port: number): Promise<{ standing: string, choice: { mirror: string | null, location: string | null } }> =>
    JSON.parse((await get(port, `/api/v1/explain?ip=${GERMAN}&path=${encodeURIComponent(INDEX)}`, {}, 'GET', '::1')).body)

  const fb = await startService({ table, fallback: 'https://origin.example.org/alpine/' }, '::1')
  t.teardown(() => fb.service.close())
  const none = await startService({ table }, '::1')
  t.teardown(() => none.service.close())
  for (const { service } of [fb, none]) {
    for (let i = 0; i < service.config.probes.failuresToDown; i++) for (const id of ['a', 'b']) service.fleet.record(id, 'http', dead)
  }

  const withFallback = await get(fb.port, INDEX, { 'X-Forwarded-For': GERMAN }, 'GET', '::1')
  t.same([withFallback.status, withFallback.headers.location], [302, 'https://origin.example.org/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'])
  const ex = await explainFor(fb.port)
  t.same([ex.standing, ex.choice.mirror, ex.choice.location], ['down', null, withFallback.headers.location], 'explain says what the redirect did')

  const lastResort = await get(none.port, INDEX, { 'X-Forwarded-For': GERMAN }, 'GET', '::1')
  t.equal(lastResort.status, 302)
  t.ok(['a', 'b'].includes(lastResort.headers['x-mirrorgate-mirror'] as string), 'a dead mirror may still answer; a 503 never does')
  const ex2 = await explainFor(none.port)
  t.same([ex2.standing, ex2.choice.mirror], ['down', lastResort.headers['x-mirrorgate-mirror']])

  // One comes back: it alone serves again.
  none.service.fleet.record('b', 'http', { ...dead, ok: true, syncTime: Date.now(), failure: null, message: null })
  none.service.fleet.record('b', 'http', { ...dead, ok: true, syncTime: Date.now(), failure: null, message: null })
  for (let i = 0; i < 8; i++) {
    const r = await get(none.port, INDEX, { 'X-Forwarded-For': `85.${i}.1.1` }, 'GET', '::1')
    t.equal(r.headers['x-mirrorgate-mirror'], 'b', `85.${i}.1.1 goes to the live mirror`)
  }
})

t.test('explain, health, readiness and metrics', async (t) => {
  const { service, port } = await startService()
  t.teardown(() => service.close())

  const ex = await get(port, `/api/v1/explain?ip=${GERMAN}&path=${encodeURIComponent(INDEX)}`)
  t.equal(ex.status, 200)
  const body = JSON.parse(ex.body)
  t.equal(body.client.place.country, 'DE')
  t.equal(body.client.network, '85.214.132.0/24')
  t.equal(body.ranked[0].id, body.choice.mirror)
  t.equal(body.ranked[0].country, 'DE')
  t.ok(body.ranked[0].inGroup)
  t.match(body.choice.location, /\/v3\.22\/main\/x86_64\/APKINDEX\.tar\.gz$/)
  t.ok(body.excluded.some((e: { code: string }) => e.code === 'disabled'), 'the disabled Tier-1 placeholders are listed as excluded')
  t.match(body.attribution, /DB-IP/)
  // explain agrees with the redirect itself
  const redirect = await get(port, INDEX, { 'X-Forwarded-For': GERMAN })
  t.equal(redirect.headers.location, body.choice.location)

  const https = JSON.parse((await get(port, `/api/v1/explain?ip=${GERMAN}&scheme=https`)).body)
  t.ok(https.excluded.some((e: { code: string }) => e.code === 'scheme'), 'http-only mirrors excluded for https')
  for (const bad of ['ip=1.2.3', 'ip=1.2.3.4&path=/etc/passwd', 'ip=1.2.3.4&scheme=ftp', 'ip=1.2.3.4&ip=5.6.7.8']) {
    const r = await get(port, `/api/v1/explain?${bad}`)
    t.equal(r.status, 400, bad)
    t.equal(JSON.parse(r.body).error, 'MG_ERR_BAD_QUERY')
  }

  t.same(JSON.parse((await get(port, '/healthz')).body), { status: 'ok' })
  t.equal((await get(port, '/readyz')).status, 200)
  const metrics = await get(port, '/metrics')
  t.match(metrics.headers['content-type'], /text\/plain/)
  t.match(metrics.body, /mirrorgate_http_requests_total\{route="redirect",status="302"\} 1/)
  t.match(metrics.body, new RegExp(`mirrorgate_redirects_total\\{mirror="${body.choice.mirror}",continent="EU"\\} 1`))
  t.match(metrics.body, /mirrorgate_geoip_lookups_total [1-9]/)
  t.match(metrics.body, /mirrorgate_geoip_cache_hits_total [1-9]/)
  t.match(metrics.body, /mirrorgate_selection_seconds_count [1-9]/)
  t.match(metrics.body, /process_resident_memory_bytes/)
})

t.test('GeoDNS awareness: instance header, region hints, off-region metric', async (t) => {
  const dir = t.testdir()
  const table = tableFile(dir, [mirror('de1', 'DE', 52.5, 13.4), mirror('jp1', 'JP', 35.7, 139.7), mirror('us1', 'US', 40.7, -74.0), mirror('au1', 'AU', -33.9, 151.2)])
  const { service, port } = await startService({
    table, instance: { id: 'fra-1', region: 'eu-central', country: 'DE', latitude: 50.1, longitude: 8.7 }, dns: { name: 'dl-cdn.test.example' }
  })
  t.teardown(() => service.close())

  const plain = await get(port, INDEX, { 'X-Forwarded-For': GERMAN })
  t.equal(plain.headers['x-mirrorgate-instance'], 'fra-1')
  t.equal(plain.headers['x-mirrorgate-mirror'], 'de1')

  // A German client pins Asia or Japan by path prefix, or Oceania by host label.
  const byPath = await get(port, '/_r/as/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': GERMAN })
  t.equal(byPath.headers['x-mirrorgate-mirror'], 'jp1')
  t.ok((byPath.headers.location as string).endsWith('/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'), 'the hint is not part of the mirror path')
  const byCountry = await get(port, '/_r/us/alpine/x.apk', { 'X-Forwarded-For': GERMAN })
  t.equal(byCountry.headers['x-mirrorgate-mirror'], 'us1')
  const byHost = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, Host: 'oc.dl-cdn.test.example:8080' })
  t.equal(byHost.headers['x-mirrorgate-mirror'], 'au1')
  const otherHost = await get(port, INDEX, { 'X-Forwarded-For': GERMAN, Host: 'oc.example.org' })
  t.equal(otherHost.headers['x-mirrorgate-mirror'], 'de1', 'labels of other names are not hints')
  const bad = await get(port, '/_r/zz/alpine/x.apk', { 'X-Forwarded-For': GERMAN })
  t.equal(bad.status, 400)
  t.equal(JSON.parse(bad.body).error, 'MG_ERR_BAD_REGION_HINT')
  const explained = JSON.parse((await get(port, `/api/v1/explain?ip=${GERMAN}&region=as`)).body)
  t.equal(explained.choice.mirror, 'jp1')
  t.equal(explained.client.place.source, 'region-hint')

  // Off-region: a Japanese client reaching the German instance is counted.
  await get(port, INDEX, { 'X-Forwarded-For': '202.12.27.33' })
  const metrics = (await get(port, '/metrics')).body
  t.match(metrics, /mirrorgate_instance_info\{id="fra-1",region="eu-central",country="DE"\} 1/)
  t.match(metrics, /mirrorgate_offregion_requests_total\{client_continent="AS"\} [1-9]/)
  t.notMatch(metrics, /mirrorgate_offregion_requests_total\{client_continent="EU"\}/)
})

t.test('an instance without a country counts no client as off-region', async (t) => {
  const { service, port } = await startService({ instance: { id: 'nowhere-1', country: null } })
  t.teardown(() => service.close())
  t.equal((await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': '202.12.27.33' })).status, 302)
  t.equal((await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': '81.2.69.142' })).status, 302)
  const metrics = (await get(port, '/metrics')).body
  t.match(metrics, /mirrorgate_http_requests_total\{route="redirect",status="302"\} 2/)
  t.notMatch(metrics, /mirrorgate_offregion_requests_total\{/, 'no sample at all')
})
