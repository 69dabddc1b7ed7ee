// Starts the real service on a loopback port for HTTP tests, with the config given as a
// plain document (validated exactly like a config file).

import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { configFromDocument } from '../../src/config/schema.js'
import { start, type Service } from '../../src/main.js'

export interface Running { readonly service: Service, readonly port: number, readonly origin: string }

/** Probes are off unless the document turns them on: tests never reach beyond loopback. */
export async function startService (doc: Record<string, unknown> = {}, host = '127.0.0.1'): Promise<Running> {
  const config = configFromDocument({ host, port: 0, probes: { enabled: false }, ...doc }, 'test-config', process.cwd())
  const service = await start(config, null)
  const port = (service.app.fastify.server.address() as { port: number }).port
  return { service, port, origin: host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}` }
}

export interface Reply { readonly status: number, readonly headers: Record<string, string | string[] | undefined>, readonly body: string }

/** One HTTP request on a fresh connection, the way apk makes them. */
export function get (port: number, path: string, headers: Record<string, string> = {}, method = 'GET', host = '127.0.0.1'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Sends raw bytes (for requests node:http refuses to build) and returns the raw response. */
export function raw (port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let out = ''
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => { out += c })
    socket.on('end', () => resolve(out))
    socket.on('error', reject)
    socket.end(bytes)
  })
}

/** The status code of a raw HTTP response. */
export function rawStatus (response: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(response)
  return m === null ? 0 : Number(m[1])
}
