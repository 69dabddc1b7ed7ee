// The decision log: one flat JSON line per sampled redirect (1 in `sample`, at random) and per
// fallback, last resort, 503 and 400, for Vector or Loki to take as is. Never the client's
// address: its network (/24, /48), the key the redirector uses. Lines are gathered for up to
// FLUSH_MS (or a write's worth), then handed to an asynchronous stream (pino's sonic-boom), so a
// request never waits on the disk; past MAX_BEHIND bytes not yet written, lines are dropped
// (counted) rather than held.

import { openSync } from 'node:fs'
import { destination } from 'pino'
import type { PathClass } from '../core/freshness.js'
import type { Client } from '../core/types.js'
import { MgError } from '../errors.js'
import type { RouteReason } from '../decision.js'
import { pathLabels } from './path-labels.js'

/** The fast path's 400s, by error code, as a line gives them. */
export const BAD_REQUEST = {
  MG_ERR_PATH_TOO_LONG: 'path-too-long',
  MG_ERR_PATH_CONTROL: 'path-control',
  MG_ERR_PATH_TRAVERSAL: 'path-traversal',
  MG_ERR_PATH_INVALID: 'path-invalid',
  MG_ERR_BAD_FORWARDED_FOR: 'bad-forwarded-for',
  MG_ERR_BAD_FORWARDED_PROTO: 'bad-forwarded-proto',
  MG_ERR_BAD_REGION_HINT: 'bad-region-hint'
} as const

export type BadRequestCode = keyof typeof BAD_REQUEST

/**
 * Why the request went where it did, from a fixed set. group: the choice of decide() (the
 * comparably-near group's); all-down: every candidate is known down, the fallback (or, without
 * one, a known-down mirror) first; no-eligible: no mirror may serve this client; a RouteReason:
 * route() changed decide()'s order; a 400: what was wrong with the request.
 */
export type DecisionReason = RouteReason | 'group' | 'all-down' | 'no-eligible' | typeof BAD_REQUEST[BadRequestCode]

/** What one line says; the client is null when it could not be told (a malformed X-Forwarded-For). */
export interface DecisionFacts {
  readonly client: Client | null
  readonly cls: PathClass | null
  /** The path below the prefix (only its labels are logged), or null for a bad target. */
  readonly rest: string | null
  /** A mirror id, 'fallback', or null (503, 400). */
  readonly mirror: string | null
  readonly status: number
  readonly reason: DecisionReason
}

/** Where lines go: a sonic-boom in service, anything that takes strings in a test. */
export interface DecisionSink {
  /** One line, newline included. */
  write (line: string): unknown
  close (): Promise<void>
}

/**
 * Bytes of whole lines a write takes at most. To standard output, PIPE_BUF on Linux: such a
 * write never interleaves with another process's (cluster workers share the pipe). To a file,
 * opened O_APPEND, no write interleaves; larger writes keep up with more lines.
 */
const MAX_WRITE = { pipe: 4096, file: 65536 }
/** Bytes the stream holds behind a slow disk before it drops lines. */
const MAX_BEHIND = 4 * 1024 * 1024
/** Lines wait at most this long to be written: a write per line would cost more than the line. */
const FLUSH_MS = 100
/** How long close() waits for the stream to finish. */
const CLOSE_WAIT_MS = 2000

export class DecisionLog {
  readonly #sink: DecisionSink
  readonly #instance: string
  /** ln(1 - 1/sample), for geometric gaps; 0 when every redirect is logged. */
  readonly #logKeep: number
  /** Redirects until the next sampled one: one decrement a request, a draw per sampled line. */
  #skip: number
  /** The last line's time, in ms and as text: lines in one millisecond share the formatting. */
  #ms = -1
  #time = ''

  constructor (opts: { sample: number, instance: string, sink: DecisionSink }) {
    if (!Number.isInteger(opts.sample) || opts.sample < 1) throw new RangeError(`sample must be a positive integer, got ${opts.sample}`)
    this.#sink = opts.sink
    this.#instance = opts.instance
    this.#logKeep = opts.sample === 1 ? 0 : Math.log(1 - 1 / opts.sample)
    this.#skip = this.#gap()
  }

  /** Redirects to the next sampled one, geometric: each redirect independently 1 in `sample`. */
  #gap (): number {
    if (this.#logKeep === 0) return 1
    return 1 + Math.floor(Math.log(1 - Math.random()) / this.#logKeep)
  }

  /** Whether this redirect is one of the sampled. */
  sampled (): boolean {
    if (--this.#skip > 0) return false
    this.#skip = this.#gap()
    return true
  }

  record (facts: DecisionFacts): void {
    const c = facts.client
    const labels = facts.rest === null ? null : pathLabels(facts.rest)
    const ms = Date.now()
    if (ms !== this.#ms) this.#time = new Date(this.#ms = ms).toISOString()
    // Flat, in a fixed order; every value is ours (bounded sets, GeoIP codes, table ids), and
    // JSON.stringify escapes whatever it is.
    this.#sink.write(JSON.stringify({
      log: 'decision',
      time: this.#time,
      instance: this.#instance,
      network: c?.network ?? null,
      country: c?.place.country ?? null,
      continent: c?.place.continent ?? null,
      located: c?.place.source ?? null,
      class: facts.cls,
      kind: labels?.kind ?? null,
      branch: labels?.branch ?? null,
      arch: labels?.arch ?? null,
      scheme: c?.scheme ?? null,
      family: c?.family ?? null,
      mirror: facts.mirror,
      status: facts.status,
      reason: facts.reason
    }) + '\n')
  }

  close (): Promise<void> {
    return this.#sink.close()
  }
}

export interface DecisionLogHooks {
  /** A line went to the stream (written, as far as this process can tell), or was dropped: the stream was too far behind. */
  onLine: (outcome: 'written' | 'dropped') => void
  onError: (err: Error) => void
}

/**
 * The log for this configuration: `file` appended to (created 0640: networks are personal data
 * enough), or stdout when null. Opened here, so a bad path fails start-up rather than the first line.
 */
export function openDecisionLog (config: { readonly sample: number, readonly file: string | null }, instance: string, hooks: DecisionLogHooks): DecisionLog {
  let fd = 1
  if (config.file !== null) {
    try {
      fd = openSync(config.file, 'a', 0o640)
    } catch (err) {
      throw new MgError('MG_ERR_CONFIG_INVALID', `decisionLog.file: cannot open ${config.file}: ${(err as Error).message}`, { cause: err })
    }
  }
  const maxWrite = config.file === null ? MAX_WRITE.pipe : MAX_WRITE.file
  const stream = destination({ fd, sync: false, maxWrite, maxLength: MAX_BEHIND })
  stream.on('error', (err: Error) => hooks.onError(err))
  // sonic-boom drops a chunk that would take it past maxLength, saying so from within write().
  let dropped = false
  stream.on('drop', () => { dropped = true })
  const put = (chunk: string): void => {
    dropped = false
    stream.write(chunk)
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) hooks.onLine(dropped ? 'dropped' : 'written')
  }
  // Lines gathered into one string: sonic-boom measures its last chunk at every write, and each
  // write is a round trip to libuv's pool, both costlier than a line when done per line.
  let batch = ''
  let timer: NodeJS.Timeout | null = null
  const flush = (): void => {
    if (timer !== null) clearTimeout(timer)
    timer = null
    let rest = batch
    batch = ''
    while (rest.length > maxWrite) {
      const cut = rest.lastIndexOf('\n', maxWrite - 1) + 1 || rest.indexOf('\n') + 1
      put(rest.slice(0, cut))
      rest = rest.slice(cut)
    }
    if (rest !== '') put(rest)
  }
  let closed: Promise<void> | null = null
  const sink: DecisionSink = {
    write (line) {
      // A request finishing while the service stops: the stream is gone, the line with it.
      if (closed !== null) return
      batch += line
      if (batch.length >= maxWrite) flush()
      else timer ??= setTimeout(flush, FLUSH_MS).unref()
    },
    close () {
      if (closed === null) flush()
      closed ??= new Promise<void>((resolve) => {
        const wait = setTimeout(resolve, CLOSE_WAIT_MS).unref()
        stream.once('close', () => { clearTimeout(wait); resolve() })
        try {
          stream.end()
        } catch {
          resolve() // already closed after an error: nothing left to flush
        }
      })
      return closed
    }
  }
  return new DecisionLog({ sample: config.sample, instance, sink })
}
