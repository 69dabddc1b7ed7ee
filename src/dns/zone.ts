// The zone mirrorgate is authoritative for: one download name (config.dns.name) whose A and
// AAAA records are the nearest healthy endpoints for the asking client, plus its SOA and NS,
// and optional region-hint names below it. Turns one query's bytes into one response's bytes;
// the sockets live in responder.ts.
//
// Names (case-insensitive; the question is echoed as asked):
//   <name>            A/AAAA: up to dns.answers addresses of the endpoints ranked for the client
//                     (EDNS Client Subnet address when usable, else the resolver's address);
//                     SOA; NS; ANY: the SOA only (RFC 8482 §4.1: one RRset is enough, and the
//                     SOA is small and always there); other types: NODATA.
//   <hint>.<name>     A/AAAA ranked from a pinned place instead of the client's: a continent
//                     (af an as eu na oc sa, at the centres in core/regions.ts) or an ISO 3166-1 country
//                     (its centroid from core/countries.ts). af, as, na and sa mean continents,
//                     so Afghanistan, American Samoa, Namibia and Saudi Arabia have no hint.
//                     ANY: HINFO "RFC8482" (RFC 8482 §4.2); other types: NODATA.
//   anything else below <name>: NXDOMAIN. Outside the zone: REFUSED, without AA.
// Negative answers (NXDOMAIN, NODATA, including "no healthy endpoint of this family", which
// is not a server failure) carry the SOA in the authority section, whose MINIMUM is the TTL.

import { regionPlace } from '../core/regions.js'
import { networkKey, parseIp, type Family, type Ip } from '../core/ip.js'
import type { Place } from '../core/types.js'
import type { DnsConfig, ProbeConfig } from '../config/schema.js'
import { worstDetectionMs } from '../probes/schedule.js'
import { answerScope, encodeClientSubnet, parseClientSubnet, usableForLocation, type ClientSubnet } from './ecs.js'
import type { Endpoint } from './endpoints.js'
import {
  BADVERS, CLASS_IN, EDNS_UDP_SIZE, MAX_MESSAGE, NO_RECORDS, PLAIN_UDP_SIZE, RCODE, TYPE,
  encodeName, firstLabel, labelsBelow, parseMessage, responseSize, writeResponse,
  type Edns, type Message, type Opt, type Question, type ResourceRecord, type Response
} from './wire.js'

/** What the zone needs of the endpoint directory (EndpointDirectory fits). */
export interface Ranking {
  rank (place: Place, network: string, family: Family): readonly Endpoint[]
  onChange (listener: () => void): void
}

/** What the zone needs of GeoIP (GeoIp fits). */
export interface Locating {
  locate (ip: Ip): Place
}

export type Transport = 'udp' | 'tcp'

/** The result of one message: what to send back (null: nothing) and labels for counting. */
export interface Outcome {
  readonly bytes: Buffer | null
  /** NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS, or DROPPED (no reply). */
  readonly rcode: string
  /** The question's type for the common types, OTHER for the rest, NONE without a question. */
  readonly qtype: string
  /** Whether the query carried a Client Subnet option (valid or not). */
  readonly ecs: boolean
}

/**
 * The answer TTL: dns.ttl when set, else half the time probes need to notice a failure
 * (worstDetectionMs for a community mirror), clamped to [5, 300] s. A client may keep using a dead endpoint
 * for detection time plus TTL; half the detection time bounds what caching adds to the outage at
 * 50 %, without a TTL so short that resolvers re-ask every few seconds (many clamp tiny TTLs
 * anyway, hence the floor) or so long that failover waits on caches (the 5 min ceiling).
 * The defaults (30 s interval, 3 failures 2 s apart, 5 s timeout) give 28 s.
 */
export function answerTtl (dns: DnsConfig, probes: ProbeConfig): number {
  if (dns.ttl !== null) return dns.ttl
  const derived = Math.round(worstDetectionMs(probes, probes.intervalMs) / 1000 / 2)
  return Math.min(300, Math.max(5, derived))
}

const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [13, 'HINFO'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'],
  [33, 'SRV'], [43, 'DS'], [48, 'DNSKEY'], [64, 'SVCB'], [65, 'HTTPS'], [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'], [257, 'CAA']
])
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']

const DROPPED: Outcome = Object.freeze({ bytes: null, rcode: 'DROPPED', qtype: 'NONE', ecs: false })
const HINFO_RFC8482 = new Uint8Array([7, ...Buffer.from('RFC8482'), 0])
// SOA timers for secondaries; nothing transfers this zone (AXFR is refused), so they only
// need to be sane: refresh 1 h, retry 10 min, expire 1 week.
const SOA_REFRESH = 3600
const SOA_RETRY = 600
const SOA_EXPIRE = 604_800

/** A response without records and without AA: errors, refusals, BADVERS. */
const refusal = (rcode: number, opt: Opt | null): Response => ({ rcode, aa: false, answers: NO_RECORDS, authority: NO_RECORDS, opt })

/** An OPT in the response whenever the query had one (RFC 6891 §7), without options. */
const plainOpt = (edns: Edns | null): Opt | null => edns === null ? null : { extendedRcode: 0, dnssecOk: edns.dnssecOk, ecs: null }

/** As plainOpt, echoing a valid client subnet with the given scope (RFC 7871 §7.2.1). */
const echoOpt = (edns: Edns | null, subnet: ClientSubnet | null, scope: number): Opt | null =>
  edns === null ? null : { extendedRcode: 0, dnssecOk: edns.dnssecOk, ecs: subnet === null ? null : encodeClientSubnet(subnet, scope) }

interface Addresses { readonly 4: readonly Uint8Array[], readonly 6: readonly Uint8Array[] }

export class Zone {
  readonly ttl: number
  readonly #apex: Uint8Array
  readonly #answers: number
  readonly #directory: Ranking
  readonly #geoip: Locating
  readonly #now: () => number
  readonly #ns: readonly Uint8Array[]
  readonly #soaNames: Uint8Array
  readonly #addresses = new WeakMap<Endpoint, Addresses>()
  #serial: number
  #soa: Uint8Array

  constructor (opts: { dns: DnsConfig, probes: ProbeConfig, directory: Ranking, geoip: Locating, now?: () => number }) {
    const { dns } = opts
    this.ttl = answerTtl(dns, opts.probes)
    this.#apex = encodeName(dns.name)
    this.#answers = dns.answers
    this.#directory = opts.directory
    this.#geoip = opts.geoip
    this.#now = opts.now ?? Date.now
    this.#ns = dns.nameservers.map(encodeName)
    const mname = this.#ns[0] ?? encodeName(dns.name)
    const rname = encodeName(dns.hostmaster)
    this.#soaNames = new Uint8Array(mname.length + rname.length)
    this.#soaNames.set(mname, 0)
    this.#soaNames.set(rname, mname.length)
    // The serial is the time of the last change in seconds, and always moves forward, so a
    // glance at it says when this instance last changed its answers.
    this.#serial = Math.floor(this.#now() / 1000) >>> 0
    this.#soa = this.#soaRdata()
    opts.directory.onChange(() => {
      this.#serial = Math.max(this.#serial + 1, Math.floor(this.#now() / 1000)) >>> 0
      this.#soa = this.#soaRdata()
    })
  }

  get serial (): number { return this.#serial }

  #soaRdata (): Uint8Array {
    const n = this.#soaNames.length
    const out = Buffer.alloc(n + 20)
    out.set(this.#soaNames, 0)
    out.writeUInt32BE(this.#serial, n)
    out.writeUInt32BE(SOA_REFRESH, n + 4)
    out.writeUInt32BE(SOA_RETRY, n + 8)
    out.writeUInt32BE(SOA_EXPIRE, n + 12)
    out.writeUInt32BE(this.ttl, n + 16) // MINIMUM: the negative-caching TTL (RFC 2308 §4)
    return out
  }

  /**
   * The response to one message from `source` (the resolver's address, as the socket saw it).
   * Never throws on malformed input: that is a FORMERR or a drop.
   */
  answer (bytes: Uint8Array, source: Ip, transport: Transport): Outcome {
    const m = parseMessage(bytes)
    if (m === null) return DROPPED
    const r = this.#respond(m, source)
    const edns = m.edns
    // UDP: 512 bytes without EDNS, else what the client advertised (512 at least) up to ours.
    const limit = transport === 'tcp' ? MAX_MESSAGE : edns === null ? PLAIN_UDP_SIZE : Math.min(Math.max(edns.udpSize, PLAIN_UDP_SIZE), EDNS_UDP_SIZE)
    return {
      bytes: writeResponse(m, r, responseSize(m, r) > limit),
      rcode: r.rcode === BADVERS ? 'BADVERS' : (RCODE_NAMES[r.rcode] as string),
      qtype: m.question === null ? 'NONE' : (TYPE_NAMES.get(m.question.qtype) ?? 'OTHER'),
      ecs: edns !== null && edns.ecs !== null
    }
  }

  #respond (m: Message, source: Ip): Response {
    const q = m.question
    const edns = m.edns
    if (m.opcode !== 0) return refusal(RCODE.NOTIMP, plainOpt(edns))
    if (m.error !== null || q === null) return refusal(RCODE.FORMERR, plainOpt(edns))
    if (edns !== null && edns.version > 0) return refusal(BADVERS, { extendedRcode: BADVERS, dnssecOk: edns.dnssecOk, ecs: null })
    let subnet: ClientSubnet | null = null
    if (edns !== null && edns.ecs !== null) {
      const parsed = parseClientSubnet(edns.ecs)
      if (!parsed.ok) return refusal(RCODE.FORMERR, plainOpt(edns))
      subnet = parsed.subnet
    }
    // Only class IN exists here; zone transfers are not offered.
    if (q.qclass !== CLASS_IN || q.qtype === TYPE.AXFR || q.qtype === TYPE.IXFR) return refusal(RCODE.REFUSED, echoOpt(edns, subnet, 0))
    const depth = labelsBelow(m, q, this.#apex)
    if (depth < 0) return refusal(RCODE.REFUSED, echoOpt(edns, subnet, 0))
    const apex = q.labels[depth] as number
    let pinned: Place | null = null
    if (depth > 0) {
      // The same hints as HTTP's eu.<name> and /_r/eu/: one place per label.
      pinned = depth === 1 ? regionPlace(firstLabel(m, q)) : null
      if (pinned === null) return this.#negative(RCODE.NXDOMAIN, apex, echoOpt(edns, subnet, 0))
    }

    switch (q.qtype) {
      case TYPE.A:
      case TYPE.AAAA: {
        const located = subnet !== null && usableForLocation(subnet)
        const client = located ? (subnet as ClientSubnet).address : source
        const place = pinned ?? this.#geoip.locate(client)
        const records = this.#addressRecords(q, place, networkKey(client), q.qtype === TYPE.A ? 4 : 6)
        if (records.length === 0) return this.#negative(RCODE.NOERROR, apex, echoOpt(edns, subnet, 0))
        // Even a pinned place depends on the subnet: stickiness hashes the client network.
        return { rcode: RCODE.NOERROR, aa: true, answers: records, authority: NO_RECORDS, opt: echoOpt(edns, subnet, located ? answerScope(subnet as ClientSubnet) : 0) }
      }
      case TYPE.SOA:
        if (pinned !== null) break
        return { rcode: RCODE.NOERROR, aa: true, answers: [this.#soaRecord(apex)], authority: NO_RECORDS, opt: echoOpt(edns, subnet, 0) }
      case TYPE.NS:
        if (pinned !== null) break
        return { rcode: RCODE.NOERROR, aa: true, answers: this.#ns.map((rdata) => ({ owner: apex, type: TYPE.NS, ttl: this.ttl, rdata })), authority: NO_RECORDS, opt: echoOpt(edns, subnet, 0) }
      case TYPE.ANY: {
        const answer = pinned === null ? this.#soaRecord(apex) : { owner: q.start, type: TYPE.HINFO, ttl: this.ttl, rdata: HINFO_RFC8482 }
        return { rcode: RCODE.NOERROR, aa: true, answers: [answer], authority: NO_RECORDS, opt: echoOpt(edns, subnet, 0) }
      }
    }
    return this.#negative(RCODE.NOERROR, apex, echoOpt(edns, subnet, 0)) // NODATA
  }

  #soaRecord (apex: number): ResourceRecord {
    return { owner: apex, type: TYPE.SOA, ttl: this.ttl, rdata: this.#soa }
  }

  /** NXDOMAIN or NODATA: authoritative, no answer, the SOA in the authority section (RFC 2308 §3). */
  #negative (rcode: number, apex: number, opt: Opt | null): Response {
    return { rcode, aa: true, answers: NO_RECORDS, authority: [this.#soaRecord(apex)], opt }
  }

  /**
   * Up to `answers` addresses, spread over endpoints: the first address of each ranked endpoint,
   * best first, then second addresses, and so on; no address twice (RFC 2181 §5).
   */
  #addressRecords (q: Question, place: Place, network: string, family: Family): ResourceRecord[] {
    const ranked = this.#directory.rank(place, network, family)
    const type = family === 4 ? TYPE.A : TYPE.AAAA
    const out: ResourceRecord[] = []
    for (let round = 0; out.length < this.#answers; round++) {
      let more = false
      for (const e of ranked) {
        const list = this.#addressesOf(e)[family]
        const address = list[round]
        if (address === undefined) continue
        more = true
        if (out.some((r) => Buffer.compare(r.rdata, address) === 0)) continue
        out.push({ owner: q.start, type, ttl: this.ttl, rdata: address })
        if (out.length === this.#answers) break
      }
      if (!more) break
    }
    return out
  }

  /** Endpoint addresses as wire bytes, parsed once per endpoint version. */
  #addressesOf (e: Endpoint): Addresses {
    let a = this.#addresses.get(e)
    if (a === undefined) {
      const bytes = (list: readonly string[]): Uint8Array[] => list.flatMap((s) => {
        const ip = parseIp(s)
        return ip === null ? [] : [ip.bytes]
      })
      a = { 4: bytes(e.ipv4).filter((b) => b.length === 4), 6: bytes(e.ipv6).filter((b) => b.length === 16) }
      this.#addresses.set(e, a)
    }
    return a
  }
}
