// The planner's numbers, not its bytes: the "after" example made again with a smaller sample
// obeys the budgets, sends community mirrors (overflow participation) only what the sponsors
// cannot take, accounts for every request, and agrees with the committed plans.

import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULTS, EMBEDDED_GEOIP } from '../../src/config/schema.js'
import { GeoIp } from '../../src/geoip/reader.js'
import { parseOptions } from '../../src/planner/options.js'
import type { Plan } from '../../src/planner/plan.js'
import { makePlan } from '../../src/planner/run.js'

const root = join(import.meta.dirname, '..', '..')
const examples = join(root, 'data', 'examples')
const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 100_000)
/** A fifth of the committed plans' sample, a fifth of their requests, another seed. */
const SMALL = ['--volume', '300', '--networks', '20000', '--requests', '200000', '--seed', '7']

const plan = async (args: string[]): Promise<Awaited<ReturnType<typeof makePlan>>> => makePlan(parseOptions([...args, '--demand', join(root, 'data', 'demand.csv')]), geoip)
const after = await plan(['--overlay', join(examples, 'sponsors-first.yaml'), ...SMALL])

/** The per-mirror rows of a plan's Markdown: id -> requests a second, ratio (null: no budget), share. */
function mirrorRows (markdown: string): Map<string, { rps: number, ratio: number | null, share: number }> {
  const rows = new Map<string, { rps: number, ratio: number | null, share: number }>()
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim())
    if (cells.length !== 9 || !['t1', 'community'].includes(cells[1] as string)) continue
    rows.set(cells[0] as string, {
      rps: Number((cells[4] as string).replace(/,/g, '')),
      ratio: cells[6] === '—' ? null : Number(cells[6]),
      share: Number((cells[8] as string).replace('%', '')) / 100
    })
  }
  return rows
}

const budgeted = (p: Plan): Plan['mirrors'] => p.mirrors.filter((m) => m.ratio !== null)
const overflowOnly = (p: Plan): Plan['mirrors'] => p.mirrors.filter((m) => m.tier === 'community' && m.participation === 'overflow')

t.test('the after plan: every sponsor within 10% of its budget, as there is room elsewhere', async (t) => {
  const p = after.plan
  t.equal(budgeted(p).length, 7, 'the seven Tier-1 entries have budgets')
  t.ok(overflowOnly(p).length > 40, 'and the community, with no budget, takes the rest: the total suffices')
  t.equal(p.fallbackShare + p.unavailableShare, 0, 'so nothing goes to the fallback')
  for (const m of budgeted(p)) t.ok((m.ratio as number) <= 1.1, `${m.id}: ${(m.ratio as number).toFixed(3)} of its budget`)
})

t.test('the after plan: community mirrors get load only as overflow from full sponsors', async (t) => {
  const p = after.plan
  // Demand is about twice the sponsors' budgets: they are full, and only then does the community serve.
  for (const m of budgeted(p)) t.ok((m.ratio as number) >= 0.9, `${m.id} is full: ${(m.ratio as number).toFixed(3)}`)
  const community = overflowOnly(p)
  const load = community.reduce((s, m) => s + m.share, 0)
  t.ok(load > 0.3, `community mirrors carry ${(load * 100).toFixed(1)}% (the excess)`)
  // Almost every request they got passed over a full sponsor first; the rest are networks that
  // wait, as placement's hysteresis has them, for their sponsor to fall well below its budget.
  const ids = new Set(community.map((m) => m.id))
  const overflowed = p.overflow.filter((o) => ids.has(o.to)).reduce((s, o) => s + o.share, 0)
  t.ok(overflowed >= 0.85 * load, `${(overflowed / load * 100).toFixed(1)}% of the community's requests were counted as overflow`)
})

t.test('with ample budgets the community mirrors get nothing, and nothing overflows', async (t) => {
  const dir = t.testdir({
    'ample.yaml': "enable: ['tier:t1']\nparticipation: { community: overflow }\nbudgets:\n" +
      ['osso-nl', 'netmountains-de', 'cherry-lt', 'horizoniq-us-east', 'horizoniq-us-west', 'horizoniq-eu', 'horizoniq-apac']
        .map((id) => `  ${id}: { megabitsPerSecond: 1000000 }\n`).join('')
  })
  const { plan: p } = await plan(['--overlay', join(dir, 'ample.yaml'), '--volume', '300', '--networks', '5000', '--requests', '50000'])
  t.same(overflowOnly(p).filter((m) => m.requestsPerSecond > 0).map((m) => m.id), [], 'no community mirror is sent anything')
  t.ok(budgeted(p).every((m) => (m.ratio as number) < 0.01), 'every sponsor far below its budget')
  t.same(p.overflow, [])
})

t.test('shares sum to 1: mirrors with fallback, continents, and who serves each', async (t) => {
  const p = after.plan
  const close = (x: number, what: string): void => { t.ok(Math.abs(x - 1) < 1e-9, `${what}: ${x}`) }
  close(p.mirrors.reduce((s, m) => s + m.share, 0) + p.fallbackShare + p.unavailableShare, 'mirrors, fallback and 503')
  close(p.continents.reduce((s, c) => s + c.share, 0), 'continents')
  close(p.countries.reduce((s, c) => s + c.share, 0), 'countries')
  for (const c of p.continents) close(c.served.reduce((s, x) => s + x.share, 0), `served in ${c.name}`)
  t.ok(Math.abs(p.requestsPerSecond - 300) < 1e-6, 'the simulated rate is the volume asked for')
})

for (const [name, overlay] of [['plan-after', 'sponsors-first.yaml'], ['plan-before', 'sponsors-enabled.yaml']] as const) {
  t.test(`the committed ${name}.md agrees with a fresh run within sampling error`, async (t) => {
    const committed = mirrorRows(readFileSync(join(examples, `${name}.md`), 'utf8'))
    const fresh = name === 'plan-after' ? after : await plan(['--overlay', join(examples, overlay), ...SMALL])
    const now = mirrorRows(fresh.markdown)
    t.same([...now.keys()].sort(), [...committed.keys()].sort(), 'the same mirrors')
    for (const [id, c] of committed) {
      const n = now.get(id)
      if (n === undefined) continue
      t.ok(Math.abs(n.share - c.share) <= 0.02, `${id}: ${(c.share * 100).toFixed(2)}% committed, ${(n.share * 100).toFixed(2)}% now`)
      if (c.ratio !== null) t.ok(n.ratio !== null && Math.abs(n.ratio - c.ratio) <= 0.1, `${id}: ratio ${c.ratio} committed, ${n.ratio ?? 'none'} now`)
    }
  })
}

t.test('one seed, one plan; another seed, another sample', async (t) => {
  const args = ['--overlay', join(examples, 'sponsors-first.yaml'), '--volume', '300', '--networks', '3000', '--requests', '20000']
  const a = await plan([...args, '--seed', '5'])
  const b = await plan([...args, '--seed', '5'])
  const c = await plan([...args, '--seed', '6'])
  t.equal(a.markdown, b.markdown)
  t.equal(a.svg, b.svg)
  t.not(a.markdown, c.markdown)
})

t.test('the mirror table a test reads is the one the plan printed', async (t) => {
  const dir = t.testdir({})
  writeFileSync(join(dir, 'plan.md'), after.markdown)
  const rows = mirrorRows(readFileSync(join(dir, 'plan.md'), 'utf8'))
  t.equal(rows.size, after.plan.mirrors.length, 'every mirror has a row')
  const first = after.plan.mirrors[0]
  const parsed = rows.get(first?.id ?? '')?.share ?? -1
  t.ok(Math.abs(parsed - (first?.share ?? 1)) <= 0.00005 + 1e-12, `${first?.id ?? ''}: ${parsed} read, ${first?.share ?? 'none'} planned`)
})
