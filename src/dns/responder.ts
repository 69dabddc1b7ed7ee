// The embedded authoritative DNS responder (off unless dns.enabled): UDP and TCP sockets on one
// port, in front of the zone (zone.ts), which decides every answer.
//
// UDP: one socket for the configured host; for '::' an IPv6-only socket plus an IPv4 socket, so
// IPv4 clients arrive as plain IPv4, and a host without IPv6 (where '::' cannot be bound) still
// answers over IPv4. TCP (RFC 7766): one server on the same port (dual-stack for '::'); 2-byte
// length framing, several queries per connection answered in order, an idle timeout, at most
// MAX_CONNECTIONS connections, and a client that stops reading its answers is disconnected
// rather than buffered for.
// Malformed input never throws out of a handler: the zone maps it to FORMERR or a drop, and
// anything unexpected is a SERVFAIL for that one message.

import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram'
import { createServer, isIP, type Server, type Socket } from 'node:net'
import { LOOPBACK, parseIp, type Ip } from '../core/ip.js'
import type { Config } from '../config/schema.js'
import { serverFailure } from './wire.js'
import { Zone, type Locating, type Outcome, type Ranking, type Transport } from './zone.js'

/** Close a TCP connection after this long without a complete query (RFC 7766 §6.2.3: seconds). */
const IDLE_MS = 10_000
const MAX_CONNECTIONS = 1000
/** Unsent response bytes a TCP client may leave queued before it is disconnected. */
const MAX_BACKLOG = 256 * 1024
/** With port 0: how often to pick a new UDP port when TCP cannot have the same one. */
const PORT_ATTEMPTS = 20
const WARN_EVERY_MS = 60_000

export interface DnsResponderOptions {
  /** Only what DNS reads: its own section, and the probe timing its TTL is derived from. */
  readonly config: Pick<Config, 'dns' | 'probes'>
  /** The endpoint directory (EndpointDirectory). */
  readonly directory: Ranking
  /** GeoIP (GeoIp). */
  readonly geoip: Locating
  readonly log?: { warn (obj: object, msg: string): void }
  /** Called once per received message, after the reply is built; rcode DROPPED: no reply. */
  readonly onQuery?: (rcode: string, qtype: string, ecs: boolean) => void
}
const ignore = (): void => {}

/** The peer's address; anything unparsable counts as local (located at the instance's region). */
function sourceOf (address: string): Ip {
  const zone = address.indexOf('%')
  return parseIp(zone === -1 ? address : address.slice(0, zone)) ?? LOOPBACK
}

interface Binding { readonly type: 'udp4' | 'udp6', readonly address: string }

export class DnsResponder {
  readonly zone: Zone
  readonly #config: DnsResponderOptions['config']
  readonly #log: { warn (obj: object, msg: string): void } | null
  readonly #onQuery: (rcode: string, qtype: string, ecs: boolean) => void
  readonly #connections = new Set<Socket>()
  #udp: UdpSocket[] = []
  #tcp: Server | null = null
  #port: number | null = null
  #lastWarn = 0
  #suppressed = 0

  constructor (opts: DnsResponderOptions) {
    this.#config = opts.config
    this.#log = opts.log ?? null
    this.#onQuery = opts.onQuery ?? ignore
    this.zone = new Zone({ dns: opts.config.dns, probes: opts.config.probes, directory: opts.directory, geoip: opts.geoip })
  }

  /** The port UDP and TCP are bound to, or null when not listening. */
  get port (): number | null { return this.#port }

  /** Binds UDP and TCP on dns.host:dns.port (port 0: a free port, the same for both). */
  async listen (): Promise<{ udpPort: number, tcpPort: number }> {
    if (this.#tcp !== null) throw new Error('DNS responder is already listening')
    const { host, port } = this.#config.dns
    const dual = host === '::'
    let bindings: Binding[] = dual
      ? [{ type: 'udp6', address: '::' }, { type: 'udp4', address: '0.0.0.0' }]
      : [{ type: isIP(host) === 6 ? 'udp6' : 'udp4', address: host }]
    let tcpHost = host
    for (let attempt = 1; ; attempt++) {
      try {
        const udpPort = await this.#bindUdp(bindings[0] as Binding, port)
        for (const b of bindings.slice(1)) await this.#bindUdp(b, udpPort)
        const tcpPort = await this.#bindTcp(tcpHost, udpPort)
        this.#port = udpPort
        return { udpPort, tcpPort }
      } catch (err) {
        await this.close()
        const code = (err as NodeJS.ErrnoException).code
        if (dual && bindings.length === 2 && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
          this.#log?.warn({ err }, 'DNS: no IPv6 on this host; answering over IPv4 only')
          bindings = [{ type: 'udp4', address: '0.0.0.0' }]
          tcpHost = '0.0.0.0'
          continue
        }
        if (port === 0 && code === 'EADDRINUSE' && attempt < PORT_ATTEMPTS) continue
        throw err
      }
    }
  }

  async close (): Promise<void> {
    const udp = this.#udp
    const tcp = this.#tcp
    this.#udp = []
    this.#tcp = null
    this.#port = null
    for (const c of this.#connections) c.destroy()
    this.#connections.clear()
    await Promise.all([
      ...udp.map((s) => new Promise<void>((resolve) => { try { s.close(() => resolve()) } catch { resolve() } })),
      tcp === null || !tcp.listening ? Promise.resolve() : new Promise<void>((resolve) => tcp.close(() => resolve()))
    ])
  }

  #bindUdp (b: Binding, port: number): Promise<number> {
    const socket = createSocket({ type: b.type, ipv6Only: b.type === 'udp6' })
    this.#udp.push(socket)
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.bind({ port, address: b.address, exclusive: true }, () => {
        socket.off('error', reject)
        socket.on('error', (err) => this.#warn({ err }, 'DNS: UDP socket error'))
        socket.on('message', (msg, rinfo) => this.#udpMessage(socket, msg, rinfo))
        resolve(socket.address().port)
      })
    })
  }

  #bindTcp (host: string, port: number): Promise<number> {
    const server = createServer((socket) => this.#tcpConnection(socket))
    server.maxConnections = MAX_CONNECTIONS
    this.#tcp = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject)
        server.on('error', (err) => this.#warn({ err }, 'DNS: TCP server error'))
        resolve((server.address() as { port: number }).port)
      })
    })
  }

  /** One message in, one outcome out, counted; never throws. */
  #handle (msg: Buffer, source: string, transport: Transport): Buffer | null {
    let out: Outcome
    try {
      out = this.zone.answer(msg, sourceOf(source), transport)
    } catch (err) {
      this.#warn({ err, source }, 'DNS: failed to answer a query; sent SERVFAIL')
      const bytes = serverFailure(msg)
      out = { bytes, rcode: bytes === null ? 'DROPPED' : 'SERVFAIL', qtype: 'NONE', ecs: false }
    }
    try { this.#onQuery(out.rcode, out.qtype, out.ecs) } catch { /* a counter must not break DNS */ }
    return out.bytes
  }

  #udpMessage (socket: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    const bytes = this.#handle(msg, rinfo.address, 'udp')
    // No callback: Node then skips a completion request per datagram; a failed send surfaces
    // as the socket's 'error' event, which is logged (rate-limited) above.
    if (bytes !== null) socket.send(bytes, rinfo.port, rinfo.address)
  }

  #tcpConnection (socket: Socket): void {
    this.#connections.add(socket)
    socket.setNoDelay(true)
    // Re-armed by complete queries only, so trickling bytes does not keep a connection open.
    const idle = setTimeout(() => socket.destroy(), IDLE_MS).unref()
    socket.on('close', () => {
      clearTimeout(idle)
      this.#connections.delete(socket)
    })
    socket.on('error', ignore) // resets and timeouts end the connection; nothing to report
    const source = socket.remoteAddress ?? '127.0.0.1'
    // Holds at most one incomplete frame (2 + 65535 bytes) between reads.
    let pending: Buffer | null = null
    socket.on('data', (chunk: Buffer) => {
      let buf: Buffer = pending === null ? chunk : Buffer.concat([pending, chunk])
      let at = 0
      while (buf.length - at >= 2) {
        const length = buf.readUInt16BE(at)
        if (buf.length - at - 2 < length) break
        const reply = this.#handle(buf.subarray(at + 2, at + 2 + length), source, 'tcp')
        at += 2 + length
        idle.refresh()
        if (reply === null) continue
        const frame = Buffer.allocUnsafe(2 + reply.length)
        frame.writeUInt16BE(reply.length, 0)
        reply.copy(frame, 2)
        socket.write(frame)
        if (socket.writableLength > MAX_BACKLOG) {
          socket.destroy()
          return
        }
      }
      buf = buf.subarray(at)
      pending = buf.length === 0 ? null : Buffer.from(buf)
    })
  }

  /** Warns at most once a minute, saying how many warnings were held back meanwhile. */
  #warn (obj: object, msg: string): void {
    const now = Date.now()
    if (now - this.#lastWarn < WARN_EVERY_MS) {
      this.#suppressed++
      return
    }
    this.#lastWarn = now
    this.#log?.warn({ ...obj, suppressed: this.#suppressed }, msg)
    this.#suppressed = 0
  }
}
