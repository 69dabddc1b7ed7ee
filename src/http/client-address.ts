// Who the client is: the peer address, or, when the peer is a trusted proxy, the address
// its X-Forwarded-For names. Walks X-Forwarded-For from the right and stops at the first
// untrusted hop, so a client cannot forge its way past our own proxies.

import { cidrContains, LOOPBACK, parseCidr, parseIp, type Cidr, type Ip } from '../core/ip.js'
import type { Scheme } from '../core/types.js'

export type ClientAddress =
  | { readonly ok: true, readonly ip: Ip, readonly scheme: Scheme }
  | { readonly ok: false, readonly code: 'MG_ERR_BAD_FORWARDED_FOR' | 'MG_ERR_BAD_FORWARDED_PROTO' }

const MAX_HOPS = 32
/** Trusted peers remembered by their address text; a proxy fleet is far smaller than this. */
const TRUSTED_PEER_MEMO = 1024

export class TrustedProxies {
  readonly #cidrs: readonly Cidr[]
  /** Peer address texts already found trusted: behind a proxy every request comes from one of a few. */
  readonly #trustedPeers = new Set<string>()

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

  /** The peer itself when it is the client (not a trusted proxy), else null. */
  #untrustedPeer (peer: string | undefined): Ip | null {
    // A socket without a parseable address should not happen; treat it as unplaceable loopback.
    if (peer === undefined) return LOOPBACK
    if (this.#trustedPeers.has(peer)) return null
    const ip = parseIp(peer)
    if (ip === null) return LOOPBACK
    if (!this.trusts(ip)) return ip
    if (this.#trustedPeers.size >= TRUSTED_PEER_MEMO) this.#trustedPeers.clear()
    this.#trustedPeers.add(peer)
    return null
  }

  /** The client for a request from `peer` with these (possibly absent) forwarding headers. */
  resolve (peer: string | undefined, forwardedFor: string | undefined, forwardedProto: string | undefined, encrypted: boolean): ClientAddress {
    let scheme: Scheme = encrypted ? 'https' : 'http'
    const direct = this.#untrustedPeer(peer)
    if (direct !== null) return { ok: true, ip: direct, scheme }

    let ip: Ip | null = null
    if (forwardedFor !== undefined && forwardedFor !== '') {
      const hops = forwardedFor.indexOf(',') === -1 ? [forwardedFor] : forwardedFor.split(',')
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
    // No forwarded address: the trusted proxy itself is the client.
    return { ok: true, ip: ip ?? parseIp(peer as string) as Ip, scheme }
  }
}
