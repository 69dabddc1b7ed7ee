// Load on a loopback service while a test changes something under it (a reload, a restart):
// a few clients, each sending one GET at a time from client addresses of the test's choosing,
// until stopped. What comes back is counted by status, a failed request as -1, so a test can
// say "every request answered 302" and "the load ran".

import type { Test } from 'tap'
import { Agent, request } from 'node:http'

export interface LoadOptions {
  readonly path: string
  /** The X-Forwarded-For of the i-th request (counted over all clients). */
  readonly from: (i: number) => string
  readonly clients: number
  /** Keep-alive connections (default), or a new connection for every request, the way apk makes them. */
  readonly connections?: 'keep-alive' | 'new'
}

export interface Load {
  /** Answers so far, by status; -1 counts requests that failed. */
  readonly statuses: ReadonlyMap<number, number>
  /** The mirrors answers named so far (X-Mirrorgate-Mirror). */
  readonly mirrors: ReadonlySet<string>
  /** Requests answered or failed so far. */
  readonly total: () => number
  /** Stops the clients and resolves when their last requests are done. */
  readonly stop: () => Promise<void>
}

/** Starts the clients at once; they stop on `stop()`, or when the test ends whatever happened. */
export function startLoad (t: Test, port: number, opts: LoadOptions): Load {
  const agent = opts.connections === 'new' ? false : new Agent({ keepAlive: true, maxSockets: opts.clients })
  const statuses = new Map<number, number>()
  const mirrors = new Set<string>()
  let total = 0
  let running = true
  let n = 0
  const one = (from: string): Promise<number> => new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path, agent, headers: { 'X-Forwarded-For': from } }, (res) => {
      mirrors.add(String(res.headers['x-mirrorgate-mirror']))
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(-1))
    req.end()
  })
  const client = async (): Promise<void> => {
    while (running) {
      const status = await one(opts.from(n++))
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      total++
    }
  }
  const clients = Array.from({ length: opts.clients }, client)
  const done = Promise.all(clients).then(() => { if (agent !== false) agent.destroy() })
  // A test that fails half way must not leave its clients running.
  t.teardown(() => { running = false })
  return {
    statuses,
    mirrors,
    total: () => total,
    stop: async () => {
      running = false
      await done
    }
  }
}
