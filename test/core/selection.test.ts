// src/core/selection.ts: the properties the product promises. Tables are built from small
// hand-made MirrorSpec rows; clients are plain objects.

import t from 'tap'
import { COUNTRIES } from '../../src/core/countries.js'
import { distanceKm } from '../../src/core/geo.js'
import { networkKey, parseIp } from '../../src/core/ip.js'
import { baseOf, select, type ExclusionCode, type Gate, type Selection, type SelectionPolicy, type Verdict } from '../../src/core/selection.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import type { Client, Family, Mirror, MirrorTable, Place, Scheme } from '../../src/core/types.js'

const POLICY: SelectionPolicy = { nearKm: 800 }

// Cities used below (approximate).
const FRANKFURT = [50.11, 8.68] as const
const MUNICH = [48.14, 11.58] as const
const KEHL = [48.57, 7.81] as const // German side of the Rhine, next to Strasbourg
const STRASBOURG = [48.58, 7.75] as const
const MARSEILLE = [43.30, 5.37] as const
const AMSTERDAM = [52.37, 4.90] as const
const VIENNA = [48.21, 16.37] as const
const TOKYO = [35.68, 139.69] as const
const NEW_YORK = [40.71, -74.01] as const

function mirror (id: string, over: Partial<MirrorSpec> = {}): MirrorSpec {
  return {
    id,
    name: id,
    tier: 'community',
    urls: [`http://${id}.example.org/alpine/`, `https://${id}.example.org/alpine/`],
    country: 'DE',
    latitude: FRANKFURT[0],
    longitude: FRANKFURT[1],
    weight: 10,
    families: ['ipv4', 'ipv6'],
    enabled: true,
    ...over
  }
}

const at = (country: string, [latitude, longitude]: readonly [number, number]): Partial<MirrorSpec> => ({ country, latitude, longitude })

function place (country: string | null, [latitude, longitude]: readonly [number, number], asn: number | null = null): Place {
  const continent = country === null ? null : (COUNTRIES.get(country)?.continent ?? null)
  return { country, continent, latitude, longitude, asn, source: 'geoip' }
}

function client (p: Place, opts: { family?: Family, scheme?: Scheme, network?: string } = {}): Client {
  const family = opts.family ?? 4
  return { place: p, family, scheme: opts.scheme ?? 'https', network: opts.network ?? (family === 4 ? '81.2.69.0/24' : '2a01:4f8:1::/48') }
}

const ids = (s: Selection): string[] => s.ranked.map((r) => r.site.id)
const first = (s: Selection): string | undefined => s.ranked[0]?.site.id
const codes = (s: Selection): Record<string, ExclusionCode> => Object.fromEntries(s.excluded.map((e) => [e.site.id, e.code]))

/** `count` distinct client networks: /24s for IPv4, /48s for IPv6. */
function networks (count: number, family: Family): string[] {
  const out: string[] = []
  for (let i = 0; out.length < count; i++) {
    if (family === 4) out.push(`${1 + ((i >> 16) % 223)}.${(i >> 8) & 0xff}.${i & 0xff}.0/24`)
    else out.push(`2a0${(i >> 24) & 0xf}:${((i >> 16) & 0xff).toString(16)}:${(i & 0xffff).toString(16)}::/48`)
  }
  return out
}

// ---------- step 1: who may not be used at all ----------

t.test('scheme: https requests only go to mirrors with an https URL', async (t) => {
  const table = buildTable([
    mirror('both'),
    mirror('http-only', { urls: ['http://http-only.example.org/alpine/'] }),
    mirror('https-only', { urls: ['https://https-only.example.org/alpine/'] })
  ])
  const here = place('DE', FRANKFURT)

  const https = select(table, client(here, { scheme: 'https' }), POLICY)
  t.same(ids(https).sort(), ['both', 'https-only'])
  t.same(codes(https), { 'http-only': 'scheme' })
  for (const r of https.ranked) t.match(baseOf(r, { scheme: 'https' }), /^https:\/\//, `${r.site.id} base is https`)

  const http = select(table, client(here, { scheme: 'http' }), POLICY)
  t.same(ids(http).sort(), ['both', 'http-only', 'https-only'], 'an http request may use every mirror')
  t.same(http.excluded, [])
  const base = Object.fromEntries(http.ranked.map((r) => [r.site.id, baseOf(r, { scheme: 'http' })]))
  t.same(base, {
    both: 'http://both.example.org/alpine/',
    'http-only': 'http://http-only.example.org/alpine/',
    'https-only': 'https://https-only.example.org/alpine/'
  }, 'same scheme when the mirror has it, https when that is all there is')
})

t.test('family: IPv6 clients never go to IPv4-only mirrors, and the reverse', async (t) => {
  const table = buildTable([mirror('dual'), mirror('v4', { families: ['ipv4'] }), mirror('v6', { families: ['ipv6'] })])
  const here = place('DE', FRANKFURT)
  const v6 = select(table, client(here, { family: 6 }), POLICY)
  t.same(ids(v6).sort(), ['dual', 'v6'])
  t.same(codes(v6), { v4: 'family' })
  t.match(v6.excluded[0]?.reason, /IPv6/)
  const v4 = select(table, client(here, { family: 4 }), POLICY)
  t.same(ids(v4).sort(), ['dual', 'v4'])
  t.same(codes(v4), { v6: 'family' })
})

t.test('restrictions and disabled mirrors, each with its own code', async (t) => {
  const table = buildTable([
    mirror('open'),
    mirror('off', { enabled: false }),
    mirror('only-de', { restrictions: { onlyCountries: ['DE'] } }),
    mirror('only-at-ch', { restrictions: { onlyCountries: ['AT', 'CH'] } }),
    mirror('only-eu', { restrictions: { onlyContinents: ['EU'] } }),
    mirror('only-as', { restrictions: { onlyContinents: ['AS', 'OC'] } }),
    mirror('not-de', { restrictions: { excludeCountries: ['DE'] } }),
    mirror('not-fr', { restrictions: { excludeCountries: ['FR', 'BE'] } })
  ])
  const de = select(table, client(place('DE', FRANKFURT)), POLICY)
  t.same(ids(de).sort(), ['not-fr', 'only-de', 'only-eu', 'open'])
  t.same(codes(de), { off: 'disabled', 'only-at-ch': 'only-countries', 'only-as': 'only-continents', 'not-de': 'excluded-country' })
  for (const e of de.excluded) t.ok(e.reason.length > 0, `${e.site.id} has a reason`)
  t.match(de.excluded.find((e) => e.site.id === 'only-at-ch')?.reason, /AT, CH/)

  const jp = select(table, client(place('JP', TOKYO)), POLICY)
  t.same(ids(jp).sort(), ['not-de', 'not-fr', 'only-as', 'open'])
  t.same(codes(jp), { off: 'disabled', 'only-de': 'only-countries', 'only-at-ch': 'only-countries', 'only-eu': 'only-continents' })

  // A client nobody could place: country and continent restrictions cannot be satisfied,
  // exclusions by country cannot apply.
  const unknown = select(table, client(place(null, FRANKFURT)), POLICY)
  t.same(ids(unknown).sort(), ['not-de', 'not-fr', 'open'])
  t.same(codes(unknown), { off: 'disabled', 'only-de': 'only-countries', 'only-at-ch': 'only-countries', 'only-eu': 'only-continents', 'only-as': 'only-continents' })
})

t.test('the first failing rule names the exclusion (disabled > scheme > family > restrictions)', async (t) => {
  const table = buildTable([
    mirror('a', { enabled: false, urls: ['http://a.example.org/alpine/'], families: ['ipv4'], restrictions: { onlyCountries: ['FR'] } }),
    mirror('b', { urls: ['http://b.example.org/alpine/'], families: ['ipv4'], restrictions: { onlyCountries: ['FR'] } }),
    mirror('c', { families: ['ipv4'], restrictions: { onlyCountries: ['FR'] } }),
    mirror('d', { restrictions: { onlyCountries: ['FR'], onlyContinents: ['AS'] } }),
    mirror('e', { restrictions: { onlyContinents: ['AS'], excludeCountries: ['DE'] } })
  ])
  const s = select(table, client(place('DE', FRANKFURT), { family: 6, scheme: 'https' }), POLICY)
  t.same(codes(s), { a: 'disabled', b: 'scheme', c: 'family', d: 'only-countries', e: 'only-continents' })
  t.same(s.ranked, [])
})

t.test('a gate (4th argument) excludes with its own verdict, after the table rules', async (t) => {
  const table = buildTable([mirror('up'), mirror('down'), mirror('stale'), mirror('off', { enabled: false })])
  const seen: string[] = []
  const gate: Gate = (m) => {
    seen.push(m.id)
    if (m.id === 'down' || m.id === 'off') return { code: 'down', reason: 'health check failed 3 times' }
    if (m.id === 'stale') return { code: 'stale', reason: 'index 2 hours behind' }
    return null
  }
  const s = select(table, client(place('DE', FRANKFURT)), POLICY, gate)
  t.same(ids(s), ['up'])
  t.same(s.excluded.map((e) => [e.site.id, e.code, e.reason]), [
    ['down', 'down', 'health check failed 3 times'],
    ['stale', 'stale', 'index 2 hours behind'],
    ['off', 'disabled', 'disabled in the mirror table']
  ])
  t.same(seen.sort(), ['down', 'stale', 'up'], 'the gate is not asked about mirrors the table already excludes')
  t.same(ids(select(table, client(place('DE', FRANKFURT)), POLICY, () => ({ code: 'draining', reason: 'maintenance' }))), [])
})

// ---------- standing: demoted mirrors serve only when nothing better is left ----------

const MIN = 60_000
const behind = (lagMin: number, allowedMin = 60): Verdict => ({ code: 'stale', standing: 'behind', reason: `${lagMin} min behind`, lagMs: lagMin * MIN, allowedMs: allowedMin * MIN })
const unprobed: Verdict = { code: 'unprobed', standing: 'unprobed', reason: 'not probed yet' }
const dead: Verdict = { code: 'down', standing: 'down', reason: 'down: connect' }

t.test('standing: fresh before behind before unprobed before down, whatever the distance', async (t) => {
  // The fresh mirror is the farthest: standing comes before steps 2 to 5.
  const table = buildTable([mirror('fresh', at('JP', TOKYO)), mirror('behind'), mirror('new'), mirror('dead')])
  const verdicts: Record<string, Verdict | null> = { fresh: null, behind: behind(90), new: unprobed, dead }
  const run = (): Selection => select(table, client(place('DE', FRANKFURT)), POLICY, (m) => verdicts[m.id] ?? null)
  let s = run()
  t.same([ids(s), s.standing], [['fresh'], 'fresh'])
  t.same(codes(s), { behind: 'stale', new: 'unprobed', dead: 'down' }, 'the others are excluded with their own codes')
  t.equal(s.excluded.find((e) => e.site.id === 'dead')?.reason, 'down: connect')

  verdicts.fresh = { code: 'draining', reason: 'maintenance' }
  s = run()
  t.same([ids(s), s.standing], [['behind'], 'behind'], 'no fresh mirror: the live one behind serves')
  t.match(s.groupReason, /no live mirror within the freshness bound/)

  verdicts.behind = dead
  s = run()
  t.same([ids(s), s.standing], [['new'], 'unprobed'], 'then a mirror not yet probed, before a known-dead one')
  t.match(s.groupReason, /not yet probed/)

  verdicts.new = dead
  s = run()
  t.same([ids(s).sort(), s.standing], [['behind', 'dead', 'new'], 'down'], 'all down: every one is a last resort, ranked as usual')
  t.match(s.groupReason, /last resort/)
  t.ok(s.ranked.every((r) => r.inGroup), 'steps 2 to 4 as usual: the three in Frankfurt are one group')
})

t.test('behind: only the freshest sync group serves (within the class\'s bound of the least-lagged), sticky by network', async (t) => {
  const table = buildTable([mirror('two'), mirror('two-half'), mirror('three-half'), mirror('five')])
  const lag: Record<string, number> = { two: 120, 'two-half': 150, 'three-half': 210, five: 300 }
  const gate: Gate = (m) => behind(lag[m.id] as number)
  const s = select(table, client(place('DE', FRANKFURT)), POLICY, gate)
  t.same(ids(s).sort(), ['two', 'two-half'], 'within 60 min of the freshest (120 min behind)')
  t.same(codes(s), { 'three-half': 'stale', five: 'stale' })
  t.match(s.excluded[0]?.reason, /210 min behind; the freshest live mirrors are 120 min behind/)
  t.match(s.groupReason, /up to 180 min behind/)
  // Rendezvous still splits the group by network, and one network always gets the same mirror.
  const firsts = new Map<string, string | undefined>()
  for (const network of networks(400, 4)) firsts.set(network, first(select(table, client(place('DE', FRANKFURT), { network }), POLICY, gate)))
  const counts = [...firsts.values()].reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string | undefined, number>())
  t.ok((counts.get('two') ?? 0) > 120 && (counts.get('two-half') ?? 0) > 120, `split ${JSON.stringify([...counts])}`)
  for (const [network, id] of [...firsts].slice(0, 50)) t.equal(first(select(table, client(place('DE', FRANKFURT), { network }), POLICY, gate)), id)
})

t.test('standing is decided per client: a mirror behind for one client may be the best another can have', async (t) => {
  // The fresh mirror has no https URL: https clients fall back to the freshest behind them.
  const table = buildTable([mirror('fresh-http', { urls: ['http://fresh.example.org/alpine/'] }), mirror('old')])
  const gate: Gate = (m) => (m.id === 'old' ? behind(100) : null)
  t.same(ids(select(table, client(place('DE', FRANKFURT), { scheme: 'http' }), POLICY, gate)), ['fresh-http'])
  const https = select(table, client(place('DE', FRANKFURT), { scheme: 'https' }), POLICY, gate)
  t.same([ids(https), https.standing], [['old'], 'behind'])
})

// ---------- steps 2 and 3: pool and group ----------

t.test('a client in a country with eligible mirrors goes to one of them, even when a foreign one is closer', async (t) => {
  const table = buildTable([mirror('kehl', at('DE', KEHL)), mirror('marseille', at('FR', MARSEILLE))])
  const strasbourg = place('FR', STRASBOURG)
  t.ok(distanceKm(...STRASBOURG, ...KEHL) < 10 && distanceKm(...STRASBOURG, ...MARSEILLE) > 500, 'setup: Kehl is next door, Marseille is far')
  for (const network of networks(200, 4)) {
    const s = select(table, client(strasbourg, { network }), POLICY)
    if (first(s) !== 'marseille') { t.fail(`${network} went to ${first(s)}`); return }
  }
  const s = select(table, client(strasbourg), POLICY)
  t.same(ids(s), ['marseille', 'kehl'], 'the closer foreign mirror is the alternative')
  t.same(s.ranked.map((r) => [r.inGroup, r.sameCountry]), [[true, true], [false, false]])
  t.match(s.groupReason, /mirrors in FR/)

  // Once the French mirror cannot serve (https only here), Kehl takes over.
  const noFr = buildTable([mirror('kehl', at('DE', KEHL)), mirror('marseille', { ...at('FR', MARSEILLE), urls: ['http://marseille.example.org/alpine/'] })])
  t.equal(first(select(noFr, client(strasbourg, { scheme: 'https' }), POLICY)), 'kehl')
  t.equal(first(select(noFr, client(strasbourg, { scheme: 'http' }), POLICY)), 'marseille')
})

t.test('otherwise the nearest by great-circle distance, and everything within nearKm of it', async (t) => {
  const table = buildTable([
    mirror('munich', at('DE', MUNICH)),
    mirror('amsterdam', at('NL', AMSTERDAM)),
    mirror('new-york', at('US', NEW_YORK)),
    mirror('tokyo', at('JP', TOKYO))
  ])
  const vienna = place('AT', VIENNA)
  const tight = select(table, client(vienna), { nearKm: 100 })
  t.same(ids(tight), ['munich', 'amsterdam', 'new-york', 'tokyo'], 'Munich is nearest, the rest by distance')
  t.same(tight.ranked.map((r) => r.inGroup), [true, false, false, false])
  t.equal(Math.round(tight.ranked[0]?.distanceKm ?? 0), Math.round(distanceKm(...VIENNA, ...MUNICH)))
  t.match(tight.groupReason, /no eligible mirror in the client's country/)

  // Amsterdam is ~940 km from Vienna, Munich ~355 km: with nearKm 800 both are "comparably near".
  const wide = select(table, client(vienna), { nearKm: 800 })
  t.same(wide.ranked.filter((r) => r.inGroup).map((r) => r.site.id).sort(), ['amsterdam', 'munich'])
  const firsts = new Set(networks(2000, 4).map((network) => first(select(table, client(vienna, { network }), { nearKm: 800 }))))
  t.same([...firsts].sort(), ['amsterdam', 'munich'], 'both get clients')

  // Great-circle, not flat lat/lon: across the antimeridian Fiji is nearer to Samoa than Sydney is.
  const pacific = buildTable([mirror('suva', { country: 'FJ', latitude: -18.14, longitude: 178.44 }), mirror('sydney', { country: 'AU', latitude: -33.87, longitude: 151.21 })])
  t.equal(first(select(pacific, client(place('WS', [-13.83, -171.76])), { nearKm: 0 })), 'suva')
})

t.test('same-ASN mirrors are preferred within the near group, and only there', async (t) => {
  const table = buildTable([
    mirror('isp', { asns: [3320, 3209] }),
    mirror('other-1'),
    mirror('other-2'),
    mirror('far-isp', { ...at('DE', MUNICH), asns: [3320] }),
    mirror('foreign-isp', { ...at('NL', AMSTERDAM), asns: [1136] })
  ])
  const frankfurt = (asn: number | null): Place => place('DE', FRANKFURT, asn)
  for (const network of networks(500, 4)) {
    const s = select(table, client(frankfurt(3209), { network }), { nearKm: 50 })
    if (first(s) !== 'isp' || s.ranked.filter((r) => r.inGroup).length !== 1) { t.fail(`${network}: ${ids(s).join(',')}`); return }
  }
  const s = select(table, client(frankfurt(3320)), { nearKm: 50 })
  t.same(s.ranked.map((r) => [r.site.id, r.inGroup, r.sameAsn]).slice(0, 1), [['isp', true, true]])
  t.match(s.groupReason, /AS3320/)
  t.equal(s.ranked.find((r) => r.site.id === 'far-isp')?.inGroup, false, 'a same-ASN mirror outside nearKm is not pulled in')

  // No same-ASN mirror in the group: the group is left as it is.
  const none = select(table, client(frankfurt(1136)), { nearKm: 50 })
  t.same(none.ranked.filter((r) => r.inGroup).map((r) => r.site.id).sort(), ['isp', 'other-1', 'other-2'], 'foreign ASN match does not beat the country')
  t.notMatch(none.groupReason, /AS1136/)
  t.same(select(table, client(frankfurt(null)), { nearKm: 50 }).ranked.filter((r) => r.inGroup).length, 3)
})

// ---------- step 4: load split and stickiness ----------

t.test('weights split the clients: each share within ±2 points of weight / total', async (t) => {
  // [mirror ids, weights]: short ids, and ids shaped like the real table's (similar prefixes).
  const cases: Array<[string[], number[]]> = [
    [['m0', 'm1', 'm2'], [10, 20, 70]],
    [['m0', 'm1', 'm2', 'm3'], [1, 1, 1, 1]],
    [['m0', 'm1', 'm2', 'm3'], [5, 15, 30, 50]],
    [['mirror-1-de', 'mirror-2-de', 'mirror-3-de'], [10, 20, 70]]
  ]
  for (const family of [4, 6] as const) {
    const nets = networks(100_000, family)
    t.equal(new Set(nets).size, 100_000, `IPv${family}: 100000 distinct networks`)
    for (const [mirrorIds, weights] of cases) {
      const table = buildTable(weights.map((w, i) => mirror(mirrorIds[i] as string, { weight: w })))
      const total = weights.reduce((a, b) => a + b, 0)
      const counts = new Map<string, number>()
      const here = place('DE', FRANKFURT)
      for (const network of nets) {
        const id = first(select(table, client(here, { family, network }), POLICY)) as string
        counts.set(id, (counts.get(id) ?? 0) + 1)
      }
      weights.forEach((w, i) => {
        const id = mirrorIds[i] as string
        const share = 100 * (counts.get(id) ?? 0) / nets.length
        const want = 100 * w / total
        t.ok(Math.abs(share - want) <= 2, `IPv${family} ${weights.join('/')}: ${id} has ${share.toFixed(2)}% (want ${want.toFixed(1)}% ± 2)`)
      })
    }
  }
})

t.test('stickiness: one network, one first choice, for every address in it', async (t) => {
  const table = buildTable(['a', 'b', 'c', 'd', 'e'].map((id) => mirror(id)))
  const here = place('DE', FRANKFURT)
  const firstFor = (address: string): string | undefined => {
    const ip = parseIp(address)
    if (ip === null) throw new Error(address)
    return first(select(table, client(here, { family: ip.family, network: networkKey(ip) }), POLICY))
  }
  const seenFirsts = new Set<string | undefined>()
  for (let c = 0; c < 64; c++) {
    const want = firstFor(`81.2.${c}.0`)
    seenFirsts.add(want)
    for (let d = 1; d < 256; d++) {
      if (firstFor(`81.2.${c}.${d}`) !== want) { t.fail(`81.2.${c}.${d} differs from 81.2.${c}.0`); return }
    }
    t.equal(firstFor(`::ffff:81.2.${c}.77`), want, `mapped 81.2.${c}.77 too`)
    const v6 = firstFor(`2a01:4f8:${c.toString(16)}::1`)
    for (const tail of ['ffff::', '1:2:3:4:5', 'abcd::ef']) {
      t.equal(firstFor(`2a01:4f8:${c.toString(16)}:${tail}`), v6, `2a01:4f8:${c.toString(16)}:${tail} shares its /48`)
    }
  }
  t.ok(seenFirsts.size > 1, 'different networks do spread')
})

t.test('determinism: same inputs, same output, whatever the row order', async (t) => {
  const specs = [
    mirror('fra-1'), mirror('fra-2', { weight: 30 }), mirror('mun', at('DE', MUNICH)),
    mirror('ams', at('NL', AMSTERDAM)), mirror('nyc', at('US', NEW_YORK)), mirror('tyo', at('JP', TOKYO))
  ]
  const table = buildTable(specs)
  const reversed = buildTable([...specs].reverse())
  for (const network of networks(500, 4)) {
    const c = client(place('AT', VIENNA), { network })
    const a = select(table, c, POLICY)
    const b = select(table, c, POLICY)
    t.same(b, a)
    t.same(ids(select(reversed, c, POLICY)), ids(a), `${network}: row order does not matter`)
    if (t.passing() === false) return
  }
})

t.test('removing a mirror moves only the clients it served', async (t) => {
  const specs = [mirror('a', { weight: 10 }), mirror('b', { weight: 20 }), mirror('c', { weight: 30 }), mirror('d', { weight: 40 }),
    mirror('far', at('JP', TOKYO))]
  const before = buildTable(specs)
  const after = buildTable(specs.filter((s) => s.id !== 'c'))
  const here = place('DE', FRANKFURT)
  let moved = 0
  let kept = 0
  const movedTo = new Map<string, number>()
  const wrong: string[] = []
  for (const family of [4, 6] as const) {
    for (const network of networks(20_000, family)) {
      const was = first(select(before, client(here, { family, network }), POLICY))
      const now = first(select(after, client(here, { family, network }), POLICY)) as string
      if (was === 'c') {
        moved++
        movedTo.set(now, (movedTo.get(now) ?? 0) + 1)
      } else {
        kept++
        if (now !== was) wrong.push(`${network}: ${String(was)} -> ${now}`)
      }
    }
  }
  t.same(wrong.slice(0, 10), [], 'every client not served by c keeps its mirror')
  t.ok(moved > 0 && kept > 0, `${moved} moved, ${kept} kept`)
  t.same([...movedTo.keys()].sort(), ['a', 'b', 'd'], "c's clients spread over the rest of the group")

  // And the converse: adding a mirror only takes clients, it never shuffles the others.
  const added = buildTable([...specs, mirror('e', { weight: 25 })])
  const shuffled: string[] = []
  for (const network of networks(20_000, 4)) {
    const was = first(select(before, client(here, { network }), POLICY))
    const now = first(select(added, client(here, { network }), POLICY))
    if (now !== was && now !== 'e') shuffled.push(`${network}: ${String(was)} -> ${String(now)}`)
  }
  t.same(shuffled.slice(0, 10), [], 'clients only move to the new mirror')
})

// ---------- step 5: alternatives, and the empty case ----------

t.test('alternatives follow the group: in-country first, then by distance', async (t) => {
  const table = buildTable([
    mirror('tokyo', at('JP', TOKYO)),
    mirror('new-york', at('US', NEW_YORK)),
    mirror('frankfurt'),
    mirror('munich', at('DE', MUNICH)),
    mirror('hamburg', { country: 'DE', latitude: 53.55, longitude: 9.99 }),
    mirror('amsterdam', at('NL', AMSTERDAM)),
    mirror('vienna', at('AT', VIENNA)),
    mirror('kehl', at('DE', KEHL))
  ])
  const s = select(table, client(place('DE', FRANKFURT)), { nearKm: 10 })
  t.same(ids(s), ['frankfurt', 'kehl', 'munich', 'hamburg', 'amsterdam', 'vienna', 'new-york', 'tokyo'])
  t.same(s.ranked.map((r) => r.inGroup), [true, false, false, false, false, false, false, false])
  t.same(s.ranked.map((r) => r.sameCountry), [true, true, true, true, false, false, false, false])
  const alternatives = s.ranked.slice(1)
  for (let i = 1; i < alternatives.length; i++) {
    const a = alternatives[i - 1]
    const b = alternatives[i]
    if (a === undefined || b === undefined) continue
    if (a.sameCountry === b.sameCountry) t.ok(a.distanceKm <= b.distanceKm, `${a.site.id} before ${b.site.id}`)
  }
  for (const r of s.ranked) t.equal(r.distanceKm, distanceKm(...FRANKFURT, r.site.latitude, r.site.longitude), `${r.site.id} distance`)
})

t.test('no eligible mirror: nothing ranked, every mirror excluded', async (t) => {
  const table = buildTable([
    mirror('off', { enabled: false }),
    mirror('v4', { families: ['ipv4'] }),
    mirror('plain', { urls: ['http://plain.example.org/alpine/'] }),
    mirror('jp-only', { restrictions: { onlyCountries: ['JP'] } })
  ])
  const s = select(table, client(place('DE', FRANKFURT), { family: 6, scheme: 'https' }), POLICY)
  t.same(s.ranked, [])
  t.same(codes(s), { off: 'disabled', v4: 'family', plain: 'scheme', 'jp-only': 'only-countries' })
  t.equal(s.groupReason, 'no eligible mirror')
  t.same(select(buildTable([mirror('x', { enabled: false })]), client(place(null, FRANKFURT)), POLICY).ranked, [])
})

// ---------- all of the above, on random tables ----------

/** The rules written once more, independently of src/: the code that should exclude m, or null. */
function expectedCode (m: Mirror, c: Client): ExclusionCode | null {
  if (!m.enabled) return 'disabled'
  if (c.scheme === 'https' && m.https === null) return 'scheme'
  if ((c.family === 6 && !m.ipv6) || (c.family === 4 && !m.ipv4)) return 'family'
  const { onlyCountries, onlyContinents, excludeCountries } = m.restrictions
  if (onlyCountries.length > 0 && !onlyCountries.includes(c.place.country ?? '')) return 'only-countries'
  if (onlyContinents.length > 0 && !(onlyContinents as string[]).includes(c.place.continent ?? '')) return 'only-continents'
  if (c.place.country !== null && excludeCountries.includes(c.place.country)) return 'excluded-country'
  return null
}

t.test('properties on random tables and clients', async (t) => {
  let seed = 20240601
  const r = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 4294967296 }
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T
  const countries = ['DE', 'FR', 'NL', 'AT', 'US', 'JP', 'BR', 'ZA', 'AU']
  const near = (cc: string): [number, number] => {
    const c = COUNTRIES.get(cc)
    if (c === undefined) throw new Error(cc)
    return [c.latitude + (r() - 0.5) * 6, c.longitude + (r() - 0.5) * 6]
  }
  const failures: string[] = []
  const check = (cond: boolean, what: string): void => { if (!cond && failures.length < 10) failures.push(what) }

  for (let round = 0; round < 400; round++) {
    const specs: MirrorSpec[] = []
    const n = 1 + Math.floor(r() * 12)
    for (let i = 0; i < n; i++) {
      const cc = pick(countries)
      const [latitude, longitude] = near(cc)
      const urls = pick([['http', 'https'], ['http'], ['https']]).map((s) => `${s}://m${i}.example.org/alpine/`)
      specs.push(mirror(`m${i}`, {
        country: cc,
        latitude,
        longitude,
        urls,
        weight: 1 + Math.floor(r() * 100),
        families: pick([['ipv4', 'ipv6'], ['ipv4', 'ipv6'], ['ipv4'], ['ipv6']] as const),
        asns: r() < 0.2 ? [64500 + Math.floor(r() * 3)] : [],
        enabled: r() < 0.9,
        restrictions: r() < 0.2
          ? pick([{ onlyCountries: [pick(countries)] }, { onlyContinents: [pick(['EU', 'NA', 'AS'] as const)] }, { excludeCountries: [pick(countries)] }])
          : undefined
      }))
    }
    const table = buildTable(specs)
    const policy = { nearKm: pick([0, 300, 800, 3000]) }
    for (let k = 0; k < 20; k++) {
      const cc = r() < 0.1 ? null : pick(countries)
      const c = client(place(cc, near(cc ?? 'DE'), r() < 0.5 ? 64500 + Math.floor(r() * 3) : null), {
        family: r() < 0.5 ? 4 : 6,
        scheme: r() < 0.5 ? 'http' : 'https',
        network: `${round}.${k}.0.0/24`
      })
      const s = select(table, c, policy)
      const tag = `round ${round} client ${k}`
      const rankedIds = ids(s)
      // Every mirror appears exactly once, ranked or excluded, with the right code.
      check([...rankedIds, ...s.excluded.map((e) => e.site.id)].sort().join() === table.mirrors.map((m) => m.id).sort().join(), `${tag}: partition`)
      for (const e of s.excluded) check(expectedCode(e.site, c) === e.code, `${tag}: ${e.site.id} excluded as ${e.code}, expected ${String(expectedCode(e.site, c))}`)
      for (const x of s.ranked) {
        check(expectedCode(x.site, c) === null, `${tag}: ${x.site.id} should have been excluded`)
        check(baseOf(x, c) === (c.scheme === 'https' ? x.site.https : x.site.http ?? x.site.https), `${tag}: ${x.site.id} base ${baseOf(x, c)}`)
      }
      if (s.ranked.length === 0) continue
      // The group comes first and the choice is from the client's country whenever possible.
      const group = s.ranked.filter((x) => x.inGroup)
      check(group.length > 0 && s.ranked.slice(0, group.length).every((x) => x.inGroup), `${tag}: group first`)
      const inCountry = s.ranked.some((x) => x.sameCountry)
      check(!inCountry || group.every((x) => x.sameCountry), `${tag}: group should be in-country`)
      const pool = inCountry ? s.ranked.filter((x) => x.sameCountry) : s.ranked
      const nearest = Math.min(...pool.map((x) => x.distanceKm))
      const nearGroup = pool.filter((x) => x.distanceKm <= nearest + policy.nearKm)
      const asnGroup = nearGroup.filter((x) => c.place.asn !== null && x.site.asns.includes(c.place.asn))
      const want = (asnGroup.length > 0 ? asnGroup : nearGroup).map((x) => x.site.id).sort()
      check(group.map((x) => x.site.id).sort().join() === want.join(), `${tag}: group ${group.map((x) => x.site.id)} expected ${want}`)
      // Alternatives: in-country first, then nearest first.
      const alt = s.ranked.slice(group.length)
      for (let i = 1; i < alt.length; i++) {
        const a = alt[i - 1] as (typeof alt)[number]
        const b = alt[i] as (typeof alt)[number]
        check(Number(a.sameCountry) > Number(b.sameCountry) || (a.sameCountry === b.sameCountry && a.distanceKm <= b.distanceKm), `${tag}: ${a.site.id} before ${b.site.id}`)
      }
    }
  }
  t.same(failures, [], '8000 selections')
})

t.test('a limit ranks the same mirrors as the full ranking, only fewer', async (t) => {
  // The shipped table's shape: many mirrors, several per country, all continents.
  const { loadTableFile } = await import('../../src/config/table-file.js')
  const { DEFAULTS } = await import('../../src/config/schema.js')
  const shipped = await loadTableFile(DEFAULTS.table)
  const countries = [...COUNTRIES.entries()]
  const wrong: string[] = []
  let cut = 0 // limited rankings that are shorter than the full one: where a limit changes anything
  for (let i = 0; i < 400; i++) {
    const [cc, info] = countries[(i * 37) % countries.length] as [string, { continent: Place['continent'], latitude: number, longitude: number }]
    const client: Client = {
      place: { country: cc, continent: info.continent, latitude: info.latitude, longitude: info.longitude, asn: null, source: 'geoip' },
      family: i % 3 === 0 ? 6 : 4,
      scheme: i % 2 === 0 ? 'http' : 'https',
      network: `${i % 250}.${i >> 3}.7.0/24`
    }
    const full = select(shipped, client, POLICY).ranked.map((r) => r.site.id)
    for (const k of [1, 2, 5, 12]) {
      const limited = select(shipped, client, POLICY, undefined, k).ranked.map((r) => r.site.id)
      if (limited.join() !== full.slice(0, k).join()) wrong.push(`${cc} k=${k}: ${limited.join()} vs ${full.slice(0, k).join()}`)
      if (limited.length < full.length) cut++
    }
  }
  t.same(wrong.slice(0, 10), [], 'every limited ranking is the prefix of the full one')
  t.ok(cut >= 1200, `${cut} of the 1600 limited rankings were cut short`)
})
