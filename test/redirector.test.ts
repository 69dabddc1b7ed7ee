// src/redirector.ts: its cached, shared decisions must be exactly what the pure selection
// says, for every client network. Real parts: the shipped mirror table and the embedded DB-IP
// database.

import t from 'tap'
import { DEFAULTS, EMBEDDED_GEOIP } from '../src/config/schema.js'
import { loadTableFile } from '../src/config/table-file.js'
import { formatIp, networkKey, type Ip } from '../src/core/ip.js'
import { baseOf, select } from '../src/core/selection.js'
import type { Place, Scheme } from '../src/core/types.js'
import { regionPlace } from '../src/core/regions.js'
import { Fleet } from '../src/live/fleet.js'
import type { MirrorTable } from '../src/core/types.js'
import { GeoIp } from '../src/geoip/reader.js'
import type { Decision } from '../src/decision.js'
import { Redirector } from '../src/redirector.js'

const KEEP = 4
const policy = DEFAULTS.selection

/** The live state over a table, probes off: every enabled mirror serves. */
const liveOf = (table: MirrorTable): Fleet => new Fleet(table, { ...DEFAULTS.probes, ...DEFAULTS.freshness, enabled: false })

/** Deterministic public-looking addresses: a spread of /24s and /48s. */
function addresses (n: number): Ip[] {
  const out: Ip[] = []
  let x = 12345
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0)
  while (out.length < n) {
    const v = next()
    if (out.length % 5 === 4) {
      const bytes = new Uint8Array(16)
      bytes.set([0x20, 0x01 + (v & 0x0f), (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff, v & 0xff], 0)
      bytes[15] = 1
      out.push({ family: 6, bytes })
    } else {
      const first = 1 + ((v >>> 24) % 223)
      if (first === 10 || first === 127 || first === 100 || first === 172 || first === 192) continue
      out.push({ family: 4, bytes: new Uint8Array([first, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]) })
    }
  }
  return out
}

for (const placesRanked of [undefined, 16]) {
  t.test(`decisions match the pure selection, are cached per network and shared between networks (places ranked: ${placesRanked ?? 'default'})`, async (t) => {
    const table = await loadTableFile(DEFAULTS.table)
    const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 10_000)
    const redirector = new Redirector({ geoip, live: liveOf(table), policy, keep: KEEP, cacheSize: 10_000, ...(placesRanked === undefined ? {} : { placesRanked }) })
    const ips = addresses(3000)
    const distinct = new Set<Decision>()
    let mismatches = 0
    let uncached = 0
    for (const ip of ips) {
      for (const scheme of ['http', 'https'] as Scheme[]) {
        const decision = redirector.decide(ip, scheme)
        distinct.add(decision)
        const client = { place: geoip.locate(ip), family: ip.family, scheme, network: networkKey(ip) }
        const expected = select(table, client, policy, undefined, KEEP).ranked.map((r) => `${r.site.id} ${baseOf(r, client)}`)
        const got = decision.targets.map((t) => `${t.id} ${t.base}`)
        if (expected.join('|') !== got.join('|')) {
          mismatches++
          if (mismatches <= 3) t.same(got, expected, `${formatIp(ip)} ${scheme}`)
        }
        if (redirector.decide(ip, scheme) !== decision) uncached++
      }
    }
    t.equal(mismatches, 0, `all ${ips.length * 2} decisions equal select()`)
    t.equal(uncached, 0, 'a second request from a network gets the cached decision')
    // The point of sharing: far fewer decision objects than client networks.
    t.ok(distinct.size < ips.length, `${distinct.size} distinct decisions for ${ips.length * 2} network/scheme pairs`)
    t.ok(distinct.size > 20, 'yet clients in different places get different answers')
  })
}

t.test('the same network in IPv4 and IPv6, or with a region hint, is a different cache entry', async (t) => {
  const table = await loadTableFile(DEFAULTS.table)
  const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 1000)
  const redirector = new Redirector({ geoip, live: liveOf(table), policy, keep: KEEP, cacheSize: 1000 })
  // An unplaceable IPv4 address (instance region, EU) next to a US IPv6 /48: each keeps its own
  // entry (the ids of the two families are disjoint, see test/core/ip.test.ts).
  const v4: Ip = { family: 4, bytes: new Uint8Array([0, 0, 0, 1]) }
  const v6: Ip = { family: 6, bytes: new Uint8Array(16) }
  v6.bytes.set([0x24, 0x00, 0xcb, 0x00], 0) // Cloudflare, in the US per DB-IP
  const plain = redirector.decide(v6, 'https')
  const pinned = redirector.decide(v6, 'https', 'volatile', { hint: 'oc', place: regionPlace('oc') as Place })
  t.not(pinned, plain, 'a hint to Oceania is answered from Oceania, not from the cached GeoIP answer')
  t.equal(pinned.continent, 'OC')
  t.equal(redirector.decide(v6, 'https'), plain, 'and the unhinted entry is untouched')
  t.equal(redirector.decide(v4, 'https').continent, 'EU', 'an unplaceable address takes the instance region (Frankfurt)')
  t.equal(redirector.decide(v6, 'https').continent, plain.continent)
})

t.test('a new snapshot whose selection changed drops cached decisions: a drained chosen mirror moves the client', async (t) => {
  const table = await loadTableFile(DEFAULTS.table)
  const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 1000)
  const fleet = liveOf(table)
  const redirector = new Redirector({ geoip, live: fleet, policy, keep: KEEP, cacheSize: 1000 })
  const ip = addresses(1)[0] as Ip
  const before = redirector.decide(ip, 'http')
  const chosen = before.targets[0]?.id as string
  t.ok(chosen !== undefined)
  // A probe result that changes nothing the selection reads keeps the epoch, and the cache.
  fleet.record(chosen, 'http', { ok: true, at: Date.now(), latencyMs: 3, syncTime: null, failure: null, message: null })
  t.equal(redirector.decide(ip, 'http'), before, 'same epoch: the cached decision')
  fleet.drain(chosen, null, 'test')
  const after = redirector.decide(ip, 'http')
  t.not(after.targets[0]?.id, chosen)
  t.notOk(after.targets.some((x) => x.id === chosen), 'nor among the alternatives')
  const client = { place: geoip.locate(ip), family: ip.family, scheme: 'http' as const, network: networkKey(ip) }
  t.same(after.targets.map((x) => x.id), select(table, client, policy, fleet.snapshot.gates.volatile, KEEP).ranked.map((r) => r.site.id), 'what select() says under the drain')
})
