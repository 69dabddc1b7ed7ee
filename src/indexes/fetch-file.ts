// One HTTP request for the index work: a GET of a master index or listing (body read up to a
// limit), or a HEAD of a mirror's copy. Never throws: failures come back as a reason.

import { USER_AGENT } from '../probes/probe.js'

export type Fetched =
  | { readonly ok: true, readonly status: number, readonly headers: Headers, readonly body: Buffer }
  | { readonly ok: false, readonly reason: string }

export interface FetchOptions {
  readonly method: 'GET' | 'HEAD'
  readonly headers?: Readonly<Record<string, string>>
  readonly timeoutMs: number
  /** A body longer than this fails the request. */
  readonly maxBytes: number
}

export async function fetchFile (url: string, opts: FetchOptions): Promise<Fetched> {
  const signal = AbortSignal.timeout(opts.timeoutMs)
  try {
    // identity: the size a HEAD reports must be the file's, as rsync copied it.
    const res = await fetch(url, { method: opts.method, headers: { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...opts.headers }, signal, redirect: 'follow' })
    if (opts.method === 'HEAD' || res.status !== 200) {
      await res.body?.cancel()
      return { ok: true, status: res.status, headers: res.headers, body: Buffer.alloc(0) }
    }
    if (Number(res.headers.get('content-length')) > opts.maxBytes) {
      await res.body?.cancel()
      return { ok: false, reason: `larger than ${opts.maxBytes} bytes` }
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).byteLength
      if (size > opts.maxBytes) return { ok: false, reason: `larger than ${opts.maxBytes} bytes` }
      chunks.push(Buffer.from(chunk as Uint8Array))
    }
    return { ok: true, status: res.status, headers: res.headers, body: Buffer.concat(chunks) }
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: `no answer within ${opts.timeoutMs} ms` }
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    return { ok: false, reason: cause?.code ?? cause?.message ?? (err as Error).message }
  }
}

/** A Last-Modified header in ms, or null. */
export function lastModifiedOf (headers: Headers): number | null {
  const v = headers.get('last-modified')
  const ms = v === null ? NaN : Date.parse(v)
  return Number.isFinite(ms) ? ms : null
}

export function sizeOf (headers: Headers): number | null {
  const v = headers.get('content-length')
  return v !== null && /^\d+$/.test(v) ? Number(v) : null
}
