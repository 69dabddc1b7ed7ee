// src/http/request-headers.ts must read exactly what Node's req.headers would give, for
// any casing and any duplicates: checked against Node itself on real requests over loopback.

import t from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { redirectHeaders, type RedirectHeaders } from '../../src/http/request-headers.js'

interface Seen { ours: RedirectHeaders, node: IncomingHttpHeaders }

/** Sends raw request heads on one connection; resolves what the server saw for each. */
async function exchange (heads: string[]): Promise<Seen[]> {
  const seen: Seen[] = []
  const server = createServer((req, res) => {
    seen.push({ ours: redirectHeaders(req.rawHeaders), node: req.headers })
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    for (const head of heads) {
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(head + 'Connection: close\r\n\r\n'))
        socket.on('data', () => {})
        socket.on('close', () => resolve())
        socket.on('error', reject)
      })
    }
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
  return seen
}

t.test('the same values as req.headers', async (t) => {
  const heads = [
    'GET /a HTTP/1.1\r\nHost: dl.example.org\r\n',
    'GET /a HTTP/1.1\r\nhost: eu.dl.example.org:8080\r\nx-forwarded-for: 203.0.113.9\r\n',
    'GET /a HTTP/1.1\r\nHOST: a\r\nHost: b\r\nX-Forwarded-For: 192.0.2.1\r\nX-FORWARDED-FOR: 203.0.113.9, 10.0.0.1\r\n',
    'GET /a HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nx-forwarded-proto: http\r\nIf-Modified-Since: Wed, 25 Nov 2026 10:00:00 GMT\r\nif-modified-since: Thu, 01 Jan 1970 00:00:00 GMT\r\n',
    'GET /a HTTP/1.1\r\nHost: a\r\nX-Forwarded-Fox: 1.2.3.4\r\nX-Forwarded-Host: evil.example\r\nIf-Modified-Since-X: no\r\n',
    'GET /a HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:\r\n'
  ]
  const seen = await exchange(heads)
  t.equal(seen.length, heads.length)
  for (const [i, { ours, node }] of seen.entries()) {
    t.same(ours, {
      host: node.host,
      forwardedFor: node['x-forwarded-for'],
      forwardedProto: node['x-forwarded-proto'],
      ifModifiedSince: node['if-modified-since']
    }, `request ${i + 1}`)
  }
  t.equal(seen[2]?.ours.forwardedFor, '192.0.2.1, 203.0.113.9, 10.0.0.1', 'split X-Forwarded-For is joined in order')
  t.equal(seen[2]?.ours.host, 'a', 'the first Host')
})
