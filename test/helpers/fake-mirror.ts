// A loopback HTTP server standing in for an Alpine mirror, its behaviour set by the test.
// Serves /alpine/last-updated (Unix seconds of `syncTime`) and the files given; everything
// else is 404. Modes: 'slow', 'status-404' and 'status-500' affect every path (a mirror that
// hangs or breaks); 'garbage' and 'huge' only change what last-updated says. `canaryDelayMs`
// holds back only the last-updated answer: probes are slow while file downloads are not.
// Like a real mirror (rsync -a keeps mtimes, nginx answers with them): each file's
// Last-Modified is its entry in `mtimes` (else the sync time), If-Modified-Since equal to it
// gets a 304, and a folder path answers an autoindex-style listing of what is below it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export type FakeMode = 'ok' | 'slow' | 'status-404' | 'status-500' | 'garbage' | 'huge'

export interface FakeMirror {
  readonly port: number
  readonly base: string            // `http://127.0.0.1:${port}/alpine/` (or [::1] with host '::1')
  mode: FakeMode
  delayMs: number                  // used by 'slow' (default 10_000)
  canaryDelayMs: number            // delay before answering last-updated, outside 'slow' (default 0)
  syncTime: number                 // ms since epoch, served at /alpine/last-updated as Unix seconds + '\n'
  readonly files: Map<string, string | Buffer>   // path below /alpine/ -> body; other paths 404
  readonly mtimes: Map<string, number>            // path below /alpine/ -> Last-Modified (ms); default syncTime
  readonly requests: string[]      // every request path seen, in order
  down (): Promise<void>           // stop listening (connections refused), keep the port
  up (): Promise<void>             // listen again on the same port
  close (): Promise<void>
}

const PREFIX = '/alpine/'
const HUGE = Buffer.alloc(100 * 1024, '1')

/** `host` and `port`: where to listen (default 127.0.0.1, any free port); a dual-stack mirror is two fakes on one port. */
export async function startFakeMirror (opts: { syncTime?: number, files?: Record<string, string | Buffer>, canaryDelayMs?: number, host?: string, port?: number } = {}): Promise<FakeMirror> {
  const host = opts.host ?? '127.0.0.1'
  const sockets = new Set<Socket>()
  const delays = new Set<NodeJS.Timeout>()

  const fake = {
    port: 0,
    base: '',
    mode: 'ok' as FakeMode,
    delayMs: 10_000,
    canaryDelayMs: opts.canaryDelayMs ?? 0,
    syncTime: opts.syncTime ?? Date.now(),
    files: new Map<string, string | Buffer>(Object.entries(opts.files ?? {})),
    mtimes: new Map<string, number>(),
    requests: [] as string[],
    down,
    up,
    close: down
  }

  const server = createServer((req, res) => {
    fake.requests.push(req.url ?? '')
    const wait = fake.mode === 'slow' ? fake.delayMs : isCanary(req) ? fake.canaryDelayMs : 0
    if (fake.mode !== 'slow' && wait <= 0) {
      answer(req, res)
      return
    }
    const timer = setTimeout(() => {
      delays.delete(timer)
      if (!res.destroyed) answer(req, res)
    }, wait)
    delays.add(timer)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  function isCanary (req: IncomingMessage): boolean {
    return new URL(req.url ?? '/', 'http://fake').pathname === PREFIX + 'last-updated'
  }

  function answer (req: IncomingMessage, res: ServerResponse): void {
    if (fake.mode === 'status-404' || fake.mode === 'status-500') {
      send(req, res, fake.mode === 'status-404' ? 404 : 500, 'error\n')
      return
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    const rest = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : null
    if (rest === 'last-updated') {
      const body = fake.mode === 'garbage' ? '<html>not a time</html>' : fake.mode === 'huge' ? HUGE : `${Math.floor(fake.syncTime / 1000)}\n`
      send(req, res, 200, body)
      return
    }
    if (rest !== null && (rest === '' || rest.endsWith('/'))) {
      const listing = listingOf(rest)
      if (listing === null) send(req, res, 404, 'not found\n')
      else send(req, res, 200, listing)
      return
    }
    const file = rest === null ? undefined : fake.files.get(rest)
    if (file === undefined) {
      send(req, res, 404, 'not found\n')
      return
    }
    const mtime = new Date(fake.mtimes.get(rest as string) ?? fake.syncTime).toUTCString()
    // nginx's default (if_modified_since exact): 304 only for the very same time.
    if (req.headers['if-modified-since'] === mtime) send(req, res, 304, '', mtime)
    else send(req, res, 200, file, mtime)
  }

  /** The child folders and files of a folder, as nginx's autoindex links them; null if empty. */
  function listingOf (folder: string): string | null {
    const names = new Set<string>()
    for (const path of fake.files.keys()) {
      if (!path.startsWith(folder)) continue
      const rest = path.slice(folder.length)
      const slash = rest.indexOf('/')
      names.add(slash === -1 ? rest : rest.slice(0, slash + 1))
    }
    if (names.size === 0) return null
    const links = [...names].sort().map((n) => `<a href="${encodeURIComponent(n.replace(/\/$/, ''))}${n.endsWith('/') ? '/' : ''}">${n}</a>`)
    return `<html><head><title>Index of /alpine/${folder}</title></head><body><h1>Index of /alpine/${folder}</h1><hr><pre><a href="../">../</a>\n${links.join('\n')}\n</pre><hr></body></html>\n`
  }

  function send (req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer, lastModified = new Date(fake.syncTime).toUTCString()): void {
    res.writeHead(status, {
      'content-length': Buffer.byteLength(body),
      'content-type': 'application/octet-stream',
      'last-modified': lastModified
    })
    res.end(req.method === 'HEAD' || status === 304 ? undefined : body)
  }

  function listen (port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        fake.port = (server.address() as { port: number }).port
        fake.base = `http://${host.includes(':') ? `[${host}]` : host}:${fake.port}${PREFIX}`
        resolve()
      })
    })
  }

  async function up (): Promise<void> {
    if (!server.listening) await listen(fake.port)
  }

  // Drops everything at once, so that a 'slow' answer never holds a test up.
  async function down (): Promise<void> {
    for (const timer of delays) clearTimeout(timer)
    delays.clear()
    for (const socket of sockets) socket.destroy()
    if (!server.listening) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  await listen(opts.port ?? 0)
  return fake
}
