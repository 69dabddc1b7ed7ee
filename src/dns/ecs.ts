// EDNS Client Subnet (RFC 7871): parsing and validating the option a resolver sends, and the
// option we send back. Pure: bytes in, plain data out.
//
// Option data on the wire (RFC 7871 §6):
//   FAMILY (2 bytes: 1 IPv4, 2 IPv6) | SOURCE PREFIX-LENGTH (1) | SCOPE PREFIX-LENGTH (1) |
//   ADDRESS (exactly ceil(SOURCE / 8) bytes, bits beyond SOURCE zero)

import { isNonPublic, type Family, type Ip } from '../core/ip.js'

/** The EDNS option code of Client Subnet. */
export const ECS_OPTION = 8

/** A valid client subnet from a query. */
export interface ClientSubnet {
  readonly family: Family
  readonly sourcePrefix: number
  /** The address padded with zero bytes to its full length (4 or 16). */
  readonly address: Ip
}

export type EcsParse =
  | { readonly ok: true, readonly subnet: ClientSubnet }
  | { readonly ok: false, readonly reason: string }

const invalid = (reason: string): EcsParse => ({ ok: false, reason })

/**
 * Validates ECS option data from a query. Every failure is a FORMERR (RFC 7871 §6 and §7.1.1):
 * unknown family, a source prefix longer than the family's address, ADDRESS with too many or
 * too few bytes for the prefix, address bits set beyond the prefix, or a SCOPE other than 0.
 */
export function parseClientSubnet (data: Uint8Array): EcsParse {
  if (data.length < 4) return invalid(`option is ${data.length} bytes; at least 4 are needed`)
  const code = ((data[0] as number) << 8) | (data[1] as number)
  if (code !== 1 && code !== 2) return invalid(`unknown address family ${code}`)
  const family: Family = code === 1 ? 4 : 6
  const size = family === 4 ? 4 : 16
  const source = data[2] as number
  const scope = data[3] as number
  if (source > size * 8) return invalid(`source prefix /${source} is longer than an IPv${family} address`)
  if (scope !== 0) return invalid(`scope prefix must be 0 in a query, not ${scope}`)
  const needed = (source + 7) >> 3
  const given = data.length - 4
  if (given !== needed) return invalid(`/${source} needs ${needed} address bytes, the option has ${given}`)
  const bytes = new Uint8Array(size)
  for (let i = 0; i < needed; i++) bytes[i] = data[4 + i] as number
  const spare = needed * 8 - source
  if (spare > 0 && ((bytes[needed - 1] as number) & ((1 << spare) - 1)) !== 0) {
    return invalid(`address has bits set beyond /${source}`)
  }
  return { ok: true, subnet: { family, sourcePrefix: source, address: { family, bytes } } }
}

/**
 * Whether the subnet can locate a client. A /0 subnet (the resolver asks us not to use its
 * clients' addresses) and private, loopback or documentation networks cannot: the answer then
 * goes by the resolver's own address, with scope 0 (RFC 7871 §7.1.2 and §11.1).
 */
export function usableForLocation (subnet: ClientSubnet): boolean {
  return subnet.sourcePrefix > 0 && !isNonPublic(subnet.address)
}

/**
 * The SCOPE PREFIX-LENGTH of an answer chosen by this subnet's address. GeoIP lookups and
 * stickiness both work per /24 (IPv4) or /48 (IPv6) network, so the answer holds for that
 * whole network, and never for more bits than the resolver sent.
 */
export function answerScope (subnet: ClientSubnet): number {
  return Math.min(subnet.sourcePrefix, subnet.family === 4 ? 24 : 48)
}

/** The option data we send back: family, source prefix and address as asked, with our scope. */
export function encodeClientSubnet (subnet: ClientSubnet, scope: number): Uint8Array {
  const needed = (subnet.sourcePrefix + 7) >> 3
  const out = new Uint8Array(4 + needed)
  out[1] = subnet.family === 4 ? 1 : 2
  out[2] = subnet.sourcePrefix
  out[3] = scope
  out.set(subnet.address.bytes.subarray(0, needed), 4)
  return out
}
