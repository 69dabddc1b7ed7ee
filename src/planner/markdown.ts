// The plan as Markdown: the inputs, a headline, then tables a reviewer can read and a test
// can parse (per mirror, per continent, per country, overflow), then what was left out.

import { budgetText, num, pct } from './format.js'
import type { AreaShare, Plan } from './plan.js'
import { FALLBACK, UNAVAILABLE } from './simulate.js'

/** Continents show their first five servers, countries three; the rest is summed as "other". */
const CONTINENT_TOP = 5
const COUNTRY_TOP = 3
const COUNTRIES_SHOWN = 30
const OVERFLOW_SHOWN = 30

function servedBy (area: AreaShare, top: number): string {
  const shown = area.served.slice(0, top).map((s) => `${s.id} ${pct(s.share, 1)}`)
  const other = area.served.slice(top).reduce((sum, s) => sum + s.share, 0)
  return [...shown, ...(other > 0 ? [`other ${pct(other, 1)}`] : [])].join(', ')
}

function ratioText (r: number | null): string {
  return r === null ? '—' : num(r, 2)
}

export function renderMarkdown (plan: Plan): string {
  const i = plan.inputs
  const p = plan.population
  const over = plan.mirrors.filter((m) => m.ratio !== null && m.ratio > 1)
  const tierShare = (tier: string): number => plan.mirrors.filter((m) => m.tier === tier).reduce((s, m) => s + m.share, 0)
  const lines: string[] = [
    `# Plan: ${i.title}`,
    '',
    `- Table: \`${i.table}\`${i.overlay === null ? '' : ` with overlay \`${i.overlay}\``}; demand: \`${i.demand}\`.`,
    `- Volume: ${num(i.volume, 0)} requests/s in total (${pct(i.httpsShare, 0)} https); this instance's share of each budget: ${i.share}; seed ${i.seed}.`,
    `- Networks: ${num(p.sampled, 0)} sampled, ${num(p.withDemand, 0)} with demand` +
      (p.unplaced + p.undemanded > 0 ? ` (${num(p.unplaced, 0)} placed in no country, ${num(p.undemanded, 0)} in countries without demand)` : '') + '.',
    `- Simulated: ${num(plan.warmSeconds, 0)} s of warm-up (load window ${i.windowSeconds} s), then ${num(plan.seconds, 0)} s counted (${num(plan.requests, 0)} requests).`,
    `- Again: \`${i.command}\``,
    '',
    '## Headline',
    '',
    `- Sent: ${num(plan.requestsPerSecond, 1)} req/s, ${num(plan.megabitsPerSecond, 0)} Mbit/s estimated (capacity.meanBytes by kind of file).`,
    `- Tier-1: ${pct(tierShare('t1'), 1)} of requests; community: ${pct(tierShare('community'), 1)}; fallback: ${pct(plan.fallbackShare, 2)}; no mirror (503): ${pct(plan.unavailableShare, 2)}.`,
    `- Over budget: ${over.length === 0 ? 'none' : over.map((m) => `${m.id} (${num(m.ratio as number, 2)})`).join(', ')}.`,
    '',
    '## Mirrors',
    '',
    'Load over the budget is the larger of requests and megabits, against this instance\'s share; peak: the highest the service\'s own meter showed, once a second.',
    '',
    '| mirror | tier | participation | budget | req/s | Mbit/s | ratio | peak | share |',
    '|---|---|---|---|--:|--:|--:|--:|--:|',
    ...plan.mirrors.map((m) => `| ${m.id} | ${m.tier} | ${m.participation} | ${budgetText(m.budget)} | ${num(m.requestsPerSecond, 1)} | ${num(m.megabitsPerSecond, 1)} | ${ratioText(m.ratio)} | ${ratioText(m.peakRatio)} | ${pct(m.share)} |`),
    `| ${FALLBACK} | — | — | — | ${num(plan.fallbackShare * plan.requestsPerSecond, 1)} | — | — | — | ${pct(plan.fallbackShare)} |`,
    `| ${UNAVAILABLE} | — | — | — | ${num(plan.unavailableShare * plan.requestsPerSecond, 1)} | — | — | — | ${pct(plan.unavailableShare)} |`,
    '',
    '## Continents',
    '',
    `| continent | req/s | share | served by (top ${CONTINENT_TOP}, then other) |`,
    '|---|--:|--:|---|',
    ...plan.continents.map((c) => `| ${c.name} | ${num(c.requestsPerSecond, 1)} | ${pct(c.share, 1)} | ${servedBy(c, CONTINENT_TOP)} |`),
    '',
    `## Countries (the ${COUNTRIES_SHOWN} with most requests)`,
    '',
    `| country | req/s | share | served by (top ${COUNTRY_TOP}, then other) |`,
    '|---|--:|--:|---|',
    ...plan.countries.slice(0, COUNTRIES_SHOWN).map((c) => `| ${c.name} | ${num(c.requestsPerSecond, 1)} | ${pct(c.share, 1)} | ${servedBy(c, COUNTRY_TOP)} |`),
    '',
    '## Overflow',
    '',
    plan.overflow.length === 0
      ? 'None: every request went to the first mirror in its network\'s order.'
      : `Requests that passed over a mirror at its budget, as mirrorgate_overflows_total counts them (the first full mirror in the network's order, and where the request went); the ${OVERFLOW_SHOWN} largest of ${plan.overflow.length}:`,
    ...(plan.overflow.length === 0
      ? []
      : ['', '| from | to | req/s | share |', '|---|---|--:|--:|',
          ...plan.overflow.slice(0, OVERFLOW_SHOWN).map((o) => `| ${o.from} | ${o.to} | ${num(o.requestsPerSecond, 1)} | ${pct(o.share)} |`)]),
    '',
    '## Left out',
    '',
    p.missing.length === 0
      ? '- Every country with demand had a sampled network.'
      : `- Countries with demand but no sampled network (their demand went to the others): ${p.missing.map((m) => `${m.country} ${m.share < 0.000005 ? '<0.001%' : pct(m.share, 3)}`).join(', ')}.`,
    i.demandKind === 'countries'
      ? '- IPv4 clients only (sampled public /24s); every enabled mirror counts as up and fresh (no probes).'
      : '- The listed addresses\' networks (/24, /48) only; every enabled mirror counts as up and fresh (no probes).',
    ''
  ]
  return lines.join('\n')
}
