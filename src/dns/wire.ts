// The DNS wire format, as far as an authoritative responder for one name needs it: reading a
// query (RFC 1035 §4, EDNS per RFC 6891) and writing a response. Hand-written instead of a
// general codec so that the question goes back byte for byte as asked (0x20 case and binary
// labels included; RFC 1035 §7.1), owner names are compressed into pointers at the question,
// malformed input maps to an exact outcome (drop or FORMERR), and a query costs no more than
// a handful of small allocations.

/** RR types this responder reads or writes. */
export const TYPE = { A: 1, NS: 2, SOA: 6, HINFO: 13, AAAA: 28, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const
export const CLASS_IN = 1

/** Header RCODEs (4 bits). BADVERS (16) lives in the OPT record's extended RCODE. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
export const BADVERS = 16

/** The EDNS payload size we advertise and the largest UDP response we send (DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232
/** The UDP limit of a client without EDNS (RFC 1035 §4.2.1), also the floor of any advertised size. */
export const PLAIN_UDP_SIZE = 512
/** The largest DNS message (and TCP frame) there is. */
export const MAX_MESSAGE = 65535

const HEADER = 12
const MAX_NAME = 255
const QR = 0x8000
const AA = 0x0400
const TC = 0x0200
const RD = 0x0100
const DO = 0x8000

export interface Question {
  /** Where the name starts (always 12) and where the question (name, type, class) ends. */
  readonly start: number
  readonly nameEnd: number
  readonly end: number
  /** Offset of each label's length byte, first label first; empty for the root name. */
  readonly labels: readonly number[]
  readonly qtype: number
  readonly qclass: number
}

export interface Edns {
  /** The UDP payload size the client advertised (may be below 512; callers apply the floor). */
  readonly udpSize: number
  readonly version: number
  readonly dnssecOk: boolean
  /** The Client Subnet option's data (unvalidated), or null when the query has none. */
  readonly ecs: Uint8Array | null
}

export interface Message {
  readonly bytes: Uint8Array
  readonly id: number
  readonly opcode: number
  readonly rd: boolean
  /** The question when QDCOUNT is 1 and it could be read, else null. */
  readonly question: Question | null
  /** The one valid OPT record, or null. */
  readonly edns: Edns | null
  /** Why the message is malformed (answered with FORMERR), or null. */
  readonly error: string | null
}

const u16 = (b: Uint8Array, i: number): number => ((b[i] as number) << 8) | (b[i + 1] as number)

/**
 * Skips a name anywhere after the question (compression allowed). Returns the offset after it,
 * or -1 when it runs past the end, uses a reserved label type or is too long.
 */
function skipName (b: Uint8Array, at: number): number {
  let i = at
  let length = 1
  for (;;) {
    if (i >= b.length) return -1
    const len = b[i] as number
    if (len === 0) return i + 1
    if ((len & 0xc0) === 0xc0) return i + 2 <= b.length ? i + 2 : -1
    if ((len & 0xc0) !== 0) return -1
    length += len + 1
    if (length > MAX_NAME) return -1
    i += len + 1
  }
}

/**
 * Reads a message that arrived as a query. Returns null when it must be dropped without any
 * reply: shorter than a header, or a response (QR set), which we never answer, so that two
 * servers can never be played into answering each other.
 */
export function parseMessage (b: Uint8Array): Message | null {
  if (b.length < HEADER) return null
  const flags = u16(b, 2)
  if ((flags & QR) !== 0) return null
  const id = u16(b, 0)
  const opcode = (flags >> 11) & 0xf
  const rd = (flags & RD) !== 0
  const qd = u16(b, 4)
  const fail = (error: string, question: Question | null = null, edns: Edns | null = null): Message =>
    ({ bytes: b, id, opcode, rd, question, edns, error })
  if (qd !== 1) return fail(`QDCOUNT is ${qd}, not 1`)

  // The question: no compression is possible this early in the message.
  const labels: number[] = []
  let i = HEADER
  let nameLength = 1
  for (;;) {
    if (i >= b.length) return fail('question runs past the end of the message')
    const len = b[i] as number
    if (len === 0) break
    if ((len & 0xc0) !== 0) return fail('question name has a compression pointer or reserved label type')
    nameLength += len + 1
    if (nameLength > MAX_NAME) return fail('question name is longer than 255 bytes')
    labels.push(i)
    i += len + 1
  }
  const nameEnd = i + 1
  if (nameEnd + 4 > b.length) return fail('question runs past the end of the message')
  const question: Question = { start: HEADER, nameEnd, end: nameEnd + 4, labels, qtype: u16(b, nameEnd), qclass: u16(b, nameEnd + 2) }

  // Answer and authority records (normally none in a query) are skipped; additional records
  // are skipped too, except the OPT record.
  let at = question.end
  const an = u16(b, 6)
  const ns = u16(b, 8)
  const ar = u16(b, 10)
  let edns: Edns | null = null
  for (let r = 0; r < an + ns + ar; r++) {
    const owner = at
    at = skipName(b, at)
    if (at < 0 || at + 10 > b.length) return fail('a resource record runs past the end of the message', question, edns)
    const type = u16(b, at)
    const rdlength = u16(b, at + 8)
    const rdata = at + 10
    at = rdata + rdlength
    if (at > b.length) return fail('record data runs past the end of the message', question, edns)
    if (type !== TYPE.OPT) continue
    // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
    if (r < an + ns) return fail('OPT record outside the additional section', question)
    if (edns !== null) return fail('more than one OPT record', question)
    if (b[owner] !== 0) return fail('OPT record not owned by the root name', question)
    let ecs: Uint8Array | null = null
    for (let o = rdata; o < at;) {
      if (o + 4 > at) return fail('EDNS option runs past its record', question)
      const code = u16(b, o)
      const len = u16(b, o + 2)
      if (o + 4 + len > at) return fail('EDNS option runs past its record', question)
      if (code === 8) {
        if (ecs !== null) return fail('more than one Client Subnet option', question)
        ecs = b.subarray(o + 4, o + 4 + len)
      }
      o += 4 + len
    }
    edns = { udpSize: u16(b, owner + 3), version: b[owner + 6] as number, dnssecOk: (u16(b, owner + 7) & DO) !== 0, ecs }
  }
  // Bytes after the last record are ignored, as most servers do.
  return { bytes: b, id, opcode, rd, question, edns, error: null }
}

/** ASCII lowercase of one byte; DNS names compare case-insensitively (RFC 4343). */
const lower = (c: number): number => (c >= 65 && c <= 90 ? c | 0x20 : c)

/** A host name in wire format (lowercase labels, root-terminated). */
export function encodeName (name: string): Uint8Array {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '')
  const out = new Uint8Array(labels.reduce((n, l) => n + l.length + 1, 1))
  let i = 0
  for (const l of labels) {
    if (l.length > 63 || !/^[\x21-\x7e]+$/.test(l)) throw new Error(`not a host name: ${name}`)
    out[i++] = l.length
    for (let j = 0; j < l.length; j++) out[i++] = lower(l.charCodeAt(j))
  }
  return out
}

/**
 * Where the question's name sits relative to a zone apex (given in wire format): the number of
 * labels in front of the apex (0 at the apex itself), or -1 when the name is outside the zone.
 */
export function labelsBelow (m: Message, q: Question, apex: Uint8Array): number {
  const b = m.bytes
  const start = q.nameEnd - apex.length
  // The apex must begin on a label boundary of the question, not inside a label.
  const k = q.labels.indexOf(start)
  if (k < 0) return -1
  for (let i = 0; i < apex.length; i++) if (lower(b[start + i] as number) !== apex[i]) return -1
  return k
}

/** The first label of the question's name as lowercase text (bytes as Latin-1). */
export function firstLabel (m: Message, q: Question): string {
  const at = q.labels[0]
  if (at === undefined) return ''
  const len = m.bytes[at] as number
  let s = ''
  for (let i = at + 1; i <= at + len; i++) s += String.fromCharCode(lower(m.bytes[i] as number))
  return s
}

/** One record to write. Its owner is a name already in the message, written as a pointer. */
export interface ResourceRecord {
  /** Message offset of the owner name (inside the question). */
  readonly owner: number
  readonly type: number
  readonly ttl: number
  readonly rdata: Uint8Array
}

export interface Opt {
  readonly extendedRcode: number
  readonly dnssecOk: boolean
  /** Client Subnet option data to include, or null. */
  readonly ecs: Uint8Array | null
}

export interface Response {
  readonly rcode: number
  readonly aa: boolean
  readonly answers: readonly ResourceRecord[]
  readonly authority: readonly ResourceRecord[]
  readonly opt: Opt | null
}

export const NO_RECORDS: readonly ResourceRecord[] = Object.freeze([])

const recordsSize = (rs: readonly ResourceRecord[]): number => {
  let n = 0
  for (const r of rs) n += 12 + r.rdata.length
  return n
}

const optSize = (opt: Opt | null): number => (opt === null ? 0 : 11 + (opt.ecs === null ? 0 : 4 + opt.ecs.length))

/** The size `writeResponse` would produce, to decide on truncation before writing. */
export function responseSize (m: Message, r: Response): number {
  const q = m.question
  return HEADER + (q === null ? 0 : q.end - q.start) + recordsSize(r.answers) + recordsSize(r.authority) + optSize(r.opt)
}

/**
 * Writes the response to `m`: its id, opcode and RD bit, QR set, the question copied from the
 * query, then the records and the OPT record. `truncated` sets TC and leaves out every record
 * but the OPT (RFC 2181 §9: the client retries over TCP).
 */
export function writeResponse (m: Message, r: Response, truncated = false): Buffer {
  const q = m.question
  const answers = truncated ? NO_RECORDS : r.answers
  const authority = truncated ? NO_RECORDS : r.authority
  const size = HEADER + (q === null ? 0 : q.end - q.start) + recordsSize(answers) + recordsSize(authority) + optSize(r.opt)
  const out = Buffer.allocUnsafe(size)
  out.writeUInt16BE(m.id, 0)
  out.writeUInt16BE(QR | (m.opcode << 11) | (r.aa ? AA : 0) | (truncated ? TC : 0) | (m.rd ? RD : 0) | (r.rcode & 0xf), 2)
  out.writeUInt16BE(q === null ? 0 : 1, 4)
  out.writeUInt16BE(answers.length, 6)
  out.writeUInt16BE(authority.length, 8)
  out.writeUInt16BE(r.opt === null ? 0 : 1, 10)
  let i = HEADER
  if (q !== null) {
    out.set(m.bytes.subarray(q.start, q.end), i)
    i += q.end - q.start
  }
  for (const list of [answers, authority]) {
    for (const rr of list) {
      out.writeUInt16BE(0xc000 | rr.owner, i)
      out.writeUInt16BE(rr.type, i + 2)
      out.writeUInt16BE(CLASS_IN, i + 4)
      out.writeUInt32BE(rr.ttl, i + 6)
      out.writeUInt16BE(rr.rdata.length, i + 10)
      out.set(rr.rdata, i + 12)
      i += 12 + rr.rdata.length
    }
  }
  if (r.opt !== null) {
    const o = r.opt
    out[i] = 0 // root owner
    out.writeUInt16BE(TYPE.OPT, i + 1)
    out.writeUInt16BE(EDNS_UDP_SIZE, i + 3)
    out[i + 5] = o.extendedRcode >> 4
    out[i + 6] = 0 // EDNS version 0, the only one there is
    out.writeUInt16BE(o.dnssecOk ? DO : 0, i + 7) // RFC 3225 §3: DO is copied from the query
    const ecsLength = o.ecs === null ? 0 : 4 + o.ecs.length
    out.writeUInt16BE(ecsLength, i + 9)
    if (o.ecs !== null) {
      out.writeUInt16BE(8, i + 11)
      out.writeUInt16BE(o.ecs.length, i + 13)
      out.set(o.ecs, i + 15)
    }
    i += 11 + ecsLength
  }
  return out
}

/**
 * A bare SERVFAIL for a message we could not answer (an internal fault): only the header, or
 * null when the bytes are not a query we may reply to at all.
 */
export function serverFailure (b: Uint8Array): Buffer | null {
  if (b.length < HEADER || (u16(b, 2) & QR) !== 0) return null
  const out = Buffer.alloc(HEADER)
  out.writeUInt16BE(u16(b, 0), 0)
  out.writeUInt16BE(QR | (u16(b, 2) & (0x7800 | RD)) | RCODE.SERVFAIL, 2)
  return out
}
