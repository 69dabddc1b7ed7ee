// src/dns/responder.ts on a real loopback port, asked with real tools (dig from dnsutils, kdig
// from knot-dnsutils), plus hand-built packets over node:dgram and node:net for what those
// tools will not send. The endpoint directory is real: instance endpoints from the config (one
// with a loopback health URL) and a mirror endpoint from a real Fleet. GeoIP is the embedded
// DB-IP database; endpoint addresses are documentation addresses, only data in the answers.

import t, { type Test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { connect } from 'node:net'
import dnsPacket, { type Answer as DnsAnswer, type DecodedPacket, type OptAnswer, type RecordType } from 'dns-packet'
import { configFromDocument, type Config } from '../../src/config/schema.js'
import { buildTable } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import { Prober } from '../../src/probes/prober.js'
import { DnsResponder } from '../../src/dns/responder.js'
import { Fleet } from '../../src/live/fleet.js'
import { GeoIp } from '../../src/geoip/reader.js'

const NAME = 'dl-cdn.test.example'
// 13 long NS names: the NS answer (about 1 KB) does not fit 512 bytes, but fits 1232.
const NAMESERVERS = Array.from({ length: 13 }, (_, i) => `ns${String(i + 1).padStart(2, '0')}.a-rather-long-nameserver-label-for-tests.example`)
const DERIVED_TTL = 7 // probes every 10 s, a 1 s timeout, down after 3 failures 0.5 s apart: (10 + 1 + 2 * 1.5) / 2

// Stable DB-IP answers (see test/geoip/reader.test.ts).
const GERMAN = '85.214.132.0/24' // 85.214.132.117 DE
const BRITISH = '81.2.69.0/24' // 81.2.69.142 GB
const JAPANESE = '202.12.27.0/24' // 202.12.27.33 JP
const AUSTRALIAN = '1.1.1.0/24' // 1.1.1.1 AU

const DE = '192.0.2.10'
const JP = '192.0.2.20'
const GB = '192.0.2.30'
const AU = '198.51.100.40'

// ---------------------------------------------------------------------------------------------
// dig and kdig

function tool (name: string, pkg: string): string {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'pipe' })
    return name
  } catch {
    throw new Error(`${name} is required for the DNS tests: apt-get install -y ${pkg}`)
  }
}
const DIG = tool('dig', 'dnsutils')
const KDIG = tool('kdig', 'knot-dnsutils')

interface Rr { readonly name: string, readonly ttl: number, readonly type: string, readonly data: string }
interface Answer {
  readonly text: string
  readonly status: string
  readonly flags: readonly string[]
  readonly question: string
  readonly answer: readonly Rr[]
  readonly authority: readonly Rr[]
  /** The OPT pseudosection was printed. */
  readonly edns: boolean
  /** The echoed client subnet, e.g. 85.214.132.0/24/24, or null. */
  readonly subnet: string | null
}

/** Parses dig and kdig output (their layouts differ in punctuation only). */
function parseOutput (text: string): Answer {
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? 'NO-REPLY'
  const flags = (/;; [Ff]lags: ([a-z ]*)[;:]/.exec(text)?.[1] ?? '').trim().split(/\s+/).filter((f) => f !== '')
  const section = (title: string): Rr[] => {
    const start = text.indexOf(`;; ${title} SECTION:`)
    if (start < 0) return []
    const lines = text.slice(start).split('\n').slice(1)
    const out: Rr[] = []
    for (const line of lines) {
      if (line.trim() === '' || line.startsWith(';;')) break
      const [name, ttl, , type, ...data] = line.trim().split(/\s+/)
      out.push({ name: name as string, ttl: Number(ttl), type: type as string, data: data.join(' ') })
    }
    return out
  }
  const qline = /;; QUESTION SECTION:\n;(\S+)/.exec(text)
  return {
    text,
    status,
    flags,
    question: qline?.[1] ?? '',
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    edns: /OPT PSEUDOSECTION|EDNS PSEUDOSECTION/.test(text),
    subnet: /CLIENT-SUBNET: (\S+)/.exec(text)?.[1] ?? null
  }
}

function run (cmd: string, args: string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      // dig exits 9 on no reply; the parsed status then says NO-REPLY.
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') reject(err)
      else resolve(parseOutput(stdout + stderr))
    })
  })
}

const dig = (port: number, ...args: string[]): Promise<Answer> =>
  run(DIG, ['@127.0.0.1', '-p', String(port), '+norecurse', '+tries=1', '+time=3', ...args])
const kdig = (port: number, ...args: string[]): Promise<Answer> =>
  run(KDIG, ['@127.0.0.1', '-p', String(port), '+norecurse', '+retry=0', '+time=3', ...args])

const addresses = (a: Answer): string[] => a.answer.map((r) => r.data)

// ---------------------------------------------------------------------------------------------
// raw packets

/** Sends bytes over UDP; resolves with the reply, or null when none comes within `waitMs`. */
function udp (port: number, bytes: Uint8Array, waitMs = 1000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const timer = setTimeout(() => { s.close(); resolve(null) }, waitMs)
    s.on('message', (msg) => { clearTimeout(timer); s.close(); resolve(msg) })
    s.send(bytes, port, '127.0.0.1')
  })
}

/** Writes the chunks (with a pause between them) on one TCP connection; collects `count` framed replies. */
function tcp (port: number, chunks: Uint8Array[], count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const replies: Buffer[] = []
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`only ${replies.length} of ${count} TCP replies`)) }, 5000)
    socket.on('data', (c) => {
      buf = Buffer.concat([buf, c])
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)))
        buf = buf.subarray(2 + buf.readUInt16BE(0))
      }
      if (replies.length >= count) { clearTimeout(timer); socket.end(); resolve(replies) }
    })
    socket.on('error', reject)
    void (async () => {
      for (const c of chunks) {
        socket.write(c)
        await new Promise((r) => setTimeout(r, 30))
      }
    })()
  })
}

const frame = (msg: Uint8Array): Buffer => {
  const b = Buffer.alloc(2 + msg.length)
  b.writeUInt16BE(msg.length, 0)
  b.set(msg, 2)
  return b
}

/** An EDNS option as it goes on the wire: any code, any bytes (malformed ones included). */
interface RawOption { readonly code: number, readonly data: Buffer }

/**
 * An OPT record (RFC 6891: root name, type 41, UDP size 1232, no extended rcode, version 0,
 * no flags) holding `options` as given. The bytes dns-packet writes for the same record; built
 * here because dns-packet's types admit only the options it can compose itself.
 */
function optRecord (options: readonly RawOption[]): Buffer {
  const rdata = Buffer.concat(options.map((o) => {
    const head = Buffer.alloc(4)
    head.writeUInt16BE(o.code, 0)
    head.writeUInt16BE(o.data.length, 2)
    return Buffer.concat([head, o.data])
  }))
  const fixed = Buffer.alloc(11) // name '.', type, class (UDP size), TTL (rcode, version, flags), rdlength
  fixed.writeUInt16BE(41, 1)
  fixed.writeUInt16BE(1232, 3)
  fixed.writeUInt16BE(rdata.length, 9)
  return Buffer.concat([fixed, rdata])
}

/** A query built with dns-packet; `options` go into an OPT record (no OPT when undefined). */
function query (name: string, type: RecordType, options?: readonly RawOption[], id = 4242): Buffer {
  const msg = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type, name }] })
  if (options === undefined) return msg
  const withOpt = Buffer.concat([msg, optRecord(options)])
  withOpt.writeUInt16BE(1, 10) // ARCOUNT
  return withOpt
}

/** An OPT record with no options, as dns-packet takes it. */
const EMPTY_OPT: OptAnswer = { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }

const rcodeOf = (b: Buffer): number => b.readUInt16BE(2) & 0xf

/** dns-packet's decoding, with the sections these tests read always present, and the rcode. */
type Decoded = DecodedPacket & { readonly rcode: string, readonly answers: DnsAnswer[], readonly additionals: DnsAnswer[] }
const decode = (b: Buffer): Decoded => {
  const d = dnsPacket.decode(b)
  // dns-packet decodes the rcode as a name; its types leave the field out.
  const rcode = 'rcode' in d && typeof d.rcode === 'string' ? d.rcode : `no rcode decoded (${rcodeOf(b)})`
  return { ...d, rcode, answers: d.answers ?? [], additionals: d.additionals ?? [] }
}
const isOpt = (a: DnsAnswer): a is OptAnswer => a.type === 'OPT'
/** A record's data (an address for A and AAAA); an OPT record has none. */
const dataOf = (a: DnsAnswer | undefined): unknown => (a === undefined || isOpt(a) ? undefined : a.data)

// ---------------------------------------------------------------------------------------------
// the service under test

interface Setup {
  readonly config: Config
  readonly port: number
  readonly responder: DnsResponder
  readonly directory: EndpointDirectory
  /** The one prober, here checking only the endpoints' health URLs (mirror probes are off). */
  readonly prober: Prober
  readonly fleet: Fleet
  readonly counted: Array<[string, string, boolean]>
  /** Switches the GB instance's health URL between 200 and 503. */
  setGbHealthy (ok: boolean): void
}

async function healthServer (t: Test): Promise<{ url: string, set (ok: boolean): void }> {
  let ok = true
  const server: HttpServer = createHttpServer((_req, res) => { res.statusCode = ok ? 200 : 503; res.end() })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/readyz`, set: (v) => { ok = v } }
}

function dnsDoc (endpoints: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    // The resolver (127.0.0.1) cannot be located, so clients without a usable ECS are placed at
    // this instance's region: Tokyo, to tell them apart from the German ECS clients.
    instance: { id: 'test-tokyo', region: 'ap-northeast', country: 'JP', latitude: 35.68, longitude: 139.69 },
    probes: { enabled: false, intervalSeconds: 10, jitter: 0, timeoutSeconds: 1, retrySeconds: 0.5, failuresToDown: 3, passesToUp: 1 },
    dns: { enabled: true, name: NAME, host: '127.0.0.1', port: 0, answers: 2, nameservers: NAMESERVERS, hostmaster: 'hostmaster.test.example', endpoints, ...extra }
  }
}

let geoip: GeoIp | null = null
const sharedGeoIp = (config: Config): GeoIp => (geoip ??= new GeoIp(config.geoip.databases, config.instance, 1000))

async function start (t: Test, doc: Record<string, unknown>, mirrors = buildTable([])): Promise<Omit<Setup, 'setGbHealthy'>> {
  const config = configFromDocument(doc, 'test', process.cwd())
  const fleet = new Fleet(mirrors, { ...config.probes, ...config.freshness })
  const directory = new EndpointDirectory(config.dns, config.selection, fleet)
  const prober = new Prober(fleet, config.probes, { endpoints: config.dns.endpoints })
  const counted: Array<[string, string, boolean]> = []
  const responder = new DnsResponder({
    config, directory, geoip: sharedGeoIp(config), onQuery: (rcode, qtype, ecs) => { counted.push([rcode, qtype, ecs]) }
  })
  const { udpPort, tcpPort } = await responder.listen()
  t.equal(udpPort, tcpPort, 'UDP and TCP share the port')
  t.equal(responder.port, udpPort)
  t.teardown(() => responder.close())
  return { config, port: udpPort, responder, directory, prober, fleet, counted }
}

async function main (t: Test): Promise<Setup> {
  const health = await healthServer(t)
  const endpoints = [
    { id: 'de-1', country: 'DE', latitude: 50.11, longitude: 8.68, addresses: [DE, '2001:db8::10'] },
    { id: 'jp-1', country: 'JP', latitude: 35.68, longitude: 139.69, addresses: [JP, '2001:db8::20'] },
    { id: 'gb-1', country: 'GB', latitude: 51.51, longitude: -0.13, addresses: [GB, '192.0.2.31'], health: health.url }
  ]
  const mirrors = buildTable([{
    id: 'mirror-au', name: 'Sydney mirror', tier: 'community', urls: ['http://mirror-au.test.invalid/alpine/'],
    country: 'AU', latitude: -33.87, longitude: 151.21, weight: 1, families: ['ipv4', 'ipv6'], enabled: true,
    dnsNames: [NAME], addresses: [AU, '2001:db8::40']
  }])
  const s = await start(t, dnsDoc(endpoints), mirrors)
  await s.prober.probeEndpoints()
  return { ...s, setGbHealthy: health.set }
}

// ---------------------------------------------------------------------------------------------

t.test('A and AAAA by ECS location, scope in the echoed subnet', async (t) => {
  const s = await main(t)
  const de = await dig(s.port, NAME, 'A', `+subnet=${GERMAN}`)
  t.equal(de.status, 'NOERROR')
  t.ok(de.flags.includes('aa'), 'authoritative')
  t.notOk(de.flags.includes('ra'), 'no recursion offered')
  t.equal(de.answer.length, 2, 'dns.answers addresses')
  t.equal(de.answer[0]?.data, DE, 'a German subnet gets the German endpoint first')
  t.not(de.answer[1]?.data, '192.0.2.11', 'second answer is another endpoint, not a second address of the first')
  t.equal(de.subnet, `${GERMAN}/24`, 'family, source and address echoed; scope /24')
  t.equal(de.answer[0]?.ttl, DERIVED_TTL, 'TTL derived from the probe interval and failures-to-down')

  const jp = await kdig(s.port, NAME, 'A', `+subnet=${JAPANESE}`)
  t.equal(jp.status, 'NOERROR')
  t.equal(jp.answer[0]?.data, JP, 'a Japanese subnet gets the Japanese endpoint first')
  t.equal(jp.subnet, `${JAPANESE}/24`)

  const au = await dig(s.port, NAME, 'A', `+subnet=${AUSTRALIAN}`)
  t.equal(au.answer[0]?.data, AU, 'an Australian subnet gets the Sydney mirror')

  const gb = await dig(s.port, NAME, 'A', `+subnet=${BRITISH}`)
  t.same(addresses(gb), [GB, DE], 'one address per endpoint first: GB, then the next nearest endpoint')

  const v6 = await dig(s.port, NAME, 'AAAA', '+subnet=2a01:4f8::/32')
  t.equal(v6.status, 'NOERROR')
  t.equal(v6.answer[0]?.type, 'AAAA')
  t.equal(v6.answer[0]?.data, '2001:db8::10', 'an IPv6 German subnet gets the German endpoint')
  t.equal(v6.subnet, '2a01:4f8::/32/32', 'scope never exceeds the source prefix')
  t.notOk(v6.answer.some((r) => r.data.startsWith('192.')), 'only AAAA records')

  const long = await dig(s.port, NAME, 'AAAA', '+subnet=2a01:4f8:1:2::/64')
  t.equal(long.subnet, '2a01:4f8:1:2::/64/48', 'IPv6 answers hold for a /48')
  const full = await dig(s.port, NAME, 'A', '+subnet=85.214.132.117/32')
  t.equal(full.subnet, '85.214.132.117/32/24', 'IPv4 answers hold for a /24')
  t.equal(full.answer[0]?.data, DE)
})

t.test('without a usable ECS: answer by the resolver, scope 0', async (t) => {
  const s = await main(t)
  const none = await dig(s.port, NAME, 'A')
  t.equal(none.answer[0]?.data, JP, 'the resolver (loopback) is placed at the instance region, Tokyo')
  t.equal(none.subnet, null, 'no ECS asked, none echoed')
  t.ok(none.edns, 'dig sends EDNS by default; the response has an OPT')

  for (const subnet of ['10.1.2.0/24', '192.168.7.0/24', '127.0.0.0/8', 'fd12:3456:789a::/48', '0.0.0.0/0']) {
    const r = await dig(s.port, NAME, 'A', `+subnet=${subnet}`)
    t.equal(r.status, 'NOERROR', subnet)
    t.equal(r.answer[0]?.data, JP, `${subnet}: answered by resolver address`)
    t.equal(r.subnet, `${subnet}/0`, `${subnet}: echoed with scope 0`)
  }

  const plain = await dig(s.port, NAME, 'A', '+noedns')
  t.equal(plain.status, 'NOERROR')
  t.notOk(plain.edns, 'no EDNS in the query, no OPT in the response')
  t.equal(plain.answer[0]?.data, JP)
})

t.test('0x20: the question and owner names come back in the case asked', async (t) => {
  const s = await main(t)
  const mixed = 'Dl-CdN.tEsT.ExAmPlE'
  const r = await dig(s.port, mixed, 'A', `+subnet=${GERMAN}`)
  t.equal(r.status, 'NOERROR')
  t.equal(r.question, `${mixed}.`)
  t.equal(r.answer[0]?.name, `${mixed}.`)
  t.equal(r.answer[0]?.data, DE)
  // kdig lowercases names before sending; dig sends them as typed.
  const upper = await dig(s.port, NAME.toUpperCase(), 'SOA')
  t.equal(upper.status, 'NOERROR')
  t.equal(upper.answer[0]?.name, `${NAME.toUpperCase()}.`)
})

t.test('SOA, NS, ANY at the apex; NODATA, NXDOMAIN, REFUSED', async (t) => {
  const s = await main(t)
  const soa = await dig(s.port, NAME, 'SOA')
  t.equal(soa.status, 'NOERROR')
  t.ok(soa.flags.includes('aa'))
  t.equal(soa.answer.length, 1)
  const [mname, rname, serial, refresh, retry, expire, minimum] = (soa.answer[0]?.data ?? '').split(' ')
  t.equal(mname, `${NAMESERVERS[0]}.`)
  t.equal(rname, 'hostmaster.test.example.')
  t.equal(Number(serial), s.responder.zone.serial)
  t.ok(Number(refresh) > 0 && Number(retry) > 0 && Number(expire) > Number(refresh))
  t.equal(Number(minimum), DERIVED_TTL, 'MINIMUM is the negative TTL, the same as the answer TTL')

  const ns = await dig(s.port, NAME, 'NS', '+tcp')
  t.equal(ns.status, 'NOERROR')
  t.same(ns.answer.map((r) => r.data).sort(), NAMESERVERS.map((n) => `${n}.`).sort())

  const any = await dig(s.port, NAME, 'ANY')
  t.equal(any.status, 'NOERROR', 'ANY gets a minimal answer (RFC 8482), not NOTIMP')
  t.same(any.answer.map((r) => r.type), ['SOA'])

  for (const type of ['MX', 'TXT', 'CAA', 'HTTPS', 'CNAME']) {
    const r = await dig(s.port, NAME, type, `+subnet=${GERMAN}`)
    t.equal(r.status, 'NOERROR', `${type}: NODATA`)
    t.equal(r.answer.length, 0, `${type}: no answer`)
    t.same(r.authority.map((a) => a.type), ['SOA'], `${type}: SOA in authority`)
    t.equal(r.authority[0]?.name, `${NAME}.`)
    t.equal(r.subnet, `${GERMAN}/0`, `${type}: did not depend on the subnet`)
  }

  for (const name of [`nope.${NAME}`, `a.b.${NAME}`, `zz.${NAME}`, `www.DE.${NAME}`]) {
    const r = await dig(s.port, name, 'A', `+subnet=${GERMAN}`)
    t.equal(r.status, 'NXDOMAIN', name)
    t.ok(r.flags.includes('aa'), `${name}: authoritative`)
    t.same(r.authority.map((a) => a.type), ['SOA'], `${name}: SOA in authority`)
    t.equal(r.authority[0]?.name, `${NAME}.`, `${name}: the SOA is the apex's`)
    t.equal(r.authority[0]?.ttl, DERIVED_TTL)
    t.equal(r.subnet, `${GERMAN}/0`)
  }

  for (const name of ['example.org', 'test.example', `x${NAME}`, 'alpinelinux.org', '.']) {
    const r = await dig(s.port, name, 'A', `+subnet=${GERMAN}`)
    t.equal(r.status, 'REFUSED', `${name}: outside the zone`)
    t.notOk(r.flags.includes('aa'), `${name}: not authoritative`)
    t.equal(r.answer.length + r.authority.length, 0)
  }
  const chaos = await dig(s.port, 'version.bind', 'TXT', '-c', 'CH')
  t.equal(chaos.status, 'REFUSED', 'class CH is not served')
  const axfr = await dig(s.port, NAME, 'AXFR', '+tcp')
  t.match(axfr.text, /Transfer failed|REFUSED/, 'no zone transfers')
})

t.test('region hints: continent and country labels pin the place', async (t) => {
  const s = await main(t)
  const de = await dig(s.port, `de.${NAME}`, 'A', `+subnet=${JAPANESE}`)
  t.equal(de.status, 'NOERROR')
  t.equal(de.answer[0]?.data, DE, 'de.<name>: the German endpoint, whoever asks')
  t.equal(de.answer[0]?.name, `de.${NAME}.`)
  t.equal(de.subnet, `${JAPANESE}/24`, 'stickiness still hashes the client network')
  const jp = await dig(s.port, `JP.${NAME}`, 'A', `+subnet=${GERMAN}`)
  t.equal(jp.answer[0]?.data, JP)
  const au = await dig(s.port, `au.${NAME}`, 'AAAA')
  t.equal(au.answer[0]?.data, '2001:db8::40')
  const oc = await dig(s.port, `oc.${NAME}`, 'A')
  t.equal(oc.answer[0]?.data, AU, 'oc: Oceania')
  const eu = await dig(s.port, `eu.${NAME}`, 'A', `+subnet=${JAPANESE}`)
  t.ok([DE, GB].includes(eu.answer[0]?.data ?? ''), 'eu: a European endpoint')
  const as = await dig(s.port, `as.${NAME}`, 'A', `+subnet=${GERMAN}`)
  t.equal(as.answer[0]?.data, JP, 'as: Asia (the continent wins over American Samoa)')
  const hinfo = await dig(s.port, `de.${NAME}`, 'ANY')
  t.same(hinfo.answer.map((r) => r.type), ['HINFO'])
  t.match(hinfo.answer[0]?.data ?? '', /RFC8482/)
  const mx = await dig(s.port, `de.${NAME}`, 'MX')
  t.equal(mx.status, 'NOERROR')
  t.equal(mx.answer.length, 0)
  t.same(mx.authority.map((a) => a.type), ['SOA'])
  const soa = await dig(s.port, `de.${NAME}`, 'SOA')
  t.equal(soa.answer.length, 0, 'the SOA lives at the apex only')
})

t.test('EDNS: version > 0 gets BADVERS; OPT advertises 1232', async (t) => {
  const s = await main(t)
  const r = await dig(s.port, NAME, 'A', '+edns=1', '+noednsnegotiation')
  t.equal(r.status, 'BADVERS')
  t.match(r.text, /udp: 1232/)
  t.equal(r.answer.length, 0)
  const k = await kdig(s.port, NAME, 'A', '+edns=0')
  t.match(k.text, /UDP size: 1232 B/)
})

t.test('malformed ECS is a FORMERR; other broken packets FORMERR, NOTIMP or nothing', async (t) => {
  const s = await main(t)
  const ecs = (bytes: number[]): Buffer => query(NAME, 'A', [{ code: 8, data: Buffer.from(bytes) }])
  const cases: Array<[string, number[]]> = [
    ['unknown family', [0, 3, 24, 0, 85, 214, 132]],
    ['source prefix /33', [0, 1, 33, 0, 85, 214, 132, 117, 0]],
    ['IPv6 source prefix /129', [0, 2, 129, 0, ...new Array(17).fill(0)]],
    ['address longer than the prefix', [0, 1, 24, 0, 85, 214, 132, 117]],
    ['address shorter than the prefix', [0, 1, 24, 0, 85, 214]],
    ['bits beyond the prefix', [0, 1, 20, 0, 85, 214, 132]],
    ['non-zero scope in a query', [0, 1, 24, 24, 85, 214, 132]],
    ['too short', [0, 1]]
  ]
  for (const [name, bytes] of cases) {
    const reply = await udp(s.port, ecs(bytes))
    t.ok(reply !== null, `${name}: answered`)
    if (reply === null) continue
    const d = decode(reply)
    t.equal(d.rcode, 'FORMERR', name)
    t.equal(d.id, 4242, `${name}: same id`)
    const opt = d.additionals.find(isOpt)
    t.ok(opt !== undefined, `${name}: OPT in the response`)
    t.same(opt?.options ?? [], [], `${name}: no subnet echoed`)
    t.equal(d.answers.length, 0)
  }
  const good = await udp(s.port, ecs([0, 1, 24, 0, 85, 214, 132]))
  t.equal(decode(good as Buffer).rcode, 'NOERROR', 'the same option, well formed, is fine')
  t.equal(dataOf(decode(good as Buffer).answers[0]), DE)

  const two = dnsPacket.encode({
    type: 'query', id: 7, questions: [{ type: 'A', name: NAME }, { type: 'AAAA', name: NAME }]
  })
  t.equal(rcodeOf(await udp(s.port, two) as Buffer), 1, 'two questions: FORMERR')
  const none = dnsPacket.encode({ type: 'query', id: 7, questions: [] })
  t.equal(rcodeOf(await udp(s.port, none) as Buffer), 1, 'no question: FORMERR')
  const cut = query(NAME, 'A').subarray(0, 20)
  t.equal(rcodeOf(await udp(s.port, cut) as Buffer), 1, 'question cut short: FORMERR')
  const twoOpts = dnsPacket.encode({
    type: 'query', id: 7, questions: [{ type: 'A', name: NAME }],
    additionals: [EMPTY_OPT, EMPTY_OPT]
  })
  t.equal(rcodeOf(await udp(s.port, twoOpts) as Buffer), 1, 'two OPT records: FORMERR')

  const notify = query(NAME, 'SOA')
  notify.writeUInt16BE(4 << 11, 2) // opcode NOTIFY
  const notimp = await udp(s.port, notify) as Buffer
  t.equal(rcodeOf(notimp), 4, 'opcode NOTIFY: NOTIMP')
  t.equal((notimp.readUInt16BE(2) >> 11) & 0xf, 4, 'opcode echoed')

  t.equal(await udp(s.port, Buffer.from([1, 2, 3, 4, 5]), 300), null, 'shorter than a header: no reply')
  t.equal(await udp(s.port, Buffer.alloc(11), 300), null, '11 bytes: no reply')
  const response = query(NAME, 'A')
  response.writeUInt16BE(0x8000, 2)
  t.equal(await udp(s.port, response, 300), null, 'a response (QR set): no reply')

  const pointer = Buffer.concat([Buffer.from([0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])])
  t.equal(rcodeOf(await udp(s.port, pointer) as Buffer), 1, 'compression pointer in the question: FORMERR')
})

t.test('truncation: TC over UDP when the answer does not fit, the full answer over TCP', async (t) => {
  const s = await main(t)
  const plain = await dig(s.port, NAME, 'NS', '+noedns', '+ignore')
  t.equal(plain.status, 'NOERROR')
  t.ok(plain.flags.includes('tc'), 'no EDNS: 512 bytes, TC set')
  t.equal(plain.answer.length, 0, 'no partial answer')
  const small = await kdig(s.port, NAME, 'NS', '+notcp', '+ignore', '+bufsize=512')
  t.ok(small.flags.includes('tc'), 'EDNS with 512 bytes: TC set')
  const tiny = await kdig(s.port, NAME, 'NS', '+notcp', '+ignore', '+bufsize=100')
  t.ok(tiny.flags.includes('tc'), 'an advertised size below 512 counts as 512')
  const big = await dig(s.port, NAME, 'NS', '+bufsize=4096', '+ignore')
  t.notOk(big.flags.includes('tc'), 'EDNS 4096 (we use 1232): fits')
  t.equal(big.answer.length, 13)
  const over = await kdig(s.port, NAME, 'NS', '+tcp')
  t.notOk(over.flags.includes('tc'))
  t.equal(over.answer.length, 13, 'TCP: all 13 NS records')
  const retried = await dig(s.port, NAME, 'NS', '+noedns')
  t.equal(retried.answer.length, 13, 'dig retries over TCP on TC and gets everything')
})

t.test('eight AAAA answers fit in 512 bytes thanks to name compression', async (t) => {
  const endpoints = Array.from({ length: 10 }, (_, i) => ({
    id: `e${i}`, country: 'DE', latitude: 50 + i / 10, longitude: 8, addresses: [`192.0.2.${i + 1}`, `2001:db8::${i + 1}`]
  }))
  const s = await start(t, dnsDoc(endpoints, { answers: 8, name: `a-long-label-to-make-every-owner-name-long.${NAME}` }))
  const r = await dig(s.port, `a-long-label-to-make-every-owner-name-long.${NAME}`, 'AAAA', '+noedns', '+ignore')
  t.notOk(r.flags.includes('tc'))
  t.equal(r.answer.length, 8)
  t.equal(new Set(addresses(r)).size, 8, 'eight distinct endpoints')
})

t.test('TCP: several queries per connection, split and coalesced frames', async (t) => {
  const s = await main(t)
  const q1 = frame(query(NAME, 'A', [{ code: 8, data: Buffer.from([0, 1, 24, 0, 85, 214, 132]) }], 1))
  const q2 = frame(query(NAME, 'AAAA', undefined, 2))
  const q3 = frame(query(`nope.${NAME}`, 'A', undefined, 3))
  // q1 and half of q2 in one write, the rest of q2 and q3 in the next.
  const all = Buffer.concat([q1, q2, q3])
  const cut = q1.length + 7
  const replies = await tcp(s.port, [all.subarray(0, 1), all.subarray(1, cut), all.subarray(cut)], 3)
  const decoded = replies.map((r) => decode(r))
  t.same(decoded.map((d) => d.id), [1, 2, 3], 'answered in order')
  t.equal(dataOf(decoded[0]?.answers[0]), DE)
  t.equal(decoded[1]?.answers[0]?.type, 'AAAA')
  t.equal(decoded[2]?.rcode, 'NXDOMAIN')
  const zero = await tcp(s.port, [Buffer.from([0, 0]), q2], 1)
  t.equal(decode(zero[0] as Buffer).id, 2, 'an empty frame is skipped, the connection goes on')
})

t.test('failover: an unhealthy nearest endpoint drops out of the next answer', async (t) => {
  const s = await main(t)
  const before = s.responder.zone.serial

  const au1 = await dig(s.port, NAME, 'A', `+subnet=${AUSTRALIAN}`)
  t.equal(au1.answer[0]?.data, AU)
  s.fleet.drain('mirror-au', null, 'test: maintenance')
  const au2 = await dig(s.port, NAME, 'A', `+subnet=${AUSTRALIAN}`)
  t.notOk(addresses(au2).includes(AU), 'the drained mirror is no longer handed out')
  t.equal(au2.answer[0]?.data, JP, 'Sydney falls over to the next nearest, Tokyo')
  t.ok(s.responder.zone.serial > before, 'the SOA serial moved with the answer set')

  const gb1 = await dig(s.port, NAME, 'A', `+subnet=${BRITISH}`)
  t.equal(gb1.answer[0]?.data, GB)
  s.setGbHealthy(false)
  for (let i = 0; i < 3; i++) await s.prober.probeEndpoints() // failuresToDown
  t.equal(s.directory.get('gb-1')?.healthy, false)
  const gb2 = await dig(s.port, NAME, 'A', `+subnet=${BRITISH}`)
  t.equal(gb2.answer[0]?.data, DE, 'London falls over to Frankfurt')
  t.notOk(addresses(gb2).includes(GB))
  s.setGbHealthy(true)
  await s.prober.probeEndpoints()
  const gb3 = await dig(s.port, NAME, 'A', `+subnet=${BRITISH}`)
  t.equal(gb3.answer[0]?.data, GB, 'and comes back once healthy')
})

t.test('no healthy endpoint of the family: NODATA with the SOA, not SERVFAIL', async (t) => {
  const s = await start(t, dnsDoc([{ id: 'v4-only', country: 'DE', latitude: 50, longitude: 8, addresses: [DE] }]))
  const r = await dig(s.port, NAME, 'AAAA', `+subnet=${GERMAN}`)
  t.equal(r.status, 'NOERROR')
  t.equal(r.answer.length, 0)
  t.same(r.authority.map((a) => a.type), ['SOA'])
  t.equal(r.subnet, `${GERMAN}/0`)
  const a = await dig(s.port, NAME, 'A', `+subnet=${GERMAN}`)
  t.same(addresses(a), [DE], 'one endpoint, one address')

  const empty = await start(t, dnsDoc([]))
  const e = await kdig(empty.port, NAME, 'A')
  t.equal(e.status, 'NOERROR')
  t.equal(e.answer.length, 0)
  t.same(e.authority.map((x) => x.type), ['SOA'])
})

t.test('configured TTL wins over the derived one', async (t) => {
  const s = await start(t, dnsDoc([{ id: 'de-1', country: 'DE', latitude: 50, longitude: 8, addresses: [DE] }], { ttl: 42 }))
  const r = await dig(s.port, NAME, 'A')
  t.equal(r.answer[0]?.ttl, 42)
  const n = await dig(s.port, `nope.${NAME}`, 'A')
  t.equal(n.authority[0]?.ttl, 42)
})

t.test('random and mutated packets never crash it; counters see every message', async (t) => {
  const s = await main(t)
  let seed = 12345
  const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
  const base = query(NAME, 'A', [{ code: 8, data: Buffer.from([0, 1, 24, 0, 85, 214, 132]) }])
  const sock = createSocket('udp4')
  let replies = 0
  sock.on('message', () => { replies++ })
  const sent = 3000
  const counted0 = s.counted.length
  for (let i = 0; i < sent; i++) {
    let p: Buffer
    if (i % 2 === 0) {
      p = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)))
    } else {
      p = Buffer.from(base)
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) p[2 + Math.floor(rand() * (p.length - 2))] = Math.floor(rand() * 256)
      if (rand() < 0.3) p = p.subarray(0, Math.floor(rand() * p.length))
    }
    sock.send(p, s.port, '127.0.0.1')
    // Paced (20 in flight), so the kernel's receive buffers drop none of them.
    if (i % 20 === 19) {
      const deadline = Date.now() + 1000
      while (s.counted.length < counted0 + i + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1))
    }
  }
  // Until the last packets are counted (5 s at most; the equality below then says what is missing).
  for (const deadline = Date.now() + 5000; s.counted.length < counted0 + sent && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 5))
  sock.close()
  t.ok(replies > 0, `${replies} replies to ${sent} junk packets`)
  t.equal(s.counted.length - counted0, sent, 'every message was counted, answered or not')
  const after = await dig(s.port, NAME, 'A', `+subnet=${GERMAN}`)
  t.equal(after.answer[0]?.data, DE, 'still answering')
  const rcodes = new Set(s.counted.map(([r]) => r))
  t.ok(rcodes.has('DROPPED') && rcodes.has('FORMERR'), `outcomes seen: ${[...rcodes].join(' ')}`)
  t.notOk(rcodes.has('SERVFAIL'), 'no internal faults')
})

t.test('the zone alone: 60,000 mutated queries, never a throw, every reply well formed', async (t) => {
  const s = await main(t)
  const source = { family: 4 as const, bytes: new Uint8Array([127, 0, 0, 1]) }
  const seeds = [
    query(NAME, 'A', [{ code: 8, data: Buffer.from([0, 1, 24, 0, 85, 214, 132]) }]),
    query(NAME, 'AAAA', [{ code: 8, data: Buffer.from([0, 2, 56, 0, 0x2a, 1, 4, 0xf8, 0, 0, 0]) }]),
    query(`de.${NAME}`, 'A', [{ code: 10, data: Buffer.alloc(8) }, { code: 8, data: Buffer.from([0, 1, 16, 0, 81, 2]) }]),
    query(NAME, 'NS'),
    query(`x.${NAME}`, 'SOA', [])
  ]
  let seed = 99
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  let replies = 0
  let bad = 0
  for (let i = 0; i < 60_000; i++) {
    let p = Buffer.from(seeds[i % seeds.length] as Buffer)
    for (let k = 0, n = 1 + rand(6); k < n; k++) p[rand(p.length)] = rand(256)
    if (rand(4) === 0) p = p.subarray(0, rand(p.length + 1))
    if (rand(8) === 0) p = Buffer.concat([p, Buffer.from(Array.from({ length: rand(40) }, () => rand(256)))])
    const out = s.responder.zone.answer(p, source, i % 2 === 0 ? 'udp' : 'tcp')
    if (out.bytes === null) continue
    replies++
    try {
      const d = decode(out.bytes)
      if (d.id !== p.readUInt16BE(0) || d.type !== 'response') bad++
      if (i % 2 === 0 && out.bytes.length > 1232) bad++
    } catch {
      bad++
    }
  }
  t.ok(replies > 10_000, `${replies} replies`)
  t.equal(bad, 0, 'every reply decodes, keeps the id, and fits the UDP limit')
})

t.test('counters: rcode, qtype and whether ECS was sent', async (t) => {
  const s = await main(t)
  await dig(s.port, NAME, 'A', `+subnet=${GERMAN}`)
  await dig(s.port, NAME, 'AAAA')
  await dig(s.port, `nope.${NAME}`, 'TXT')
  await dig(s.port, 'example.org', 'NAPTR')
  t.same(s.counted, [['NOERROR', 'A', true], ['NOERROR', 'AAAA', false], ['NXDOMAIN', 'TXT', false], ['REFUSED', 'OTHER', false]])
})

t.test("host '::': IPv4 and IPv6 sockets on one port, UDP and TCP", async (t) => {
  const doc = dnsDoc([{ id: 'de-1', country: 'DE', latitude: 50, longitude: 8, addresses: [DE, '2001:db8::10'] }])
  const s = await start(t, { ...doc, dns: { ...(doc.dns as object), host: '::' } })
  const v4 = await dig(s.port, NAME, 'A')
  t.same(addresses(v4), [DE], 'over IPv4 (127.0.0.1)')
  const v6 = await run(DIG, ['@::1', '-p', String(s.port), '+norecurse', '+tries=1', '+time=3', NAME, 'AAAA', `+subnet=${GERMAN}`])
  t.same(addresses(v6), ['2001:db8::10'], 'over IPv6 (::1)')
  t.equal(v6.subnet, `${GERMAN}/24`)
  const v6tcp = await run(KDIG, ['@::1', '-p', String(s.port), '+tcp', '+retry=0', '+time=3', NAME, 'SOA'])
  t.equal(v6tcp.status, 'NOERROR', 'TCP over IPv6')
})

t.test('listen: a port in use is an error; port 0 finds one free for both', async (t) => {
  const s = await start(t, dnsDoc([]))
  const config = configFromDocument({ ...dnsDoc([]), dns: { enabled: true, name: NAME, host: '127.0.0.1', port: s.port } }, 'test', process.cwd())
  const fleet = new Fleet(buildTable([]), { ...config.probes, ...config.freshness })
  const clash = new DnsResponder({ config, directory: new EndpointDirectory(config.dns, config.selection, fleet), geoip: sharedGeoIp(config) })
  await t.rejects(clash.listen(), { code: 'EADDRINUSE' })
  await clash.close()
})
