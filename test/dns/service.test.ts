// The responder as part of the running service: same table, same health, same GeoIP as the
// HTTP side. A mirror drained through the admin API disappears from DNS answers too.

import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get, startService } from '../helpers/service.js'

const run = promisify(execFile)
const TOKEN = 'dns-service-token-0123456789'

async function dig (port: number, name: string, type: string, subnet: string): Promise<string[]> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(port), name, type, `+subnet=${subnet}`, '+short', '+norecurse', '+time=2', '+tries=1'])
  return stdout.trim().split('\n').filter((l) => l !== '')
}

t.test('DNS answers follow the mirror table and its live state', async (t) => {
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  const mirror = (id: string, country: string, lat: number, lon: number, addr: string) => ({
    id, name: id, tier: 't1', urls: [`https://${id}.example.org/alpine/`], country, latitude: lat, longitude: lon,
    weight: 10, families: ['ipv4'], enabled: true, dnsNames: ['dl-cdn.test.example'], addresses: [addr]
  })
  writeFileSync(table, JSON.stringify({ mirrors: [mirror('de1', 'DE', 50.1, 8.7, '192.0.2.10'), mirror('jp1', 'JP', 35.7, 139.7, '192.0.2.20')] }))
  const { service, port } = await startService({ table, admin: { token: TOKEN }, dns: { enabled: true, port: 0, name: 'dl-cdn.test.example', answers: 1 } })
  t.teardown(() => service.close())
  const dnsPort = service.dns?.port as number
  t.ok(dnsPort > 0, 'responder listening')

  t.same(await dig(dnsPort, 'dl-cdn.test.example', 'A', '85.214.132.0/24'), ['192.0.2.10'], 'a German subnet gets the German mirror')
  t.same(await dig(dnsPort, 'dl-cdn.test.example', 'A', '202.12.27.0/24'), ['192.0.2.20'], 'a Japanese subnet gets the Japanese one')

  const drain = await fetch(`http://127.0.0.1:${port}/api/v1/admin/mirrors/de1/drain`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: '{}' })
  t.equal(drain.status, 200)
  t.same(await dig(dnsPort, 'dl-cdn.test.example', 'A', '85.214.132.0/24'), ['192.0.2.20'], 'drained over HTTP, gone from DNS')
  const health = await get(port, '/api/v1/dns/health/de1')
  t.equal(health.status, 503)

  const metrics = (await get(port, '/metrics')).body
  t.match(metrics, /mirrorgate_dns_queries_total\{rcode="NOERROR",qtype="A"\} 3/)
  t.match(metrics, /mirrorgate_dns_ecs_queries_total\{rcode="NOERROR"\} 3/)
})
