// Plain node:http responses for the fast path, which answers before Fastify is involved.

import type { ServerResponse } from 'node:http'
import { ERRORS, type ErrorCode } from '../errors.js'

const bodies = new Map<ErrorCode, string>()

/** The JSON error body every mirrorgate error uses: {"error": code, "message": text}. */
export function errorBody (code: ErrorCode, message: string = ERRORS[code].message): string {
  return JSON.stringify({ error: code, message })
}

export function sendError (res: ServerResponse, code: ErrorCode, headers?: Record<string, string>): void {
  let body = bodies.get(code)
  if (body === undefined) {
    body = errorBody(code)
    bodies.set(code, body)
  }
  res.writeHead(ERRORS[code].status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    ...headers
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
