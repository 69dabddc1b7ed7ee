// One health check: GET a mirror's canary (Alpine's `last-updated`), or any health URL whose
// 2xx means up (a redirector instance's /readyz), and turn whatever happens into a ProbeResult. Uses node:http(s) rather than fetch so that failures keep their
// error codes and can be told apart (connect, DNS, TLS, ...). Never throws.
//
// Redirects: at most MAX_REDIRECTS are followed, and only to the same origin or to https
// (http -> https upgrades and https CDNs are common; a hop to another plain-http host or a
// downgrade is refused as 'http-status'). The timeout covers the whole chain.

import { request as httpRequest, type IncomingMessage } from 'node:http'
import type { LookupFunction } from 'node:net'
import { request as httpsRequest } from 'node:https'
import { performance } from 'node:perf_hooks'
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls'
import { parseSyncTime, type ProbeFailure, type ProbeResult } from '../core/health.js'

export const USER_AGENT = 'mirrorgate-probe/1 (+https://github.com/mirrorgate)'
/** A sync-time canary is a line of text; anything bigger is not one. */
export const MAX_BODY = 4096
export const MAX_REDIRECTS = 2

const HEADERS = Object.freeze({
  'user-agent': USER_AGENT,
  accept: '*/*',
  // Ask caches in front of the mirror to revalidate: a cached canary hides a stalled sync.
  'cache-control': 'no-cache'
})

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EPIPE', 'EADDRNOTAVAIL'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME'])
// OpenSSL and certificate verification codes as node reports them; EPROTO is a failed handshake.
const TLS_CODE = /^(?:ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$|HOSTNAME_MISMATCH$|EPROTO$)/
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** A failure already classified where it happened. */
class ProbeError extends Error {
  constructor (readonly failure: ProbeFailure, message: string) { super(message) }
}

interface Answer { readonly status: number, readonly location: string | null, readonly body: string }

/** What a passing answer is: a canary holding a sync time, or any 2xx. */
export type Expect = 'canary' | 'ok'

/** How to reach the host: over one IP family only (a mirror's IPv4 and IPv6 are checked apart). */
export interface Connect {
  readonly family?: 4 | 6
  /** Name resolution (default: the system's); tests give loopback names both families. */
  readonly lookup?: LookupFunction
}

export async function probe (url: string, timeoutMs: number, now: () => number = Date.now, expect: Expect = 'canary', connect: Connect = {}): Promise<ProbeResult> {
  const started = performance.now()
  const result = (failure: ProbeFailure | null, message: string | null, syncTime: number | null = null): ProbeResult => Object.freeze({
    ok: failure === null, at: now(), latencyMs: performance.now() - started, syncTime, failure, message
  })
  const deadline = new AbortController()
  const timer = setTimeout(() => deadline.abort(), timeoutMs)
  try {
    let target = new URL(url)
    for (let hop = 0; ; hop++) {
      const answer = await getOnce(target, deadline.signal, connect)
      if (REDIRECTS.has(answer.status) && answer.location !== null) {
        const next = new URL(answer.location, target)
        if (hop >= MAX_REDIRECTS) return result('http-status', `HTTP ${answer.status}: more than ${MAX_REDIRECTS} redirects`)
        if (!redirectAllowed(target, next)) return result('http-status', `HTTP ${answer.status} to ${next.href} refused: only same-origin or https redirects are followed`)
        target = next
        continue
      }
      if (answer.status < 200 || answer.status > 299) return result('http-status', `HTTP ${answer.status}`)
      if (expect === 'ok') return result(null, null)
      const syncTime = parseSyncTime(answer.body, now())
      if (syncTime === null) return result('bad-canary', `canary is not a time: ${JSON.stringify(answer.body.slice(0, 40))}`)
      return result(null, null, syncTime)
    }
  } catch (err) {
    if (deadline.signal.aborted) return result('timeout', `no complete answer within ${timeoutMs} ms`)
    if (err instanceof ProbeError) return result(err.failure, err.message)
    return result(classify(err), describe(err))
  } finally {
    clearTimeout(timer)
  }
}

export function redirectAllowed (from: URL, to: URL): boolean {
  return to.protocol === 'https:' || (to.protocol === 'http:' && to.origin === from.origin)
}

export function classify (err: unknown): ProbeFailure {
  const code = errorCode(err)
  if (code === null) return 'other'
  if (CONNECT_CODES.has(code)) return 'connect'
  if (DNS_CODES.has(code)) return 'dns'
  if (code === 'ETIMEDOUT') return 'timeout'
  if (TLS_CODE.test(code)) return 'tls'
  return 'other'
}

/** The error's code; connecting to every address of a name fails with an AggregateError. */
function errorCode (err: unknown): string | null {
  const e = err as { code?: unknown, errors?: unknown } | null
  if (typeof e?.code === 'string') return e.code
  if (Array.isArray(e?.errors)) return errorCode(e.errors[0])
  return null
}

function describe (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message !== '' ? message : (errorCode(err) ?? 'unknown error')
}

/**
 * One TLS context (the default trust store) for every https probe. Node builds a new one per
 * connection otherwise, loading the root certificates again: about 0.2 ms of the event loop
 * the redirects run on, every time.
 */
let tlsContext: SecureContext | undefined
// https.request hands its options on to tls.connect, which takes secureContext.
const sharedTls = (): ConnectionOptions => ({ secureContext: tlsContext ??= createSecureContext() })

/** One request on its own connection (agent: false: no keep-alive, nothing left open). */
function getOnce (url: URL, deadline: AbortSignal, connect: Connect): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new ProbeError('other', `unsupported protocol ${url.protocol}`))
      return
    }
    const options = { method: 'GET', agent: false, headers: HEADERS, ...connect }
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...sharedTls() }) : httpRequest(url, options)
    const fail = (err: Error): void => { req.destroy(); reject(err) }
    deadline.addEventListener('abort', () => fail(new ProbeError('timeout', 'deadline')), { once: true })
    req.on('error', fail)
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      if (status < 200 || status > 299) {
        // The body of an error or redirect is of no interest; drop the connection.
        req.destroy()
        resolve({ status, location: res.headers.location ?? null, body: '' })
        return
      }
      if (Number(res.headers['content-length']) > MAX_BODY) {
        fail(new ProbeError('too-large', `canary declares ${res.headers['content-length']} bytes; at most ${MAX_BODY} expected`))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_BODY) fail(new ProbeError('too-large', `canary over ${MAX_BODY} bytes`))
        else chunks.push(chunk)
      })
      res.on('end', () => resolve({ status, location: null, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', fail) // ECONNRESET 'aborted' when the connection drops mid-body
    })
    req.end()
  })
}
