// src/http/client-address.ts: who the client is, from the peer and X-Forwarded-For.

import t from 'tap'
import { formatIp } from '../../src/core/ip.js'
import { TrustedProxies, type ClientAddress } from '../../src/http/client-address.js'

const text = (r: ClientAddress): string => (r.ok ? `${formatIp(r.ip)} ${r.scheme}` : r.code)

t.test('an untrusted peer is the client, whatever it forwards', async (t) => {
  const p = new TrustedProxies(['10.0.0.0/8', '::1/128'])
  t.equal(text(p.resolve('198.51.100.7', '203.0.113.9', 'https', false)), '198.51.100.7 http')
  t.equal(text(p.resolve('2001:db8::5', '203.0.113.9', undefined, true)), '2001:db8::5 https')
  t.equal(text(p.resolve(undefined, '203.0.113.9', undefined, false)), '127.0.0.1 http', 'no peer address: loopback, never the header')
  t.equal(text(p.resolve('not-an-address', '203.0.113.9', undefined, false)), '127.0.0.1 http')
})

t.test('a trusted peer: X-Forwarded-For from the right, up to the first untrusted hop', async (t) => {
  const p = new TrustedProxies(['10.0.0.0/8', '::1/128'])
  t.equal(text(p.resolve('10.1.2.3', '203.0.113.9', undefined, false)), '203.0.113.9 http')
  t.equal(text(p.resolve('10.1.2.3', ' 2001:db8::9 ', 'https', false)), '2001:db8::9 https')
  t.equal(text(p.resolve('10.1.2.3', '192.0.2.1, 203.0.113.9, 10.9.9.9', undefined, false)), '203.0.113.9 http', 'a client cannot forge past our proxies')
  t.equal(text(p.resolve('10.1.2.3', '10.7.7.7, 10.9.9.9', undefined, false)), '10.7.7.7 http', 'all hops trusted: the left-most')
  t.equal(text(p.resolve('10.1.2.3', undefined, undefined, false)), '10.1.2.3 http', 'nothing forwarded: the proxy itself')
  t.equal(text(p.resolve('::1', '', undefined, false)), '::1 http')
  t.equal(text(p.resolve('10.1.2.3', '203.0.113.9, bogus', undefined, false)), 'MG_ERR_BAD_FORWARDED_FOR')
  t.equal(text(p.resolve('10.1.2.3', 'bogus', undefined, false)), 'MG_ERR_BAD_FORWARDED_FOR', 'one bad hop')
  t.equal(text(p.resolve('10.1.2.3', Array(33).fill('10.0.0.1').join(','), undefined, false)), 'MG_ERR_BAD_FORWARDED_FOR', 'over 32 hops')
  t.equal(text(p.resolve('10.1.2.3', '203.0.113.9', 'gopher', false)), 'MG_ERR_BAD_FORWARDED_PROTO')
  t.equal(text(p.resolve('10.1.2.3', '203.0.113.9', 'HTTPS, http', false)), '203.0.113.9 https', 'the first proxy\'s view of the scheme')
})

t.test('remembering trusted peers never lets an untrusted one through', async (t) => {
  const p = new TrustedProxies(['10.0.0.0/8'])
  let wrong = 0
  // More trusted peers than the memo holds, interleaved with untrusted ones, twice over.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3000; i++) {
      const trusted = `10.0.${i >> 8}.${i & 0xff}`
      const untrusted = `198.51.${i >> 8}.${i & 0xff}`
      if (text(p.resolve(trusted, '203.0.113.9', undefined, false)) !== '203.0.113.9 http') wrong++
      if (text(p.resolve(untrusted, '203.0.113.9', undefined, false)) !== `${untrusted} http`) wrong++
    }
  }
  t.equal(wrong, 0, '12,000 requests, each resolved as without the memo')
})
