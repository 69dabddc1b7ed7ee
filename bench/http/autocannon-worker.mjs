// Runs one autocannon measurement in its own process (so it can be pinned to its own CPU)
// and prints one JSON line. Every request takes the next "address path" line of the
// workload file through autocannon's setupRequest hook.
//
//   node autocannon-worker.mjs '{"url":"http://127.0.0.1:P","workload":"FILE","mode":"keepalive","seconds":5,"connections":64}'
// Add "rate": N to offer a fixed N requests/s instead of as many as the server takes.

import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const o = JSON.parse(process.argv[2])
const lines = readFileSync(o.workload, 'utf8').split('\n').filter((l) => l !== '')
const entries = lines.map((l) => {
  const space = l.indexOf(' ')
  return { ip: l.slice(0, space), path: l.slice(space + 1) }
})

let next = (o.start ?? 0) % entries.length
const baseHeaders = { 'user-agent': 'apk-tools/2.14.9' }
if (o.mode === 'close') baseHeaders.connection = 'close'

// autocannon 8 mishandles a server that closes the connection after each response
// (Connection: close): it writes the next request onto the closing socket and keeps that
// request queued, so every later response on the client is timed from a stale start (the
// latencies grow through the run), and it reconnects from both the socket's 'error' and its
// 'end', leaving an extra connection behind. For close mode, drop the old socket and the
// requests queued on it whenever the client reconnects. Keep-alive runs are left untouched.
function fixReconnects (client) {
  const connect = client._connect
  client._connect = function () {
    const old = this.conn
    if (old !== undefined) {
      old.removeAllListeners('data')
      old.removeAllListeners('end')
      old.removeAllListeners('error')
      old.on('error', () => {})
      old.destroy()
    }
    this.pipelinedRequests.clear()
    return connect.call(this)
  }
}

const result = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.seconds,
  timeout: 5,
  headers: baseHeaders,
  // A fixed offered load (requests/s over all connections), for latency below saturation.
  ...(o.rate ? { overallRate: o.rate } : {}),
  ...(o.mode === 'close' ? { setupClient: fixReconnects } : {}),
  requests: [{
    setupRequest (req) {
      const e = entries[next]
      next = next + 1 === entries.length ? 0 : next + 1
      return { ...req, method: 'GET', path: e.path, headers: { ...baseHeaders, 'x-forwarded-for': e.ip } }
    }
  }]
})

let r3xx = 0
let total = 0
for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
  total += count
  if (code >= 300 && code < 400) r3xx += count
}
process.stdout.write(JSON.stringify({
  tool: 'autocannon',
  requests: total,
  seconds: result.duration,
  rps: total / result.duration,
  latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  responses3xx: r3xx,
  non3xx: total - r3xx,
  socketErrors: result.errors,
  errors: { errors: result.errors, timeouts: result.timeouts, resets: result.resets, mismatches: result.mismatches }
}) + '\n')
