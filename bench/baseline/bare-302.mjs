// The Node ceiling: a bare node:http server that answers every request with the same 302,
// doing no parsing, no GeoIP and no selection. Whatever mirrorgate does costs on top of this.
//
//   node bench/baseline/bare-302.mjs [--host 127.0.0.1] [--port 18180]
//
// Prints "listening <host>:<port>" on stdout once bound; stops on SIGTERM/SIGINT.

import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '18180' } }
})

const LOCATION = 'https://dl-cdn.alpinelinux.org/alpine/v3.22/main/x86_64/APKINDEX.tar.gz'

// Same server options as mirrorgate's front (maxHeaderSize) so only the work differs.
const server = createServer({ maxHeaderSize: 8192 }, (req, res) => {
  res.writeHead(302, { Location: LOCATION, 'Content-Length': '0' })
  res.end()
})

server.listen(Number(values.port), values.host, () => {
  const a = server.address()
  process.stdout.write(`listening ${a.address}:${a.port}\n`)
})

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
