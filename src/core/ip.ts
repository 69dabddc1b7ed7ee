// IP address parsing for the hot path and for trust decisions. Pure: no node:net,
// so the core stays testable as plain data; tests cross-check it against node:net.

export type Family = 4 | 6

export interface Ip {
  readonly family: Family
  /** 4 bytes for IPv4, 16 for IPv6. IPv4-mapped IPv6 is normalised to IPv4. */
  readonly bytes: Uint8Array
}

export interface Cidr {
  readonly family: Family
  readonly bytes: Uint8Array
  readonly prefix: number
}

/** 127.0.0.1: the stand-in client for a socket without a parseable peer address. */
export const LOOPBACK: Ip = Object.freeze({ family: 4, bytes: new Uint8Array([127, 0, 0, 1]) })

function parseIpv4Bytes (s: string, out: Uint8Array, offset: number): boolean {
  let part = 0
  let digits = 0
  let index = offset
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 46 : s.charCodeAt(i)
    if (c === 46) { // '.'
      if (digits === 0 || index - offset > 3) return false
      out[index++] = part
      part = 0
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return false // no leading zeros (octal ambiguity)
      part = part * 10 + (c - 48)
      if (part > 255 || ++digits > 3) return false
    } else {
      return false
    }
  }
  return index - offset === 4
}

function parseHextet (s: string): number {
  if (s.length === 0 || s.length > 4) return -1
  let v = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let d: number
    if (c >= 48 && c <= 57) d = c - 48
    else if (c >= 97 && c <= 102) d = c - 87
    else if (c >= 65 && c <= 70) d = c - 55
    else return -1
    v = (v << 4) | d
  }
  return v
}

function parseIpv6Bytes (s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null
  const bytes = new Uint8Array(16)
  const gap = s.indexOf('::')
  if (gap !== -1 && s.indexOf('::', gap + 1) !== -1) return null
  const head = gap === -1 ? s : s.slice(0, gap)
  const tail = gap === -1 ? '' : s.slice(gap + 2)
  const headParts = head === '' ? [] : head.split(':')
  const tailParts = tail === '' ? [] : tail.split(':')
  // An embedded IPv4 address may only be the last group.
  const groups: number[] = []
  const all = [...headParts, ...tailParts]
  let v4: Uint8Array | null = null
  const last = all[all.length - 1]
  // An embedded IPv4 address must end the text: '1.2.3.4::' is not an address.
  if (gap !== -1 && tail === '' && head.includes('.')) return null
  if (last !== undefined && last.includes('.')) {
    v4 = new Uint8Array(4)
    if (!parseIpv4Bytes(last, v4, 0)) return null
  }
  const hexCount = all.length - (v4 === null ? 0 : 1)
  const totalGroups = hexCount + (v4 === null ? 0 : 2)
  if (gap === -1 ? totalGroups !== 8 : totalGroups > 7) return null
  for (let i = 0; i < hexCount; i++) {
    const v = parseHextet(all[i] as string)
    if (v < 0) return null
    groups.push(v)
  }
  const headGroups = gap === -1 ? groups.length : Math.min(headParts.length, hexCount)
  let pos = 0
  for (let i = 0; i < headGroups; i++) {
    bytes[pos++] = (groups[i] as number) >> 8
    bytes[pos++] = (groups[i] as number) & 0xff
  }
  const tailGroups = groups.slice(headGroups)
  pos = 16 - (tailGroups.length * 2) - (v4 === null ? 0 : 4)
  if (pos < headGroups * 2) return null
  for (const g of tailGroups) {
    bytes[pos++] = g >> 8
    bytes[pos++] = g & 0xff
  }
  if (v4 !== null) bytes.set(v4, 12)
  return bytes
}

function isV4Mapped (b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return b[10] === 0xff && b[11] === 0xff
}

/** Parses a textual IPv4 or IPv6 address (no zone ids, no brackets). Returns null when invalid. */
export function parseIp (s: string): Ip | null {
  if (s.indexOf(':') === -1) {
    const bytes = new Uint8Array(4)
    return parseIpv4Bytes(s, bytes, 0) ? { family: 4, bytes } : null
  }
  const bytes = parseIpv6Bytes(s)
  if (bytes === null) return null
  if (isV4Mapped(bytes)) return { family: 4, bytes: bytes.slice(12) }
  return { family: 6, bytes }
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatIp (ip: Ip): string {
  const b = ip.bytes
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] as number) << 8) | (b[i + 1] as number))
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) { bestStart = i; bestLen = j - i }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart === -1) return hex.join(':')
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':')
}

/**
 * The client network used for stickiness and caching: /24 for IPv4, /48 for IPv6.
 * Everyone behind one such network is treated as one client.
 */
export function networkKey (ip: Ip): string {
  const b = ip.bytes
  if (ip.family === 4) return `${b[0]}.${b[1]}.${b[2]}.0/24`
  const masked = new Uint8Array(16)
  masked.set(b.subarray(0, 6))
  return `${formatIp({ family: 6, bytes: masked })}/48`
}

/**
 * The same client network as networkKey, as a number: cheap to compute and to hash, so the
 * caches on the request path key by it. IPv4 /24s take 0 .. 2^24-1, IPv6 /48s the range above.
 */
export function networkId (ip: Ip): number {
  const b = ip.bytes
  if (ip.family === 4) return ((b[0] as number) << 16) | ((b[1] as number) << 8) | (b[2] as number)
  const high = ((b[0] as number) << 8) | (b[1] as number)
  const low = (((b[2] as number) << 24) | ((b[3] as number) << 16) | ((b[4] as number) << 8) | (b[5] as number)) >>> 0
  return 0x1000000 + high * 0x100000000 + low
}

export function parseCidr (s: string): Cidr | null {
  const slash = s.indexOf('/')
  const ip = parseIp(slash === -1 ? s : s.slice(0, slash))
  if (ip === null) return null
  const max = ip.family === 4 ? 32 : 128
  let prefix = max
  if (slash !== -1) {
    const text = s.slice(slash + 1)
    if (!/^\d{1,3}$/.test(text)) return null
    prefix = Number(text)
    // An IPv4-mapped CIDR (::ffff:10.0.0.0/104) is written against 128 bits.
    if (ip.family === 4 && s.indexOf(':') !== -1) prefix -= 96
    if (prefix < 0 || prefix > max) return null
  }
  return { family: ip.family, bytes: ip.bytes, prefix }
}

export function cidrContains (cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false
  let bits = cidr.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((cidr.bytes[i] as number) & mask) !== ((ip.bytes[i] as number) & mask)) return false
  }
  return true
}

const NON_PUBLIC = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12',
  '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24',
  '203.0.113.0/24', '224.0.0.0/3',
  '::/127', '64:ff9b:1::/48', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8'
].map((s) => parseCidr(s) as Cidr)

/** Private, loopback, link-local, documentation and other addresses no GeoIP database can place. */
export function isNonPublic (ip: Ip): boolean {
  for (const c of NON_PUBLIC) if (cidrContains(c, ip)) return true
  return false
}
