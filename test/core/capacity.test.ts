// Bounded-load placement (src/core/capacity.ts) as properties over many networks: the loads it
// settles at, what makes a network move, and that load shifts settle instead of swinging. The
// load model is exact (a mirror's load is the sum of its networks' rates, updated as each
// network moves), so these test the rule itself; test/http/budgets.test.ts runs the service.

import t from 'tap'
import { ADMIT_BELOW, LEAVE_ABOVE, loadRatio, place, RETURN_BELOW, thresholdDraw, type Candidate } from '../../src/core/capacity.js'
import { fnv1a32, rendezvousScore } from '../../src/core/hash.js'

interface Mirror extends Candidate { readonly budget: number, readonly weight: number }
interface Network { readonly hash: number, rate: number, readonly order: readonly Mirror[], at: string | null }

const mirror = (id: string, budget: number, weight = 1): Mirror => ({ id, seed: fnv1a32(id), budget, weight })

/** Networks with rendezvous orders over the mirrors, as the selection gives them. */
function networks (n: number, mirrors: readonly Mirror[], rate: (i: number) => number): Network[] {
  return Array.from({ length: n }, (_, i) => {
    const hash = fnv1a32(`10.${i >> 8}.${i & 255}.0/24`)
    const order = [...mirrors].sort((a, b) => rendezvousScore(hash, b.seed, b.weight) - rendezvousScore(hash, a.seed, a.weight))
    return { hash, rate: rate(i), order, at: null }
  })
}

interface World {
  readonly mirrors: readonly Mirror[]
  readonly nets: Network[]
  readonly load: Map<string, number>
  /** One pass: every network asks for its placement, in order; returns the moves (changes of mirror). */
  pass (): Array<{ net: Network, from: string | null, to: string | null, why: string }>
}

function world (mirrors: readonly Mirror[], nets: Network[]): World {
  const load = new Map(mirrors.map((m) => [m.id, 0]))
  const budget = new Map(mirrors.map((m) => [m.id, m.budget]))
  const ratio = (id: string): number => (load.get(id) as number) / (budget.get(id) as number)
  return {
    mirrors,
    nets,
    load,
    pass () {
      const moves: Array<{ net: Network, from: string | null, to: string | null, why: string }> = []
      for (const net of nets) {
        const candidates = net.order
        const before = net.at === null ? -1 : candidates.findIndex((c) => c.id === net.at)
        const why = before < 0 ? (net.at === null ? 'new' : 'gone')
          : ratio(net.at as string) > LEAVE_ABOVE.from + (LEAVE_ABOVE.to - LEAVE_ABOVE.from) * thresholdDraw(net.hash, (candidates[before] as Mirror).seed) ? 'full' : 'return'
        const p = place(candidates, net.at, net.hash, ratio)
        const to = p.index < 0 ? null : (candidates[p.index] as Mirror).id
        if (to === net.at) continue
        if (net.at !== null && load.has(net.at)) load.set(net.at, (load.get(net.at) as number) - net.rate)
        if (to !== null) load.set(to, (load.get(to) as number) + net.rate)
        moves.push({ net, from: net.at, to, why })
        net.at = to
      }
      return moves
    }
  }
}

/** Passes until nothing moves (or the limit); returns how many passes moved something. */
function settle (w: World, limit = 50): number {
  for (let i = 1; i <= limit; i++) if (w.pass().length === 0) return i - 1
  return limit
}

t.test('without budgets every network takes its first mirror, as today', async (t) => {
  const ms = [mirror('a', Infinity), mirror('b', Infinity), mirror('c', Infinity)]
  for (const net of networks(2000, ms, () => 1)) {
    t.equal(place(net.order, null, net.hash, () => 0).index, 0)
    // And whatever it had: with no load anywhere it goes back to its first.
    t.equal(place(net.order, (net.order[2] as Mirror).id, net.hash, () => 0).index, 0)
  }
  t.equal(loadRatio(null, 1e9, 1e12, 1), 0, 'no budget: never full')
})

t.test('enough capacity in total: every mirror settles at or under its budget, and all are served', async (t) => {
  // Demand 1000; budgets 400 + 300 + 250 + 200 = 1150. Weights say a takes half of the first choices.
  const ms = [mirror('a', 400, 5), mirror('b', 300, 2), mirror('c', 250, 2), mirror('d', 200, 1)]
  const w = world(ms, networks(5000, ms, () => 0.2))
  const passes = settle(w)
  t.ok(passes < 50, `settled after ${passes} passes`)
  for (const m of ms) {
    const ratio = (w.load.get(m.id) as number) / m.budget
    t.ok(ratio <= 1 + 0.2 / m.budget, `${m.id} at ${(ratio * 100).toFixed(1)}% of its budget`)
  }
  t.equal(w.nets.filter((n) => n.at === null).length, 0, 'no network left without a mirror')
  const first = w.nets.filter((n) => n.at === (n.order[0] as Mirror).id).length
  t.ok(first > 0.6 * w.nets.length, `${first} of ${w.nets.length} networks keep their first choice: only the excess moves`)
})

t.test('too little capacity: the excess goes to the fallback (no mirror), never over a budget', async (t) => {
  const ms = [mirror('a', 100), mirror('b', 100)]
  const w = world(ms, networks(3000, ms, () => 0.1))
  settle(w)
  for (const m of ms) t.ok((w.load.get(m.id) as number) <= m.budget + 0.1, `${m.id}: ${(w.load.get(m.id) as number).toFixed(1)} of ${m.budget}`)
  const none = w.nets.filter((n) => n.at === null).length
  t.ok(none > 0.3 * w.nets.length, `${none} networks to the fallback`)
})

t.test('a network moves only when its mirror is full or gone, or goes back to one it prefers that has room again', async (t) => {
  const ms = [mirror('a', 300), mirror('b', 300), mirror('c', 300)]
  const nets = networks(3000, ms, () => 0.2)
  const w = world(ms, nets)
  settle(w)
  // Demand grows by 70%, past every budget: some move, each for a reason.
  for (const n of nets) n.rate *= 1.7
  for (const m of ms) w.load.set(m.id, nets.filter((n) => n.at === m.id).reduce((s, n) => s + n.rate, 0))
  const moves: string[] = []
  for (let i = 0; i < 30; i++) for (const mv of w.pass()) moves.push(mv.why)
  t.ok(moves.length > 0, 'the growth moved some networks')
  t.same([...new Set(moves)].sort(), ['full'], 'growth: every move was away from a full mirror')
  // Mirror b leaves the table: its networks, and only those, move.
  const onB = new Set(nets.filter((n) => n.at === 'b'))
  const w2 = world(ms.filter((m) => m.id !== 'b'), nets.map((n) => Object.assign(n, { order: n.order.filter((m) => m.id !== 'b') })))
  for (const m of w2.mirrors) w2.load.set(m.id, nets.filter((n) => n.at === m.id).reduce((s, n) => s + n.rate, 0))
  const gone = w2.pass()
  t.ok(gone.length >= onB.size && gone.filter((mv) => mv.why === 'gone').length === onB.size, `the ${onB.size} networks of the removed mirror moved`)
  t.ok(gone.every((mv) => mv.why === 'gone' || mv.why === 'full'), 'and no other network moved for another reason')
})

t.test('removing load lets networks return, and the placement settles without swinging', async (t) => {
  const ms = [mirror('a', 200, 3), mirror('b', 1000, 1)]
  const nets = networks(4000, ms, () => 0.1)
  const w = world(ms, nets)
  settle(w)
  const preferA = nets.filter((n) => (n.order[0] as Mirror).id === 'a')
  const onA = (): number => nets.filter((n) => n.at === 'a').length
  const overflowed = preferA.filter((n) => n.at === 'b').length
  t.ok(overflowed > 1000, `a is full: ${overflowed} networks that prefer it are on b`)
  // Three quarters of the demand goes away (the networks stay, asking less).
  for (const n of nets) n.rate *= 0.25
  for (const m of ms) w.load.set(m.id, nets.filter((n) => n.at === m.id).reduce((s, n) => s + n.rate, 0))
  const before = onA()
  const passes = settle(w)
  t.ok(passes < 50, `settled after ${passes} passes`)
  t.ok(onA() > before * 1.5, `networks came back to a (${before} -> ${onA()})`)
  t.ok((w.load.get('a') as number) <= 200 * 1.0 + 0.1, 'and a stays within its budget')
  // Settled means settled: more passes move nothing.
  let later = 0
  for (let i = 0; i < 20; i++) later += w.pass().length
  t.equal(later, 0, 'no network moves once it has settled (no oscillation)')
  // And growing back does not make a network swing back and forth: each moves at most twice (out, in).
  const count = new Map<Network, number>()
  for (let round = 0; round < 6; round++) {
    for (const n of nets) n.rate *= round % 2 === 0 ? 4 : 0.25
    for (const m of ms) w.load.set(m.id, nets.filter((n) => n.at === m.id).reduce((s, n) => s + n.rate, 0))
    for (let i = 0; i < 50; i++) for (const mv of w.pass()) count.set(mv.net, (count.get(mv.net) ?? 0) + 1)
  }
  const most = Math.max(...count.values())
  t.ok(most <= 6, `over three cycles of load, a network moved at most ${most} times (out and back each cycle)`)
})

t.test('thresholds: each network has its own, in the stated bands', async (t) => {
  const draws = Array.from({ length: 10000 }, (_, i) => thresholdDraw(fnv1a32(String(i)), fnv1a32('m')))
  t.ok(draws.every((u) => u >= 0 && u < 1))
  const mean = draws.reduce((s, u) => s + u, 0) / draws.length
  t.ok(Math.abs(mean - 0.5) < 0.02, `spread evenly (mean ${mean.toFixed(3)})`)
  t.ok(ADMIT_BELOW < LEAVE_ABOVE.from && ADMIT_BELOW < 1, 'new networks only below the budget, and below where its own networks start to leave')
  t.ok(RETURN_BELOW.to < LEAVE_ABOVE.from - 0.1, 'returns happen well below the point of leaving')
  t.equal(loadRatio({ requestsPerSecond: 100, bytesPerSecond: 1000 }, 50, 900, 0.5), 1.8, 'the larger of the two, over this instance\'s share')
})

t.test('a package request never moves a network: its packages follow the index it was given', async (t) => {
  const ms = [mirror('a', 100), mirror('b', 100)]
  const [net] = networks(1, ms, () => 1) as [Network]
  const own = (net.order[0] as Mirror).id
  const overloaded = (id: string): number => (id === own ? 5 : 0)
  t.equal(place(net.order, own, net.hash, overloaded, true).index, 0, 'a package: kept, however full')
  t.equal(place(net.order, own, net.hash, overloaded, true).changed, false)
  t.equal(place(net.order, own, net.hash, overloaded).index, 1, 'its next index request moves it')
  t.equal(place(net.order, null, net.hash, overloaded, true).index, 1, 'a network with no mirror yet is placed, package or not')
  const gone = net.order.filter((m) => m.id !== own)
  t.equal(place(gone, own, net.hash, () => 0, true).index, 0, 'a mirror that is gone is not held on to')
})
