// A mirror host's addresses (A and AAAA), each host with a time limit, a few at a time. The
// resolver is injected so tests never need DNS; the default asks the system (getaddrinfo).

import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'

export type Resolve = (host: string) => Promise<string[]>

export type Resolution = { readonly addresses: readonly string[] } | { readonly error: string }

/** Hosts resolved at once: enough to hide latency, few enough not to flood a resolver. */
const CONCURRENCY = 16

export const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)

async function resolveOne (host: string, resolve: Resolve, timeoutMs: number): Promise<Resolution> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
  })
  try {
    const found = await Promise.race([resolve(host), timeout])
    const addresses = [...new Set(found.filter((a) => isIP(a) !== 0))]
    return addresses.length === 0 ? { error: 'no addresses' } : { addresses }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return { error: typeof e.code === 'string' ? e.code : (e.message ?? String(err)) }
  } finally {
    clearTimeout(timer)
  }
}

/** Every host's addresses or why there are none, by host. */
export async function resolveAll (hosts: readonly string[], resolve: Resolve, timeoutMs: number): Promise<Map<string, Resolution>> {
  const unique = [...new Set(hosts)]
  const results = new Map<string, Resolution>()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < unique.length) {
      const host = unique[next++] as string
      results.set(host, await resolveOne(host, resolve, timeoutMs))
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker))
  return results
}
