// The Node ceiling for DNS: a bare node:dgram server that answers every query with the same
// A record. It copies the id and the question and appends one A record (owner compressed to
// the question), and does nothing else: no EDNS, no validation, no GeoIP, no selection.
//
//   node bench/dns/baseline.mjs [--host 127.0.0.1] [--port 0]
//
// Prints "listening <host>:<port>" on stdout once bound; stops on SIGTERM/SIGINT.

import { createSocket } from 'node:dgram'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } }
})

// owner: pointer to offset 12 | type A | class IN | TTL 60 | RDLENGTH 4 | 192.0.2.1
const RECORD = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1])

const socket = createSocket(values.host.includes(':') ? 'udp6' : 'udp4')
socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return
  let i = 12
  while (i < msg.length && msg[i] !== 0) i += msg[i] + 1
  const end = i + 5 // root byte, QTYPE, QCLASS
  if (end > msg.length) return
  const out = Buffer.allocUnsafe(end + RECORD.length)
  msg.copy(out, 0, 0, end)
  out[2] = 0x84 | (msg[2] & 0x01) // QR, AA, RD copied
  out[3] = 0
  out.writeUInt16BE(1, 4)
  out.writeUInt16BE(1, 6)
  out.writeUInt32BE(0, 8)
  RECORD.copy(out, end)
  socket.send(out, rinfo.port, rinfo.address)
})
socket.bind(Number(values.port), values.host, () => {
  const a = socket.address()
  process.stdout.write(`listening ${a.address}:${a.port}\n`)
})

const stop = () => socket.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
