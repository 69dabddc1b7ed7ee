// IPv4 and IPv6 apart: a mirror's host is probed over each family it claims, on its own, and a
// family that fails excludes the mirror for clients of that family only, in redirects and in
// DNS answers. Real HTTP over 127.0.0.1 and ::1; the one thing supplied is name resolution,
// since this machine has no name with both an A and an AAAA loopback record.

import t from 'tap'
import { lookup as systemLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { DEFAULTS, EMBEDDED_GEOIP } from '../../src/config/schema.js'
import { parseIp, type Ip } from '../../src/core/ip.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import { GeoIp } from '../../src/geoip/reader.js'
import { Fleet } from '../../src/live/fleet.js'
import { Metrics } from '../../src/metrics.js'
import { Prober } from '../../src/probes/prober.js'
import { Redirector } from '../../src/redirector.js'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'

/** `*.mirror.test` resolves to 127.0.0.1 (A) and ::1 (AAAA); anything else as the system does. */
const lookup: LookupFunction = (hostname, options, callback) => {
  if (!hostname.endsWith('.mirror.test')) return systemLookup(hostname, options, callback)
  const all: LookupAddress[] = [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]
  const wanted = options.family === 4 || options.family === 6 ? all.filter((a) => a.family === options.family) : all
  const first = wanted[0] as LookupAddress
  if (options.all === true) (callback as (err: null, addresses: LookupAddress[]) => void)(null, wanted)
  else callback(null, first.address, first.family)
}

/** A dual-stack fake: one fake on 127.0.0.1 and one on ::1, on the same port; `v6` may be left out. */
async function dualStack (opts: { v6: boolean }): Promise<{ v4: FakeMirror, v6: FakeMirror | null, port: number }> {
  const v4 = await startFakeMirror({ files: { 'x.apk': 'x' } })
  const v6 = opts.v6 ? await startFakeMirror({ host: '::1', port: v4.port, files: { 'x.apk': 'x' } }) : null
  return { v4, v6, port: v4.port }
}

const spec = (id: string, port: number): MirrorSpec => ({
  id, name: id, tier: 'community', urls: [`http://${id}.mirror.test:${port}/alpine/`], country: 'DE', latitude: 52.5, longitude: 13.4,
  weight: 10, families: ['ipv4', 'ipv6'], enabled: true, dnsNames: ['dl.example.org'], addresses: [`192.0.2.${port % 200}`, `2001:db8::${(port % 200).toString(16)}`]
})

t.test('a mirror whose IPv6 is down serves IPv4 clients only; DNS drops its AAAA only', async (t) => {
  const a = await dualStack({ v6: false }) // IPv6 listener missing: connections over ::1 are refused
  const b = await dualStack({ v6: true })
  t.teardown(async () => { for (const f of [a.v4, b.v4, b.v6]) await f?.close() })
  const table = buildTable([spec('a', a.port), spec('b', b.port)])
  const config = { ...DEFAULTS.probes, failuresToDown: 1, passesToUp: 1 }
  const fleet = new Fleet(table, { ...config, ...DEFAULTS.freshness })
  const prober = new Prober(fleet, config, { lookup })
  t.teardown(() => prober.stop())
  await prober.probeNow()

  t.equal(fleet.health('a', 'http', 4).state, 'up', 'a over IPv4')
  t.equal(fleet.health('a', 'http', 6).state, 'down', 'a over IPv6')
  t.match(fleet.health('a', 'http', 6).lastError, { reason: 'connect' })
  t.equal(fleet.health('b', 'http', 6).state, 'up', 'b over IPv6')
  t.same(a.v4.requests, ['/alpine/last-updated'], 'a\'s IPv4 listener saw only its IPv4 probe')
  t.same([b.v4.requests.length, b.v6?.requests.length], [1, 1], 'b: one probe per family, each to its own listener')

  // Redirects: IPv4 clients are split over a and b; IPv6 clients all go to b.
  const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 1000)
  const redirector = new Redirector({ geoip, live: fleet, policy: DEFAULTS.selection, keep: 2, cacheSize: 1000 })
  const firsts = (family: 4 | 6): Set<string | undefined> => {
    const seen = new Set<string | undefined>()
    for (let n = 0; n < 64; n++) {
      const ip = parseIp(family === 4 ? `85.${n}.1.9` : `2a01:4f8:${n.toString(16)}::1`) as Ip
      seen.add(redirector.decide(ip, 'http', 'volatile').targets[0]?.id)
    }
    return seen
  }
  t.same([...firsts(4)].sort(), ['a', 'b'], 'IPv4 clients still reach a')
  t.same([...firsts(6)], ['b'], 'IPv6 clients never get a')

  // DNS: a's IPv4 address is handed out, its IPv6 address is not.
  const directory = new EndpointDirectory({ ...DEFAULTS.dns, name: 'dl.example.org' }, DEFAULTS.selection, fleet)
  const endpoint = directory.get('a')
  t.match(endpoint, { healthy: true, families: { 4: true, 6: false } })
  const place = geoip.locate(parseIp('85.214.132.117') as Ip)
  t.ok(directory.rank(place, '85.214.132.0/24', 4).some((e) => e.id === 'a'), 'A answers may name a')
  t.notOk(directory.rank(place, '2a01:4f8::/48', 6).some((e) => e.id === 'a'), 'AAAA answers never name a')

  // The metrics say which family failed.
  const metrics = new Metrics(null, fleet, DEFAULTS.instance)
  const text = await metrics.registry.metrics()
  t.match(text, /mirrorgate_mirror_family_up\{mirror="a",scheme="http",family="ipv4"\} 1\n/)
  t.match(text, /mirrorgate_mirror_family_up\{mirror="a",scheme="http",family="ipv6"\} 0\n/)

  // The IPv6 listener comes up: a serves IPv6 clients again at the next probe.
  const v6 = await startFakeMirror({ host: '::1', port: a.port, files: { 'x.apk': 'x' } })
  t.teardown(() => v6.close())
  await prober.probeNow('a')
  t.equal(fleet.health('a', 'http', 6).state, 'up')
  t.same([...firsts(6)].sort(), ['a', 'b'], 'IPv6 clients reach a again')
})

t.test('an IP-literal URL is probed once, for its own family; the other family reads the same health', async (t) => {
  const m = await startFakeMirror()
  t.teardown(() => m.close())
  const table = buildTable([{ ...spec('lit', m.port), urls: [m.base] }])
  const config = { ...DEFAULTS.probes, failuresToDown: 1, passesToUp: 1 }
  const fleet = new Fleet(table, { ...config, ...DEFAULTS.freshness })
  const prober = new Prober(fleet, config, { lookup })
  t.teardown(() => prober.stop())
  await prober.probeNow()
  t.equal(m.requests.length, 1, 'one probe: 127.0.0.1 can only be reached over IPv4')
  t.equal(fleet.health('lit', 'http', 4).state, 'up')
  t.equal(fleet.health('lit', 'http', 6).state, 'up', 'not checked apart, so read from IPv4')
})
