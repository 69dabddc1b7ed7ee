// The plan as a picture, read at a glance: on the left each mirror's load as a bar against its
// budget (a marker line; red past it), on the right who serves each continent (top five and
// "other", stacked). Hand-written SVG, no dependencies; every text is escaped.

import { num, pct } from './format.js'
import type { Plan } from './plan.js'
import { FALLBACK, UNAVAILABLE } from './simulate.js'

const WIDTH = 1240
const ROW = 16
const LEFT = { label: 24, bar: 236, barEnd: 580 }
const RIGHT = { x: 700, width: 516, bar: 22, gap: 12 }
const TOP_SERVERS = 5
// Twenty colours told apart at a glance (none the red of an over-budget bar, none the grey of "other").
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7', '#9c755f', '#17becf', '#bcbd22',
  '#7f3c8d', '#11a579', '#cf1c90', '#008695', '#f97b72', '#4b4b8f', '#a0522d', '#66c5cc', '#dcb0f2', '#87c55f']
const FIXED: Readonly<Record<string, string>> = { other: '#d9d9d9', [FALLBACK]: '#3b3b3b', [UNAVAILABLE]: '#000000' }
const OVER = '#d62728'
const WITHIN = '#4e79a7'
const UNBUDGETED = '#a0aab4'

export function escapeXml (s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string)
}

/** A round axis end at or above `max`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax (max: number): number {
  if (!(max > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(max))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p
  return 10 * p
}

const r1 = (n: number): string => String(Math.round(n * 10) / 10)

function text (x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}"${attrs === '' ? '' : ' ' + attrs}>${escapeXml(s)}</text>`
}

function mirrorPanel (plan: Plan, top: number): { parts: string[], bottom: number } {
  const parts: string[] = []
  const scale = niceMax(Math.max(...plan.mirrors.map((m) => Math.max(m.megabitsPerSecond, m.budgetMegabits ?? 0))))
  const span = LEFT.barEnd - LEFT.bar
  const x = (v: number): number => LEFT.bar + span * Math.min(v, scale) / scale
  parts.push(text(LEFT.label, top, 'Load per mirror, Mbit/s estimated (budget: black line)', 'class="heading"'))
  const legendY = top + 18
  const swatches: Array<[string, string]> = [[WITHIN, 'within budget'], [OVER, 'over budget'], [UNBUDGETED, 'no budget']]
  swatches.forEach(([colour, label], i) => {
    parts.push(`<rect x="${LEFT.label + i * 130}" y="${legendY - 9}" width="10" height="10" fill="${colour}"/>`, text(LEFT.label + i * 130 + 14, legendY, label, 'class="small"'))
  })
  parts.push(`<line class="budget" x1="${LEFT.label + 400}" y1="${legendY - 10}" x2="${LEFT.label + 400}" y2="${legendY + 1}"/>`, text(LEFT.label + 406, legendY, 'budget', 'class="small"'))
  const axisY = top + 40
  for (let k = 0; k <= 4; k++) {
    const v = scale * k / 4
    parts.push(`<line x1="${r1(x(v))}" y1="${axisY}" x2="${r1(x(v))}" y2="${axisY + plan.mirrors.length * ROW + 4}" class="grid"/>`,
      text(x(v), axisY - 4, num(v, v > 0 && v < 10 ? 1 : 0), 'class="small" text-anchor="middle"'))
  }
  plan.mirrors.forEach((m, i) => {
    const y = axisY + 6 + i * ROW
    const colour = m.ratio === null ? UNBUDGETED : m.ratio > 1 ? OVER : WITHIN
    const w = Math.max(0, x(m.megabitsPerSecond) - LEFT.bar)
    const detail = `${m.id}: ${num(m.megabitsPerSecond, 1)} Mbit/s, ${num(m.requestsPerSecond, 1)} req/s` + (m.ratio === null ? ', no budget' : `, ${num(m.ratio, 2)} of its budget`)
    parts.push(text(LEFT.bar - 6, y + 10, m.id, `class="label${m.tier === 't1' ? ' t1' : ''}" text-anchor="end"`))
    parts.push(`<rect class="bar" data-mirror="${escapeXml(m.id)}" x="${LEFT.bar}" y="${y}" width="${r1(w)}" height="${ROW - 4}" fill="${colour}"><title>${escapeXml(detail)}</title></rect>`)
    if (m.budgetMegabits !== null) {
      const bx = r1(x(m.budgetMegabits))
      parts.push(`<line class="budget" x1="${bx}" y1="${y - 2}" x2="${bx}" y2="${y + ROW - 2}"/>`)
    }
    const value = num(m.megabitsPerSecond, m.megabitsPerSecond < 10 ? 1 : 0) + (m.ratio === null ? '' : ` · ${num(m.ratio, 2)}`)
    parts.push(text(LEFT.bar + w + 4, y + 10, value, `class="small${m.ratio !== null && m.ratio > 1 ? ' over' : ''}"`))
  })
  return { parts, bottom: axisY + plan.mirrors.length * ROW + 10 }
}

/** About how wide a 10px sans-serif text is: enough to lay a legend out without overlaps. */
const textWidth = (s: string): number => s.length * 6.2

function continentPanel (plan: Plan, top: number): { parts: string[], bottom: number } {
  const parts: string[] = [text(RIGHT.x, top, 'Who serves each continent (share of its requests)', 'class="heading"')]
  // One colour per server named in some continent's top five, the busiest overall first; each
  // bar has its own legend, so a colour used twice is never ambiguous.
  const named = new Set<string>()
  for (const c of plan.continents) for (const s of c.served.slice(0, TOP_SERVERS)) named.add(s.id)
  const overall = new Map(plan.mirrors.map((m) => [m.id, m.share]))
  const ids = [...named].sort((a, b) => (overall.get(b) ?? 0) - (overall.get(a) ?? 0) || (a < b ? -1 : 1))
  const colour = new Map<string, string>()
  let next = 0
  for (const id of ids) colour.set(id, FIXED[id] ?? COLOURS[next++ % COLOURS.length] as string)
  let y = top + 24
  for (const c of plan.continents) {
    parts.push(text(RIGHT.x, y + 12, `${c.name}: ${num(c.requestsPerSecond, 1)} req/s, ${pct(c.share, 1)} of all`, 'class="label"'))
    const segments = c.served.slice(0, TOP_SERVERS).map((s) => ({ id: s.id, share: s.share }))
    const other = c.served.slice(TOP_SERVERS).reduce((sum, s) => sum + s.share, 0)
    if (other > 0) segments.push({ id: 'other', share: other })
    let x = RIGHT.x
    for (const s of segments) {
      const w = RIGHT.width * s.share
      const fill = colour.get(s.id) ?? FIXED.other as string
      parts.push(`<rect class="segment" x="${r1(x)}" y="${y + 18}" width="${r1(w)}" height="${RIGHT.bar}" fill="${fill}"><title>${escapeXml(`${c.name}: ${s.id} ${pct(s.share, 1)}`)}</title></rect>`)
      if (w >= 30) parts.push(text(x + w / 2, y + 33, pct(s.share, 0), `class="small" text-anchor="middle" fill="${s.id === FALLBACK || s.id === UNAVAILABLE ? '#ffffff' : '#111111'}"`))
      x += w
    }
    // The bar's legend, in its order, wrapping at the panel's edge.
    let lx = RIGHT.x
    let ly = y + 54
    for (const s of segments) {
      const label = `${s.id} ${pct(s.share, 1)}`
      const w = 16 + textWidth(label)
      if (lx > RIGHT.x && lx + w > RIGHT.x + RIGHT.width) { lx = RIGHT.x; ly += 14 }
      parts.push(`<rect x="${r1(lx)}" y="${ly - 9}" width="10" height="10" fill="${colour.get(s.id) ?? FIXED.other as string}"/>`, text(lx + 13, ly, label, 'class="small"'))
      lx += w + 8
    }
    y = ly + RIGHT.gap
  }
  return { parts, bottom: y }
}

export function renderSvg (plan: Plan): string {
  const over = plan.mirrors.filter((m) => m.ratio !== null && m.ratio > 1).length
  const budgeted = plan.mirrors.filter((m) => m.ratio !== null).length
  const subtitle = `${num(plan.requestsPerSecond, 0)} req/s, ${num(plan.megabitsPerSecond, 0)} Mbit/s estimated; ` +
    `${budgeted} budgeted mirror${budgeted === 1 ? '' : 's'}, ${over} over budget; fallback ${pct(plan.fallbackShare, 1)}; ` +
    `${num(plan.population.withDemand, 0)} networks, seed ${plan.inputs.seed}`
  const left = mirrorPanel(plan, 96)
  const right = continentPanel(plan, 96)
  const height = Math.ceil(Math.max(left.bottom, right.bottom) + 20)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<style>.heading{font-size:15px;font-weight:bold}.label{font-size:11px}.t1{font-weight:bold}.small{font-size:10px}' +
      '.over{fill:#d62728;font-weight:bold}.grid{stroke:#e3e3e3;stroke-width:1}.budget{stroke:#111111;stroke-width:2}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(LEFT.label, 34, `mirrorgate plan: ${plan.inputs.title}`, 'font-size="22" font-weight="bold"'),
    text(LEFT.label, 58, subtitle, 'font-size="13" fill="#444444"'),
    text(LEFT.label, 76, 'Tier-1 mirrors in bold. Simulated through the real redirect decision; loads are estimates (capacity.meanBytes).', 'font-size="11" fill="#666666"'),
    ...left.parts,
    ...right.parts,
    '</svg>',
    ''
  ].join('\n')
}
