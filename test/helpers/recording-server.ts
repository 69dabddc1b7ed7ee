// A loopback HTTP proxy in front of a fake mirror (fake-mirror.ts) that records what the fake
// does not: each request's method, headers, arrival and end time, the status answered, and how
// many requests were in flight at once. Politeness is measured here, from the server's side.
// `delayMs` holds every request back before it is forwarded (a slow mirror); `answer` can
// answer a path with a status of its own instead of forwarding (a listing that fails).

import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'

export interface Recorded {
  readonly method: string
  /** The request path, with the query if any: `/alpine/edge/main/x86_64/APKINDEX.tar.gz`. */
  readonly path: string
  readonly headers: IncomingHttpHeaders
  /** performance.now() when the request arrived. */
  readonly start: number
  /** performance.now() when its answer was sent (or the connection closed); null while in flight. */
  end: number | null
  /** The status answered; null while in flight or when the connection broke. */
  status: number | null
  /** Requests in flight here when this one arrived, itself included. */
  readonly concurrent: number
}

export interface RecordingServer {
  readonly port: number
  /** `http://127.0.0.1:${port}/alpine/`, as the fake's base. */
  readonly base: string
  readonly requests: Recorded[]
  readonly inFlight: number
  /** The most requests ever in flight at once. */
  readonly maxInFlight: number
  delayMs: number
  answer: ((path: string) => number | null) | null
  close (): Promise<void>
}

export async function startRecordingProxy (target: { readonly port: number }, opts: { delayMs?: number } = {}): Promise<RecordingServer> {
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let inFlight = 0
  let maxInFlight = 0

  const server = createServer((req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const seen: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, start: performance.now(), end: null, status: null, concurrent: inFlight }
    proxy.requests.push(seen)
    res.on('close', () => {
      inFlight--
      seen.end = performance.now()
      if (res.writableFinished) seen.status = res.statusCode
    })
    const forward = (): void => {
      const own = proxy.answer?.(seen.path) ?? null
      if (own !== null) {
        res.writeHead(own, { 'content-length': 0 }).end()
        return
      }
      const up = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      up.on('error', () => { if (!res.headersSent) res.writeHead(502, { 'content-length': 0 }).end(); else res.destroy() })
      req.pipe(up)
    }
    if (proxy.delayMs <= 0) {
      forward()
      return
    }
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (!res.destroyed) forward()
    }, proxy.delayMs)
    timers.add(timer)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as { port: number }).port

  const proxy: RecordingServer = {
    port,
    base: `http://127.0.0.1:${port}/alpine/`,
    requests: [],
    get inFlight () { return inFlight },
    get maxInFlight () { return maxInFlight },
    delayMs: opts.delayMs ?? 0,
    answer: null,
    async close () {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.destroy()
      if (!server.listening) return
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
  return proxy
}
