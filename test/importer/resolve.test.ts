// src/importer/resolve.ts: each host once, a few at a time, within its time limit; what a
// resolver throws becomes a reason, never an exception.

import t from 'tap'
import { resolveAll } from '../../src/importer/resolve.js'

t.test('each host asked once; answers filtered to addresses; failures kept as reasons', async (t) => {
  const asked: string[] = []
  const results = await resolveAll(['a.example', 'b.example', 'a.example', 'c.example', 'd.example'], async (host) => {
    asked.push(host)
    if (host === 'a.example') return ['192.0.2.1', 'not-an-address', '2001:db8::1', '192.0.2.1']
    if (host === 'b.example') throw Object.assign(new Error('getaddrinfo ENOTFOUND b.example'), { code: 'ENOTFOUND' })
    if (host === 'c.example') return []
    throw new Error('resolver broke')
  }, 1000)
  t.same(asked, ['a.example', 'b.example', 'c.example', 'd.example'])
  t.same(Object.fromEntries(results), {
    'a.example': { addresses: ['192.0.2.1', '2001:db8::1'] },
    'b.example': { error: 'ENOTFOUND' },
    'c.example': { error: 'no addresses' },
    'd.example': { error: 'resolver broke' }
  })
})

t.test('a resolver that never answers is cut off at the limit', async (t) => {
  const started = performance.now()
  const results = await resolveAll(['slow.example', 'fast.example'], async (host) =>
    host === 'fast.example' ? ['192.0.2.7'] : await new Promise<string[]>(() => {}), 100)
  const ms = performance.now() - started
  t.same(Object.fromEntries(results), { 'slow.example': { error: 'no answer within 0.1 s' }, 'fast.example': { addresses: ['192.0.2.7'] } })
  t.ok(ms >= 90 && ms < 2000, `${Math.round(ms)} ms`)
})

t.test('at most 16 lookups at a time', async (t) => {
  let inFlight = 0
  let most = 0
  const hosts = Array.from({ length: 60 }, (_, i) => `h${i}.example`)
  const results = await resolveAll(hosts, async () => {
    most = Math.max(most, ++inFlight)
    await new Promise((resolve) => setTimeout(resolve, 5))
    inFlight--
    return ['192.0.2.1']
  }, 1000)
  t.equal(results.size, 60)
  t.equal(most, 16)
})
