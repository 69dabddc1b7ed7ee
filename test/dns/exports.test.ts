// The export renderers on fixed endpoint lists: the geodns zone against the structure geodns'
// zone reader (zones/reader.go) accepts and its label lookup (zones/zone.go FindLabels), the
// gdnsd state file parsed back, and then gdnsd itself: checkconf on the generated config, and
// a real gdnsd on loopback reading the state file, answering queries and following changes.

import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Resolver } from 'node:dns/promises'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COUNTRIES } from '../../src/core/countries.js'
import { parseIp } from '../../src/core/ip.js'
import type { Endpoint } from '../../src/dns/endpoints.js'
import { writeAtomic } from '../../src/dns/export-writer.js'
import {
  GEODNS_CONTINENTS, GEODNS_TARGETING, renderGdnsdConfigSnippet, renderGdnsdExtfile, renderGeodnsZone
} from '../../src/dns/exports.js'

t.setTimeout(120_000)

const ep = (id: string, country: string, weight: number, ipv4: readonly string[], ipv6: readonly string[], healthy = true, reason: string | null = null): Endpoint => ({
  id, kind: id.startsWith('i-') ? 'instance' : 'mirror', country, latitude: 0, longitude: 0, weight, ipv4, ipv6,
  healthy, families: { 4: healthy, 6: healthy }, reason: healthy ? null : (reason ?? 'down: connect failed')
})

const ENDPOINTS: readonly Endpoint[] = [
  ep('i-de', 'DE', 10, ['192.0.2.1'], ['2001:db8::1']),
  ep('de-2', 'DE', 30, ['192.0.2.3', '192.0.2.2'], []), // two addresses share the weight: 15 each
  ep('nl-1', 'NL', 10, ['192.0.2.10'], ['2001:db8::10'], false),
  ep('us-1', 'US', 1000, ['192.0.2.20'], ['2001:db8::20']),
  ep('i-au', 'AU', 0.4, [], ['2001:db8::30']), // rounds up to the minimum weight, 1
  ep('fr-1', 'FR', 5, ['192.0.2.40'], [], false, 'drained: kernel upgrade'),
  ep('tr-1', 'TR', 7, ['192.0.2.50'], [])
]
const UNHEALTHY = ['192.0.2.10', '2001:db8::10', '192.0.2.40']
const OPTS = { name: 'dl.example.org', nameservers: ['ns2.example.org', 'ns1.example.org.'], hostmaster: 'hostmaster.example.org', ttl: 60, serial: 1234, maxHosts: 2 }

type Zone = { serial: number, ttl: number, max_hosts: number, contact: string, targeting: string, data: Record<string, Record<string, unknown>> }

// geodns' continent names, exactly as in countries/countries.go (CountryContinent values).
const GEODNS_CONTINENT_NAMES = ['africa', 'antarctica', 'asia', 'europe', 'north-america', 'oceania', 'south-america']
const GEODNS_TARGETS = ['@', 'country', 'continent', 'regiongroup', 'region', 'asn', 'ip'] // targeting.ParseTargets
const GEODNS_RTYPES = ['a', 'aaaa', 'alias', 'cname', 'mx', 'ns', 'txt', 'spf', 'srv', 'ptr', 'max_hosts', 'closest', 'ttl', 'health']

/** What geodns' zone reader would reject or silently mangle, as a list of problems. */
function geodnsProblems (zone: unknown): string[] {
  if (typeof zone !== 'object' || zone === null || Array.isArray(zone)) return ['not a JSON object']
  const problems: string[] = []
  const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v)
  for (const [k, v] of Object.entries(zone)) {
    if (['serial', 'ttl', 'max_hosts'].includes(k) && !isInt(v)) problems.push(`${k} is not an integer`)
    else if (k === 'contact' && typeof v !== 'string') problems.push('contact is not a string')
    else if (k === 'targeting' && (typeof v !== 'string' || !v.split(' ').every((x) => GEODNS_TARGETS.includes(x)))) problems.push('bad targeting')
    else if (!['serial', 'ttl', 'max_hosts', 'contact', 'targeting', 'data', 'closest', 'logging'].includes(k)) problems.push(`unknown key ${k}`)
  }
  const data = ('data' in zone ? zone.data : undefined) as Record<string, Record<string, unknown>> | undefined
  if (data === undefined || typeof data !== 'object') return [...problems, 'no data']
  if (data[''] === undefined) problems.push('no apex label')
  for (const [label, rrs] of Object.entries(data)) {
    if (label !== label.toLowerCase() || label.endsWith('.')) problems.push(`label ${label} not lowercase/relative`)
    for (const [type, v] of Object.entries(rrs)) {
      if (!GEODNS_RTYPES.includes(type)) problems.push(`${label}: unsupported type ${type}`)
      if (type === 'a' || type === 'aaaa') {
        for (const r of v as unknown[]) {
          // getStringWeight: [string, weight]; a float weight is truncated, so it must be an integer.
          if (!Array.isArray(r) || typeof r[0] !== 'string' || !isInt(r[1]) || (r[1] as number) < 0) { problems.push(`${label}: bad ${type} ${JSON.stringify(r)}`); continue }
          const ip = parseIp(r[0])
          if (ip === null || ip.family !== (type === 'a' ? 4 : 6)) problems.push(`${label}: ${r[0]} is not ${type}`)
        }
      }
      if (type === 'ns') {
        const ok = (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === null || x === '')) ||
          (Array.isArray(v) && v.every((x) => typeof x === 'string'))
        if (!ok) problems.push(`${label}: bad ns`)
      }
    }
  }
  return problems
}

/** geodns' FindLabels for the apex: first of country, continent, "" with records of the type. */
function geodnsLookup (zone: Zone, country: string, type: 'a' | 'aaaa'): { label: string, addresses: string[] } | null {
  const continent = GEODNS_CONTINENTS[COUNTRIES.get(country)?.continent ?? 'EU']
  for (const label of [country.toLowerCase(), continent, '']) {
    const rr = zone.data[label]?.[type] as Array<[string, number]> | undefined
    if (rr !== undefined && rr.length > 0) return { label, addresses: rr.map((r) => r[0]) }
  }
  return null
}

t.test('geodns zone: the structure geodns reads, healthy endpoints only', async (t) => {
  const text = renderGeodnsZone(ENDPOINTS, OPTS)
  const zone = JSON.parse(text) as Zone
  t.same(geodnsProblems(zone), [])
  t.equal(zone.serial, 1234)
  t.equal(zone.ttl, 60)
  t.equal(zone.max_hosts, 2)
  t.equal(zone.contact, 'hostmaster.example.org')
  t.equal(zone.targeting, 'country continent @')
  t.equal(GEODNS_TARGETING, 'country continent @')
  t.same(zone.data['']?.ns, { 'ns1.example.org.': null, 'ns2.example.org.': null }, 'NS map syntax, fully qualified, sorted')
  for (const a of UNHEALTHY) t.notOk(text.includes(`"${a}"`), `${a} (unhealthy) appears nowhere`)
  t.ok(text.endsWith('}\n'))
})

t.test('geodns zone: apex, country and continent labels with weights', async (t) => {
  const zone = JSON.parse(renderGeodnsZone(ENDPOINTS, OPTS)) as Zone
  t.same(Object.keys(zone.data).sort(), ['', 'asia', 'au', 'de', 'europe', 'north-america', 'oceania', 'tr', 'us'],
    'nl and fr have no healthy endpoint, so no label; TR is in Asia as in mirrorgate\'s table')
  t.same(zone.data['']?.a, [['192.0.2.1', 10], ['192.0.2.2', 15], ['192.0.2.3', 15], ['192.0.2.20', 1000], ['192.0.2.50', 7]],
    'the apex holds every healthy endpoint, addresses in numeric order')
  t.same(zone.data['']?.aaaa, [['2001:db8::1', 10], ['2001:db8::20', 1000], ['2001:db8::30', 1]])
  t.same(zone.data.de, { a: [['192.0.2.1', 10], ['192.0.2.2', 15], ['192.0.2.3', 15]], aaaa: [['2001:db8::1', 10]] })
  t.same(zone.data.europe, zone.data.de, 'Europe: only the German endpoints are healthy')
  t.same(zone.data['north-america'], { a: [['192.0.2.20', 1000]], aaaa: [['2001:db8::20', 1000]] })
  t.same(zone.data.oceania, { aaaa: [['2001:db8::30', 1]] }, 'an IPv6-only endpoint gives an AAAA-only label')
  t.same(zone.data.asia, { a: [['192.0.2.50', 7]] })
  for (const label of Object.keys(zone.data)) {
    t.ok(label === '' || COUNTRIES.has(label.toUpperCase()) || GEODNS_CONTINENT_NAMES.includes(label), `label "${label}" is a geodns target`)
  }
  t.same(Object.values(GEODNS_CONTINENTS).sort(), GEODNS_CONTINENT_NAMES)
})

t.test('geodns zone: how geodns picks labels for clients', async (t) => {
  const zone = JSON.parse(renderGeodnsZone(ENDPOINTS, OPTS)) as Zone
  t.same(geodnsLookup(zone, 'DE', 'a'), { label: 'de', addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] })
  t.same(geodnsLookup(zone, 'NL', 'a')?.label, 'europe', 'NL is unhealthy: Dutch clients fall back to Europe')
  t.same(geodnsLookup(zone, 'FR', 'aaaa'), { label: 'europe', addresses: ['2001:db8::1'] })
  t.same(geodnsLookup(zone, 'NZ', 'aaaa')?.label, 'oceania')
  t.same(geodnsLookup(zone, 'AU', 'a')?.label, '', 'no IPv4 in Oceania: A queries fall through to the apex')
  t.same(geodnsLookup(zone, 'BR', 'a')?.label, '', 'no South American label: the global fallback')
})

t.test('geodns zone: deterministic bytes', async (t) => {
  const a = renderGeodnsZone(ENDPOINTS, OPTS)
  const shuffled = [...ENDPOINTS].reverse().map((e) => ({ ...e, ipv4: [...e.ipv4].reverse() }))
  t.equal(renderGeodnsZone(shuffled, { ...OPTS, nameservers: [...OPTS.nameservers].reverse() }), a, 'order of input does not matter')
  t.equal(renderGeodnsZone(ENDPOINTS, OPTS), a)
  const b = renderGeodnsZone(ENDPOINTS, { ...OPTS, serial: 1235 })
  t.equal(b.replace('"serial": 1235', '"serial": 1234'), a, 'a new serial changes nothing else')
  t.match(a, /\n {2}"data": \{\n {4}"": \{\n/, 'two-space indents')
  t.match(a, /\n {8}\["192\.0\.2\.1", 10\],\n/, 'one record per line')
})

t.test('geodns zone: no healthy endpoint leaves only the NS records; no contact without hostmaster', async (t) => {
  const zone = JSON.parse(renderGeodnsZone(ENDPOINTS.map((e) => ({ ...e, healthy: false })), { ...OPTS, hostmaster: undefined })) as Zone
  t.same(zone.data, { '': { ns: { 'ns1.example.org.': null, 'ns2.example.org.': null } } })
  t.notOk('contact' in zone, 'geodns then uses hostmaster.<zone>')
  t.same(geodnsProblems(zone), [])
})

/** The state file parsed back: address -> { state, ttl, ids }. Throws on a line it does not expect. */
function parseExtfile (text: string): Map<string, { state: string, ttl: number | null, ids: string[] }> {
  const out = new Map<string, { state: string, ttl: number | null, ids: string[] }>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^"([0-9a-f.:]+)" => (UP|DOWN)(?:\/(\d+))? # ([a-z0-9 -]+)$/.exec(line)
    if (m === null) throw new Error(`unexpected line ${JSON.stringify(line)}`)
    out.set(m[1] as string, { state: m[2] as string, ttl: m[3] === undefined ? null : Number(m[3]), ids: (m[4] as string).split(' ') })
  }
  return out
}

t.test('gdnsd state file: one line per address, UP or DOWN, parsed back', async (t) => {
  const text = renderGdnsdExtfile(ENDPOINTS)
  t.match(text, /^# mirrorgate: /, 'a comment header')
  const states = parseExtfile(text)
  const all = ENDPOINTS.flatMap((e) => [...e.ipv4, ...e.ipv6])
  t.same([...states.keys()].sort(), [...all].sort(), 'every address of every endpoint, healthy or not')
  for (const e of ENDPOINTS) {
    for (const a of [...e.ipv4, ...e.ipv6]) t.same(states.get(a), { state: e.healthy ? 'UP' : 'DOWN', ttl: null, ids: [e.id] }, a)
  }
  t.same([...states.keys()], ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.10', '192.0.2.20', '192.0.2.40', '192.0.2.50',
    '2001:db8::1', '2001:db8::10', '2001:db8::20', '2001:db8::30'], 'numeric order, IPv4 first')
  t.equal(renderGdnsdExtfile([...ENDPOINTS].reverse()), text, 'deterministic')
  t.notOk(text.includes('kernel upgrade'), 'no reasons in the file')

  const withTtl = parseExtfile(renderGdnsdExtfile(ENDPOINTS, { ttl: 90 }))
  t.same(withTtl.get('192.0.2.10'), { state: 'DOWN', ttl: 90, ids: ['nl-1'] })

  // An address two endpoints share is up when either is.
  const shared = parseExtfile(renderGdnsdExtfile([ep('a', 'DE', 1, ['192.0.2.9'], [], false), ep('b', 'DE', 1, ['192.0.2.9'], [])]))
  t.same(shared.get('192.0.2.9'), { state: 'UP', ttl: null, ids: ['a', 'b'] })
})

t.test('gdnsd config snippet: one weighted group per endpoint, every endpoint', async (t) => {
  const conf = renderGdnsdConfigSnippet(ENDPOINTS, { stateFile: '/var/lib/mirrorgate/gdnsd/mirrorgate.state' })
  t.match(conf, /"mirrorgate" => \{ plugin => extfile, file => "\/var\/lib\/mirrorgate\/gdnsd\/mirrorgate\.state", direct => true, def_down => true \}/)
  t.match(conf, /"de-2" => \{ "192\.0\.2\.2" => \[ "192\.0\.2\.2", 15 \], "192\.0\.2\.3" => \[ "192\.0\.2\.3", 15 \] \}/)
  t.match(conf, /"nl-1" => \{ "192\.0\.2\.10" =>/, 'unhealthy endpoints too: health is in the state file')
  t.match(conf, /addrs_v6 => \{\n\s+"i-au" => \{ "2001:db8::30" => \[ "2001:db8::30", 1 \] \}/)
  t.throws(() => renderGdnsdConfigSnippet([], { stateFile: '/x' }), /no endpoint has an address/)
  const many = Array.from({ length: 65 }, (_, i) => ep(`m${i}`, 'DE', 1, [`198.51.100.${i}`], []))
  t.throws(() => renderGdnsdConfigSnippet(many, { stateFile: '/x' }), /65 endpoints with IPv4 addresses; plugin_weighted allows 64/)
  t.throws(() => renderGdnsdConfigSnippet(ENDPOINTS, { stateFile: '/x\n' }), /control character/)
})

// ---- gdnsd itself -------------------------------------------------------------------------

const GDNSD_MISSING = 'gdnsd is not installed; install it (Debian: apt-get install -y gdnsd) to run these checks. CI installs it.'
const hasGdnsd = (): boolean => {
  const r = spawnSync('gdnsd', ['-V'], { encoding: 'utf8' })
  return r.error === undefined
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

interface GdnsdDir { readonly dir: string, readonly state: string, readonly port: number }

/**
 * A gdnsd config folder for the zone dl.example.org served from the rendered files. Not a
 * t.testdir(): gdnsd's control socket path must fit in 108 bytes, so the folder is short.
 */
async function gdnsdDir (t: Test, endpoints: readonly Endpoint[], state?: string): Promise<GdnsdDir> {
  const dir = mkdtempSync(join(tmpdir(), 'mg-gdnsd-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const sub of ['zones', 'run', 'var']) mkdirSync(join(dir, sub))
  const stateFile = join(dir, 'mirrorgate.state')
  const port = await freePort()
  writeFileSync(join(dir, 'mirrorgate.conf'), renderGdnsdConfigSnippet(endpoints, { stateFile }))
  writeFileSync(stateFile, state ?? renderGdnsdExtfile(endpoints))
  writeFileSync(join(dir, 'config'), [
    `options => { listen => [ 127.0.0.1 ], dns_port => ${port}, run_dir => "${join(dir, 'run')}", state_dir => "${join(dir, 'var')}" }`,
    `$include{${join(dir, 'mirrorgate.conf')}}`,
    ''
  ].join('\n'))
  writeFileSync(join(dir, 'zones', 'dl.example.org'), [
    '$TTL 3600',
    '@ SOA ns1.example.org. hostmaster.example.org. 1 3600 600 604800 60',
    '@ NS ns1.example.org.',
    '@ NS ns2.example.org.',
    '@ 60 DYNA weighted!mirrorgate',
    ''
  ].join('\n'))
  return { dir, state: stateFile, port }
}

function checkconf (g: GdnsdDir): { status: number | null, output: string } {
  const r = spawnSync('gdnsd', ['-c', g.dir, 'checkconf'], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

interface Running { readonly log: () => string, readonly states: () => Record<string, { state: string }>, stop (): Promise<void> }

/** Starts gdnsd in the foreground and waits until it answers; stopped at teardown. */
async function startGdnsd (t: Test, g: GdnsdDir): Promise<Running> {
  const child: ChildProcess = spawn('gdnsd', ['-c', g.dir, 'start'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout?.on('data', (c: Buffer) => { log += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { log += c.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  t.teardown(stop)
  const deadline = Date.now() + 20_000
  while (!log.includes('DNS listeners started')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`gdnsd did not start:\n${log}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    log: () => log,
    states: () => {
      const r = spawnSync('gdnsdctl', ['-c', g.dir, 'states'], { encoding: 'utf8', timeout: 10_000 })
      if (r.status !== 0) throw new Error(`gdnsdctl states failed: ${r.stderr}`)
      return JSON.parse(r.stdout) as Record<string, { state: string }>
    },
    stop
  }
}

const resolverFor = (port: number): Resolver => {
  const r = new Resolver({ timeout: 2000, tries: 2 })
  r.setServers([`127.0.0.1:${port}`])
  return r
}

/** Every address gdnsd hands out over `n` queries of each family. */
async function answers (port: number, n: number): Promise<Set<string>> {
  const r = resolverFor(port)
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    for (const a of await r.resolve4('dl.example.org').catch(() => [])) seen.add(a)
    for (const a of await r.resolve6('dl.example.org').catch(() => [])) seen.add(a)
  }
  return seen
}

const stateOf = (states: Record<string, { state: string }>, address: string): string | undefined => states[`${address}/mirrorgate`]?.state

t.test('gdnsd: checkconf accepts the generated config and zone', { skip: false }, async (t) => {
  if (!hasGdnsd()) return t.fail(GDNSD_MISSING)
  const g = await gdnsdDir(t, ENDPOINTS)
  const r = checkconf(g)
  t.equal(r.status, 0, r.output)
  t.match(r.output, /Zone dl\.example\.org\. with serial 1 loaded/)
})

t.test('gdnsd: serves only what the state file says is up, and follows an atomic replace', async (t) => {
  if (!hasGdnsd()) return t.fail(GDNSD_MISSING)
  const g = await gdnsdDir(t, ENDPOINTS)
  const gdnsd = await startGdnsd(t, g)
  const states = gdnsd.states()
  for (const e of ENDPOINTS) {
    for (const a of [...e.ipv4, ...e.ipv6]) t.equal(stateOf(states, a), e.healthy ? 'UP' : 'DOWN', `${a} (${e.id}) as the file says`)
  }
  t.notMatch(gdnsd.log(), /plugin_extfile: .*(ignored|failed|defaulted)/, 'every line read, every resource covered')

  const healthyAddresses = new Set(ENDPOINTS.filter((e) => e.healthy).flatMap((e) => [...e.ipv4, ...e.ipv6]))
  const seen = await answers(g.port, 40)
  t.ok(seen.size > 0, 'gdnsd answers')
  for (const a of seen) t.ok(healthyAddresses.has(a), `${a} answered is healthy`)

  // Health flips: the US endpoint goes down, the Dutch one comes back.
  const flipped = ENDPOINTS.map((e) => (e.id === 'us-1' ? ep('us-1', 'US', 1000, e.ipv4, e.ipv6, false) : e.id === 'nl-1' ? ep('nl-1', 'NL', 10, e.ipv4, e.ipv6) : e))
  await writeAtomic(g.state, renderGdnsdExtfile(flipped))
  const deadline = Date.now() + 30_000
  let now = gdnsd.states()
  while ((stateOf(now, '192.0.2.20') !== 'DOWN' || stateOf(now, '192.0.2.10') !== 'UP') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    now = gdnsd.states()
  }
  t.equal(stateOf(now, '192.0.2.20'), 'DOWN', 'us-1 now DOWN')
  t.equal(stateOf(now, '2001:db8::20'), 'DOWN')
  t.equal(stateOf(now, '192.0.2.10'), 'UP', 'nl-1 now UP')
  // gdnsd publishes state changes to its answers at most once a second: poll until the downed
  // endpoint is gone from a round of answers (10 s at most), then check a full round.
  const gone = (seen: Set<string>): boolean => !seen.has('192.0.2.20') && !seen.has('2001:db8::20')
  for (const until = Date.now() + 10_000; !gone(await answers(g.port, 5)) && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await answers(g.port, 40)
  t.ok(after.size > 0, 'gdnsd still answers')
  t.notOk(after.has('192.0.2.20') || after.has('2001:db8::20'), 'the downed endpoint is no longer answered')
  await gdnsd.stop()
})

t.test('gdnsd: a broken state file passes checkconf but is rejected when gdnsd loads it', async (t) => {
  if (!hasGdnsd()) return t.fail(GDNSD_MISSING)
  const broken = renderGdnsdExtfile(ENDPOINTS).replace('"192.0.2.1" => UP', '"192.0.2.1" => MAYBE')
  const g = await gdnsdDir(t, ENDPOINTS, broken)
  // gdnsd 3.8 does not open extfile data at checkconf; only the config and zones are checked.
  t.equal(checkconf(g).status, 0, 'checkconf does not read the state file')
  const gdnsd = await startGdnsd(t, g)
  t.match(gdnsd.log(), /plugin_extfile: Service type 'mirrorgate': value for '192\.0\.2\.1' in file '[^']+' ignored, must be of the form STATE\[\/TTL\]/)
  t.match(gdnsd.log(), /plugin_extfile: Service type 'mirrorgate': file load failed, no updates applied/)
  const states = gdnsd.states()
  t.equal(stateOf(states, '192.0.2.10'), 'UP', 'nothing from the broken file applied: nl-1 is not DOWN')
  await gdnsd.stop()

  const unknown = await gdnsdDir(t, ENDPOINTS, renderGdnsdExtfile([...ENDPOINTS, ep('extra', 'DE', 1, ['198.51.100.1'], [])]))
  const g2 = await startGdnsd(t, unknown)
  t.match(g2.log(), /entry '198\.51\.100\.1' in file '[^']+' ignored, did not match any configured resource/,
    'an address gdnsd was not configured for is ignored with a warning, the rest applies')
  t.equal(stateOf(g2.states(), '192.0.2.10'), 'DOWN')
  await g2.stop()
})

t.test('a mirror whose IPv6 fails alone: its AAAA leaves the zone, its IPv4 stays; gdnsd marks only the IPv6 address DOWN', async (t) => {
  const dual: Endpoint = { ...ep('cz-1', 'CZ', 10, ['192.0.2.60'], ['2001:db8::60']), families: { 4: true, 6: false } }
  const zone = JSON.parse(renderGeodnsZone([dual], OPTS)) as Zone
  t.same(zone.data.cz, { a: [['192.0.2.60', 10]] }, 'A only')
  const state = renderGdnsdExtfile([dual])
  t.match(state, /"192\.0\.2\.60" => UP # cz-1\n/)
  t.match(state, /"2001:db8::60" => DOWN # cz-1\n/)
})
