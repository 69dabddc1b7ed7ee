// Who the client is: the peer address, or, when the peer is a trusted proxy, the address
// its X-Forwarded-For names. Walks X-Forwarded-For from the right and stops at the first
// untrusted hop, so a client cannot forge its way past our own proxies.

import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from '../core/ip.js'
import type { Scheme } from '../core/types.js'

export type ClientAddress =
  | { readonly ok: true, readonly ip: Ip, readonly scheme: Scheme }
  | { readonly ok: false, readonly code: 'MG_ERR_BAD_FORWARDED_FOR' | 'MG_ERR_BAD_FORWARDED_PROTO' }

const MAX_HOPS = 32

export class TrustedProxies {
  readonly #cidrs: readonly Cidr[]

  constructor (cidrs: readonly string[]) {
    this.#cidrs = cidrs.map((c) => {
      const parsed = parseCidr(c)
      if (parsed === null) throw new Error(`invalid trusted proxy CIDR ${c}`)
      return parsed
    })
  }

  trusts (ip: Ip): boolean {
    for (const c of this.#cidrs) if (cidrContains(c, ip)) return true
    return false
  }

  /** The client for a request from `peer` with these (possibly absent) forwarding headers. */
  resolve (peer: string | undefined, forwardedFor: string | undefined, forwardedProto: string | undefined, encrypted: boolean): ClientAddress {
    const peerIp = peer === undefined ? null : parseIp(peer)
    // A socket without a parseable address should not happen; treat it as unplaceable loopback.
    let ip: Ip = peerIp ?? { family: 4, bytes: new Uint8Array([127, 0, 0, 1]) }
    let scheme: Scheme = encrypted ? 'https' : 'http'
    if (peerIp === null || !this.trusts(peerIp)) return { ok: true, ip, scheme }

    if (forwardedFor !== undefined && forwardedFor !== '') {
      const hops = forwardedFor.split(',')
      if (hops.length > MAX_HOPS) return { ok: false, code: 'MG_ERR_BAD_FORWARDED_FOR' }
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = parseIp((hops[i] as string).trim())
        if (hop === null) return { ok: false, code: 'MG_ERR_BAD_FORWARDED_FOR' }
        ip = hop
        if (!this.trusts(hop)) break
      }
    }
    if (forwardedProto !== undefined && forwardedProto !== '') {
      // The left-most value is what the client spoke to the first proxy.
      const comma = forwardedProto.indexOf(',')
      const proto = (comma === -1 ? forwardedProto : forwardedProto.slice(0, comma)).trim().toLowerCase()
      if (proto !== 'http' && proto !== 'https') return { ok: false, code: 'MG_ERR_BAD_FORWARDED_PROTO' }
      scheme = proto
    }
    return { ok: true, ip, scheme }
  }
}
