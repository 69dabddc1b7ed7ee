// src/dns/ecs.ts: RFC 7871 Client Subnet validation, usability for location, scope and echo.
// The option data is written by hand here (family, source, scope, address bytes) and, for the
// round trip, cross-checked against what dns-packet encodes for the same subnet.

import t from 'tap'
import dnsPacket, { type OptAnswer } from 'dns-packet'
import { answerScope, encodeClientSubnet, parseClientSubnet, usableForLocation, type ClientSubnet } from '../../src/dns/ecs.js'
import { formatIp } from '../../src/core/ip.js'

const data = (family: number, source: number, scope: number, ...address: number[]): Uint8Array =>
  new Uint8Array([family >> 8, family & 0xff, source, scope, ...address])

const valid = (bytes: Uint8Array): ClientSubnet => {
  const r = parseClientSubnet(bytes)
  if (!r.ok) throw new Error(`expected valid ECS, got: ${r.reason}`)
  return r.subnet
}

t.test('valid subnets: address padded to full length, prefix kept', async (t) => {
  const v4 = valid(data(1, 24, 0, 85, 214, 132))
  t.equal(v4.family, 4)
  t.equal(v4.sourcePrefix, 24)
  t.equal(formatIp(v4.address), '85.214.132.0')
  t.equal(v4.address.bytes.length, 4)

  const odd = valid(data(1, 20, 0, 85, 214, 128)) // /20: the low 4 bits of the third byte are zero
  t.equal(formatIp(odd.address), '85.214.128.0')

  const v6 = valid(data(2, 56, 0, 0x2a, 0x01, 0x04, 0xf8, 0, 0, 0))
  t.equal(v6.family, 6)
  t.equal(formatIp(v6.address), '2a01:4f8::')
  t.equal(v6.address.bytes.length, 16)

  const zero = valid(data(1, 0, 0))
  t.equal(zero.sourcePrefix, 0)
  t.equal(formatIp(zero.address), '0.0.0.0')

  const full = valid(data(2, 128, 0, ...new Array(15).fill(0x20), 1))
  t.equal(full.sourcePrefix, 128)
  t.equal(valid(data(1, 32, 0, 81, 2, 69, 142)).sourcePrefix, 32)
})

t.test('malformed options are rejected with a reason (FORMERR)', async (t) => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['too short for the fixed part', new Uint8Array([0, 1, 24]), /at least 4/],
    ['empty', new Uint8Array(0), /at least 4/],
    ['unknown family 0', data(0, 24, 0, 1, 2, 3), /family 0/],
    ['unknown family 3', data(3, 24, 0, 1, 2, 3), /family 3/],
    ['IPv4 source prefix /33', data(1, 33, 0, 1, 2, 3, 4, 0), /longer than an IPv4/],
    ['IPv6 source prefix /129', data(2, 129, 0, ...new Array(17).fill(0)), /longer than an IPv6/],
    ['non-zero scope in a query', data(1, 24, 24, 85, 214, 132), /scope prefix must be 0/],
    ['address longer than the prefix needs', data(1, 24, 0, 85, 214, 132, 0), /needs 3 address bytes, the option has 4/],
    ['full address with a /24', data(1, 24, 0, 85, 214, 132, 117), /needs 3/],
    ['address shorter than the prefix needs', data(1, 24, 0, 85, 214), /needs 3 address bytes, the option has 2/],
    ['bits set beyond the prefix (/20)', data(1, 20, 0, 85, 214, 129), /bits set beyond \/20/],
    ['bits set beyond the prefix (/1)', data(1, 1, 0, 0xc0), /bits set beyond \/1/],
    ['IPv6 bits beyond /33', data(2, 33, 0, 0x2a, 0x01, 0x04, 0xf8, 0xc0), /bits set beyond \/33/],
    ['address bytes with a /0', data(1, 0, 0, 0), /needs 0 address bytes, the option has 1/]
  ]
  for (const [name, bytes, reason] of cases) {
    const r = parseClientSubnet(bytes)
    t.equal(r.ok, false, name)
    if (!r.ok) t.match(r.reason, reason, name)
  }
})

t.test('usable for location: public and longer than /0', async (t) => {
  t.equal(usableForLocation(valid(data(1, 24, 0, 85, 214, 132))), true)
  t.equal(usableForLocation(valid(data(2, 48, 0, 0x2a, 0x01, 0x04, 0xf8, 0, 0))), true)
  t.equal(usableForLocation(valid(data(1, 0, 0))), false, '/0: the resolver opts out')
  t.equal(usableForLocation(valid(data(2, 0, 0))), false, 'IPv6 /0')
  t.equal(usableForLocation(valid(data(1, 24, 0, 10, 1, 2))), false, 'RFC 1918')
  t.equal(usableForLocation(valid(data(1, 24, 0, 192, 168, 7))), false, 'RFC 1918')
  t.equal(usableForLocation(valid(data(1, 24, 0, 127, 0, 0))), false, 'loopback')
  t.equal(usableForLocation(valid(data(1, 24, 0, 192, 0, 2))), false, 'documentation')
  t.equal(usableForLocation(valid(data(2, 48, 0, 0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a))), false, 'ULA')
  t.equal(usableForLocation(valid(data(2, 32, 0, 0x20, 0x01, 0x0d, 0xb8))), false, 'IPv6 documentation')
})

t.test('scope: the answer holds for /24 or /48 at most, never more than the source', async (t) => {
  t.equal(answerScope(valid(data(1, 24, 0, 85, 214, 132))), 24)
  t.equal(answerScope(valid(data(1, 32, 0, 85, 214, 132, 117))), 24)
  t.equal(answerScope(valid(data(1, 16, 0, 85, 214))), 16)
  t.equal(answerScope(valid(data(2, 56, 0, 0x2a, 0x01, 0x04, 0xf8, 0, 0, 0))), 48)
  t.equal(answerScope(valid(data(2, 128, 0, ...new Array(16).fill(0x20)))), 48)
  t.equal(answerScope(valid(data(2, 32, 0, 0x2a, 0x01, 0x04, 0xf8))), 32)
})

t.test('echo: family, source and address as asked, with our scope; agrees with dns-packet', async (t) => {
  const asked = data(1, 24, 0, 85, 214, 132)
  const echo = encodeClientSubnet(valid(asked), 24)
  t.same([...echo], [0, 1, 24, 24, 85, 214, 132])
  t.same([...encodeClientSubnet(valid(data(1, 20, 0, 85, 214, 128)), 0)], [0, 1, 20, 0, 85, 214, 128])
  t.same([...encodeClientSubnet(valid(data(1, 0, 0)), 0)], [0, 1, 0, 0])

  for (const [ip, source, scope] of [['85.214.132.0', 24, 24], ['2a01:4f8::', 56, 48], ['81.2.64.0', 19, 19]] as const) {
    const opt: OptAnswer = {
      type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false,
      options: [{ code: 8, ip, sourcePrefixLength: source, scopePrefixLength: scope }]
    }
    const theirs = dnsPacket.encode({ type: 'response', additionals: [opt] })
    const fromTheirs = dnsPacket.decode(theirs).additionals?.[0]
    const theirData = fromTheirs?.type === 'OPT' ? fromTheirs.options[0]?.data : undefined
    if (theirData === undefined) throw new Error(`dns-packet wrote no option data for ${ip}/${source}`)
    // What they wrote parses as a query option once the scope is cleared, and re-encodes the same.
    const asQuery = Uint8Array.from(theirData)
    asQuery[3] = 0
    t.same([...encodeClientSubnet(valid(asQuery), scope)], [...theirData], `${ip}/${source}`)
  }
})
