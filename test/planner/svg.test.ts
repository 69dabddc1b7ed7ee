// The plan's picture: well-formed XML (no parser is installed, so a small checker below, itself
// tested), one bar per mirror, budget markers, over-budget bars in red, every text escaped.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Plan } from '../../src/planner/plan.js'
import { escapeXml, niceMax, renderSvg } from '../../src/planner/svg.js'

const root = join(import.meta.dirname, '..', '..')

/** null when `xml` is well-formed (one root, tags nested and closed, attributes quoted, entities known), else what is wrong. */
function notWellFormed (xml: string): string | null {
  const stack: string[] = []
  let roots = 0
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?xml[^>]*\?>|([^<]+)|(<)/g
  for (const m of xml.matchAll(token)) {
    const [, close, name, attrs, selfClosing, text, stray] = m
    if (stray !== undefined) return `a '<' that starts no tag at ${m.index}`
    const chars = text ?? attrs ?? ''
    const bad = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.exec(chars)
    if (bad !== null) return `an unescaped '&' at ${m.index}`
    if (text !== undefined) {
      if (stack.length === 0 && text.trim() !== '') return `text outside the root at ${m.index}`
      continue
    }
    if (name === undefined) continue
    const seen = new Set<string>()
    for (const a of (attrs ?? '').matchAll(/([A-Za-z_:][\w:.-]*)\s*=/g)) {
      if (seen.has(a[1] as string)) return `attribute ${a[1] as string} twice in <${name}>`
      seen.add(a[1] as string)
    }
    if (close === '/') {
      if (stack.pop() !== name) return `</${name}> closes nothing open at ${m.index}`
    } else {
      if (stack.length === 0 && roots++ > 0) return 'more than one root element'
      if (selfClosing !== '/') stack.push(name)
    }
  }
  if (stack.length > 0) return `<${stack.join('>, <')}> not closed`
  return roots === 1 ? null : 'no root element'
}

t.test('the well-formedness check finds what is wrong', async (t) => {
  t.equal(notWellFormed('<svg a="1"><g><text>x &amp; y</text></g><rect/></svg>'), null)
  t.match(notWellFormed('<svg><g></svg>'), /closes nothing/)
  t.match(notWellFormed('<svg><text>a & b</text></svg>'), /unescaped '&'/)
  t.match(notWellFormed('<svg><text>a < b</text></svg>'), /starts no tag/)
  t.match(notWellFormed('<svg><rect x=1/></svg>'), /starts no tag/)
  t.match(notWellFormed('<svg><rect x="1" x="2"/></svg>'), /twice/)
  t.match(notWellFormed('<svg/><svg/>'), /more than one root/)
  t.match(notWellFormed('<svg><g>'), /not closed/)
})

const mirror = (id: string, tier: 't1' | 'community', mbps: number, budget: number | null): Plan['mirrors'][number] => ({
  id,
  tier,
  participation: tier === 't1' ? 'full' : 'overflow',
  budget: budget === null ? null : { requestsPerSecond: null, megabitsPerSecond: budget },
  requestsPerSecond: mbps / 16,
  megabitsPerSecond: mbps,
  ratio: budget === null ? null : mbps / budget,
  peakRatio: budget === null ? null : mbps / budget,
  budgetMegabits: budget,
  share: 0.25
})

const plan: Plan = {
  inputs: { title: 'sponsors <first> & "after"', table: 't.yaml', overlay: null, demand: 'd.csv', demandKind: 'countries', volume: 100, seed: 1, share: 1, httpsShare: 0.9, windowSeconds: 20, command: 'x' },
  requests: 1000,
  warmSeconds: 120,
  seconds: 10,
  requestsPerSecond: 100,
  megabitsPerSecond: 1600,
  mirrors: [mirror('over-t1', 't1', 600, 400), mirror('within-t1', 't1', 300, 400), mirror('plain', 'community', 500, null), mirror('idle', 'community', 0, null)],
  fallbackShare: 0,
  unavailableShare: 0,
  continents: [
    { code: 'EU', name: 'Europe (EU)', requestsPerSecond: 60, share: 0.6, served: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => ({ id, share: 1 / 7 })) },
    { code: 'NA', name: 'North America (NA)', requestsPerSecond: 40, share: 0.4, served: [{ id: 'over-t1', share: 0.9 }, { id: '(fallback)', share: 0.1 }] }
  ],
  countries: [],
  overflow: [],
  population: { sampled: 10, unplaced: 0, undemanded: 0, missing: [], withDemand: 10 }
}

t.test('one bar per mirror, a budget marker per budget, red past it', async (t) => {
  const svg = renderSvg(plan)
  t.equal(notWellFormed(svg), null)
  const bars = [...svg.matchAll(/<rect class="bar" data-mirror="([^"]+)"[^>]*fill="(#[0-9a-f]{6})"/g)].map((m) => [m[1], m[2]])
  t.same(bars, [['over-t1', '#d62728'], ['within-t1', '#4e79a7'], ['plain', '#a0aab4'], ['idle', '#a0aab4']])
  t.equal([...svg.matchAll(/<line class="budget"/g)].length, 2 + 1, 'two budget markers, and the legend\'s')
  t.match(svg, /mirrorgate plan: sponsors &lt;first&gt; &amp; &quot;after&quot;/, 'the title escaped')
  t.equal([...svg.matchAll(/<rect class="segment"/g)].length, 6 + 2, 'Europe: five servers and "other"; North America: two')
  t.match(svg, />other 28\.6%</, 'the rest of Europe summed as other')
})

t.test('helpers: escaping and a round axis', async (t) => {
  t.equal(escapeXml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;')
  t.same([0, 0.7, 1, 13_322, 20_001, 250].map(niceMax), [1, 1, 1, 20_000, 25_000, 250])
})

t.test('the committed pictures: well-formed, one bar per mirror of their plan', async (t) => {
  for (const name of ['plan-before', 'plan-after']) {
    const svg = readFileSync(join(root, 'data', 'examples', `${name}.svg`), 'utf8')
    const markdown = readFileSync(join(root, 'data', 'examples', `${name}.md`), 'utf8')
    t.equal(notWellFormed(svg), null, `${name}.svg is well-formed`)
    const rows = markdown.split('\n').filter((l) => /^\| [a-z0-9-]+ \| (t1|community) \|/.test(l)).map((l) => l.split('|')[1]?.trim())
    const bars = [...svg.matchAll(/<rect class="bar" data-mirror="([^"]+)"/g)].map((m) => m[1])
    t.ok(rows.length > 50, `${name}: ${rows.length} mirrors`)
    t.same(bars, rows, `${name}: one bar per mirror, in the table's order`)
  }
})
