// GET /: the status page. The report /api/v1/mirrors serves, rendered as one HTML page a
// person reads at a glance. Server-rendered, no scripts, no external assets. Every value from
// data goes through the `html` tag below, which escapes it unless it is already markup.
// Public, like the API: no drain reasons, notes or tokens (the report has none to leak).

import type { FastifyInstance } from 'fastify'
import { COUNTRIES } from '../../core/countries.js'
import { ATTRIBUTION } from './explain.js'
import { mirrorsReport, type MirrorsDeps } from './mirrors.js'

// --- The report, as mirrorsReport builds it (it is typed `object` there) ---

interface ProbeView {
  readonly url: string
  readonly state?: string
  readonly latencyMs?: number | null
  readonly lastCheck?: string | null
  readonly lastError?: { readonly reason: string, readonly message: string, readonly at: string | null } | null
}

export interface MirrorView {
  readonly id: string
  readonly name: string
  readonly sponsor: string | null
  readonly tier: string
  readonly country: string
  readonly continent: string
  readonly enabled: boolean
  readonly state: string
  readonly http: ProbeView | null
  readonly https: ProbeView | null
  readonly syncTime: string | null
  readonly lagSeconds: number | null
  readonly draining: { readonly until: string | null } | null
  readonly servesIndexes: boolean
  readonly servesPackages: boolean
  /** Per IP family the mirror claims: whether clients of that family are sent to it. */
  readonly servesFamilies?: Partial<Record<'ipv4' | 'ipv6', boolean>>
  readonly share: number
  /** Each followed index's copy on this mirror (absent from reports made before coverage). */
  readonly coverage?: CoverageView
  /** full, country (clients in its own country only) or overflow (only when the preferred are full); absent: full. */
  readonly participation?: string
  /** Its sponsor's budget and the load against it; null or absent: none. */
  readonly budget?: BudgetView | null
}

export interface BudgetView {
  /** For the whole service, as the table gives them; null: no limit of that kind. */
  readonly requestsPerSecond: number | null
  readonly megabitsPerSecond: number | null
  /** What this process sent lately; the ratio is over its share of the budget. Null: not measured. */
  readonly load: { readonly requestsPerSecond: number, readonly megabitsPerSecond: number, readonly ratio: number } | null
}

export interface CoverageView {
  /** measured (some index HEAD told), declared (the table's `coverage:`), or none. */
  readonly basis: string
  readonly declared: { readonly include: readonly string[], readonly exclude: readonly string[] } | null
  readonly counts: Readonly<Record<string, number>>
  /** Folder (`v3.22/main/x86_64/`) to state. */
  readonly indexes: Readonly<Record<string, string>>
}

export interface StatusReport {
  readonly instance: { readonly id: string, readonly region: string }
  readonly generatedAt: string
  readonly tableVersion: number
  readonly referenceSyncTime: string | null
  readonly master: (ProbeView & { readonly syncTime: string | null }) | null
  readonly failOpen: boolean
  /** The master's followed indexes; absent or none followed: no coverage matrix. */
  readonly indexes?: { readonly followed: number, readonly files: number, readonly lastModified: string | null }
  /** The fraction of every budget this process may use (null: load not measured). */
  readonly capacity?: { readonly budgeted: boolean, readonly share: number | null }
  readonly mirrors: readonly MirrorView[]
}

// --- Escaping: interpolations are text unless they are Html ---

/** Markup that is already safe: built by `html` from escaped parts. */
class Html {
  constructor (readonly text: string) {}
  toString (): string { return this.text }
}

type Part = Html | string | number | readonly Html[]

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** A template tag that escapes every interpolated value except Html (and arrays of Html). */
function html (strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0] as string
  parts.forEach((p, i) => {
    out += p instanceof Html ? p.text : Array.isArray(p) ? p.join('') : escapeHtml(p as string | number)
    out += strings[i + 1] as string
  })
  return new Html(out)
}

// --- Words and numbers for people ---

const STATES = ['up', 'down', 'stale', 'draining', 'disabled', 'unknown'] as const

const CONTINENT_NAMES: Readonly<Record<string, string>> = {
  AF: 'Africa', AN: 'Antarctica', AS: 'Asia', EU: 'Europe', NA: 'North America', OC: 'Oceania', SA: 'South America'
}

const TIERS = [
  { tier: 't1', title: 'Tier-1 sponsors', empty: 'No Tier-1 sponsor mirrors in the table.' },
  { tier: 'community', title: 'Community mirrors', empty: 'No community mirrors in the table.' }
] as const

/** Widths (%) of the mirror table's ten columns: both tier tables line up. */
const COLUMNS = [19, 11, 10, 8, 6, 7, 8, 14, 9, 8] as const

const continentName = (code: string): string => CONTINENT_NAMES[code] ?? code
const countryName = (code: string): string => COUNTRIES.get(code)?.name ?? code

/** 45 s, 12 min, 3 h, 2 d. */
export function humanDuration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86400)} d`
}

const lagText = (seconds: number | null): string =>
  seconds === null ? 'unknown' : seconds === 0 ? 'in sync' : humanDuration(seconds)

const latencyText = (ms: number): string => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`)

const percent = (share: number): string => `${(share * 100).toFixed(1)} %`

function truncate (s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`
}

/** A timestamp shown as "5 min ago", with the exact time on hover. */
function when (iso: string | null | undefined, now: number, never = 'never'): Html {
  if (iso === null || iso === undefined) return html`<span class="muted">${never}</span>`
  const ago = (now - Date.parse(iso)) / 1000
  const text = Math.abs(ago) < 5 ? 'just now' : ago < 0 ? `in ${humanDuration(-ago)}` : `${humanDuration(ago)} ago`
  return html`<time datetime="${iso}" title="${iso}">${text}</time>`
}

function badge (state: string): Html {
  const known = (STATES as readonly string[]).includes(state) ? state : 'unknown'
  return html`<span class="badge state-${known}">${state}</span>`
}

// --- Page sections ---

function renderHeader (r: StatusReport, now: number): Html {
  const master = r.master === null
    ? html`<span class="muted">none configured; the newest mirror sets the reference</span>`
    : html`${badge(r.master.state ?? 'unknown')} <span class="muted">${hostOf(r.master.url)}</span>${
      r.master.lastError == null || r.master.state !== 'down' ? '' : html` <span class="error">${r.master.lastError.reason}</span>`}`
  return html`<header>
  <h1>Alpine Linux mirrors <span class="muted">· mirrorgate status</span></h1>
  <dl class="facts">
    <div><dt>Instance</dt><dd>${r.instance.id} <span class="muted">(${r.instance.region})</span></dd></div>
    <div><dt>Mirror table</dt><dd>version ${r.tableVersion}</dd></div>
    <div><dt>Reference sync</dt><dd>${when(r.referenceSyncTime, now, 'not known yet')}</dd></div>
    <div><dt>Master</dt><dd>${master}</dd></div>
    ${r.indexes === undefined || r.indexes.followed === 0 ? '' : html`<div><dt>Indexes followed</dt><dd>${r.indexes.followed} <span class="muted">· ${r.indexes.files} files</span></dd></div>`}
    <div><dt>Generated</dt><dd>${when(r.generatedAt, now)}</dd></div>
  </dl>
</header>`
}

function renderFailOpen (failOpen: boolean): Html {
  if (!failOpen) return html``
  return html`<div class="banner" role="alert" id="fail-open">
  <strong>FAIL-OPEN</strong>: the master and most mirrors fail their health checks at once, which
  points at the prober, so health is being ignored. Clients may be sent to mirrors that are down;
  freshness rules still apply.
</div>`
}

function renderSummary (mirrors: readonly MirrorView[]): Html {
  const tiles = STATES.map((s) => {
    const n = mirrors.filter((m) => m.state === s).length
    return html`<li class="tile state-${s}${n === 0 ? ' zero' : ''}"><span class="count">${n}</span> ${s}</li>`
  })
  return html`<section aria-label="Summary"><ul class="summary">${tiles}<li class="tile total"><span class="count">${mirrors.length}</span> in total</li></ul></section>`
}

function renderRegions (mirrors: readonly MirrorView[]): Html {
  const rows = groupBy(mirrors, (m) => m.continent, continentName).map(([continent, ms]) => {
    const up = ms.filter((m) => m.state === 'up').length
    const enabled = ms.filter((m) => m.enabled).length
    const share = ms.reduce((sum, m) => sum + m.share, 0)
    const countries = groupBy(ms, (m) => m.country, countryName)
      .map(([c, cms]) => html`<span class="country" title="${countryName(c)}">${c}&nbsp;${cms.filter((m) => m.state === 'up').length}/${cms.length}</span>`)
    return html`<tr>
      <th scope="row">${continentName(continent)}</th>
      <td class="num">${enabled === 0 ? html`<span class="muted">none enabled</span>` : html`<strong>${up}</strong> of ${enabled}`}${
        enabled < ms.length ? html` <span class="muted">· ${ms.length - enabled} disabled</span>` : ''}</td>
      <td>${countries}</td>
      <td class="num">${shareBar(share)}</td>
    </tr>`
  })
  return html`<section>
  <h2>Which mirrors serve which regions</h2>
  <p class="muted">Clients are sent to the nearest eligible mirror, so a continent's mirrors carry most of its traffic. Countries show mirrors up / listed.</p>
  <div class="scroll"><table class="regions">
    <thead><tr><th scope="col">Continent</th><th scope="col">Mirrors up</th><th scope="col">Countries</th><th scope="col">Traffic share</th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
</section>`
}

function renderTier (title: string, empty: string, tier: string, mirrors: readonly MirrorView[], now: number, share: number | null): Html {
  if (mirrors.length === 0) return html`<section id="tier-${tier}"><h2>${title}</h2><p class="muted">${empty}</p></section>`
  const groups = groupBy(mirrors, (m) => m.continent, continentName).map(([continent, ms]) => html`<tbody>
    <tr class="group"><th colspan="10" scope="rowgroup">${continentName(continent)} <span class="muted">· ${ms.length} ${ms.length === 1 ? 'mirror' : 'mirrors'}</span></th></tr>
    ${sortMirrors(ms).map((m) => renderMirror(m, now, share))}
  </tbody>`)
  return html`<section id="tier-${tier}">
  <h2>${title} <span class="muted">· ${mirrors.length}</span></h2>
  <div class="scroll"><table class="mirrors">
    <colgroup>${COLUMNS.map((w) => html`<col style="width: ${w}%">`)}</colgroup>
    <thead><tr>
      <th scope="col">Mirror</th><th scope="col">Sponsor</th><th scope="col">Country</th><th scope="col">State</th>
      <th scope="col">Lag</th><th scope="col">Latency</th><th scope="col">Last check</th><th scope="col">Last error</th>
      <th scope="col">Traffic</th><th scope="col">Serves</th>
    </tr></thead>
    ${groups}
  </table></div>
</section>`
}

function renderMirror (m: MirrorView, now: number, share: number | null): Html {
  const probes = schemes(m)
  const state = (STATES as readonly string[]).includes(m.state) ? m.state : 'unknown'
  const until = m.draining?.until == null ? '' : html`<div class="muted small">until ${when(m.draining.until, now)}</div>`
  return html`<tr class="row-${state}" data-mirror="${m.id}">
    <td class="name"><strong>${m.name}</strong><div class="muted small">${m.id}${renderHosts(probes)}</div></td>
    <td>${m.sponsor ?? html`<span class="muted">—</span>`}</td>
    <td><span title="${countryName(m.country)}">${countryName(m.country)}</span> <span class="muted small">${m.country}</span></td>
    <td>${badge(m.state)}${until}</td>
    <td class="num">${lagText(m.lagSeconds)}</td>
    <td class="num">${renderLatency(probes)}</td>
    <td>${when(newest(probes.map(([, p]) => p.lastCheck ?? null)), now)}</td>
    <td class="error-cell">${renderLastError(probes, now)}</td>
    <td class="num">${shareBar(m.share)}${budgetBar(m.budget ?? null, share)}</td>
    <td>${serves('indexes', m.servesIndexes)} ${serves('packages', m.servesPackages)}${renderFamilies(m.servesFamilies)}${renderParticipation(m)}</td>
  </tr>`
}

function renderHosts (probes: ReadonlyArray<readonly [string, ProbeView]>): Html {
  // One link per host (https first), naming the schemes it answers on.
  const hosts = new Map<string, { url: string, schemes: string[] }>()
  for (const [scheme, p] of probes) {
    const host = hostOf(p.url)
    const seen = hosts.get(host)
    if (seen === undefined) hosts.set(host, { url: p.url, schemes: [scheme] }); else seen.schemes.push(scheme)
  }
  return html`${[...hosts].map(([host, h]) => html`<br><a href="${h.url}" rel="noopener noreferrer">${host}</a> ${h.schemes.join(' + ')}`)}`
}

function renderLatency (probes: ReadonlyArray<readonly [string, ProbeView]>): Html {
  const known = probes.filter(([, p]) => p.latencyMs != null)
  if (known.length === 0) return html`<span class="muted">—</span>`
  const texts = known.map(([, p]) => latencyText(p.latencyMs as number))
  if (texts.every((x) => x === texts[0])) return html`${texts[0] as string}`
  return html`${known.map(([scheme, p]) => html`<div>${latencyText(p.latencyMs as number)}${known.length > 1 ? html` <span class="muted small">${scheme}</span>` : ''}</div>`)}`
}

function renderLastError (probes: ReadonlyArray<readonly [string, ProbeView]>, now: number): Html {
  let last: { scheme: string, reason: string, message: string, at: string | null } | null = null
  for (const [scheme, p] of probes) {
    const e = p.lastError
    if (e == null) continue
    if (last === null || (e.at ?? '') > (last.at ?? '')) last = { scheme, ...e }
  }
  if (last === null) return html`<span class="muted">none</span>`
  const message = last.message === '' ? '' : html`<div class="small">${truncate(last.message, 160)}</div>`
  return html`<span class="error">${last.reason}</span> <span class="muted small">${last.scheme}, ${when(last.at, now)}</span>${message}`
}

/** IPv4 and IPv6 are checked apart: a family that fails is shown on its own. */
function renderFamilies (families: MirrorView['servesFamilies']): Html {
  if (families === undefined) return html``
  return html`${Object.entries(families).map(([f, yes]) => html`<br>${serves(f === 'ipv4' ? 'IPv4' : 'IPv6', yes === true)}`)}`
}

function serves (what: string, yes: boolean): Html {
  return yes
    ? html`<span class="serve yes" title="serves ${what}">✓ ${what}</span>`
    : html`<span class="serve no" title="does not serve ${what} now">✗ ${what}</span>`
}

function shareBar (share: number): Html {
  const pct = Math.min(100, Math.max(0, share * 100))
  return html`<span class="share">${percent(share)}<span class="bar" aria-hidden="true"><span style="width: ${pct.toFixed(1)}%"></span></span></span>`
}

/** 1.05, 12, 0.3: at most two decimals, none when whole. */
const figure = (n: number): string => String(Math.round(n * 100) / 100)

/** The budget's limits in words: "2 redirects/s, 100 Mbit/s". */
function limitsText (b: BudgetView): string {
  return [b.requestsPerSecond === null ? null : `${figure(b.requestsPerSecond)} redirects/s`, b.megabitsPerSecond === null ? null : `${figure(b.megabitsPerSecond)} Mbit/s`]
    .filter((x) => x !== null).join(', ')
}

/** Green below 80 %, amber up to the budget, red over it: judged on the percent shown. */
function loadClass (pct: number): string {
  return pct > 100 ? 'load-over' : pct >= 80 ? 'load-near' : 'load-ok'
}

/** Load against the sponsor's budget: a bar, the percent as text (its alternative), the figures on hover. */
function budgetBar (b: BudgetView | null, share: number | null): Html {
  if (b === null) return html``
  if (b.load === null) return html`<div class="budget muted small">budget ${limitsText(b)}; load not measured</div>`
  const pct = Math.round(b.load.ratio * 100)
  const ofShare = share === null || share >= 1 ? '' : `, of which this process may use ${percent(share)}`
  const title = `${pct} % of the budget this process may use · sent lately: ${figure(b.load.requestsPerSecond)} redirects/s, ` +
    `${figure(b.load.megabitsPerSecond)} Mbit/s · budget: ${limitsText(b)}${ofShare}`
  return html`<div class="budget ${loadClass(pct)}" data-load="${pct}" title="${title}">${pct} % of budget<span class="bar" aria-hidden="true"><span style="width: ${Math.min(100, pct)}%"></span></span></div>`
}

const PARTICIPATION_WORDS: Readonly<Record<string, { readonly words: string, readonly title: (m: MirrorView) => string }>> = {
  country: { words: 'own country only', title: (m) => `takes clients in ${countryName(m.country)} only` },
  overflow: { words: 'overflow only', title: () => 'takes clients only when the mirrors preferred for them are at their budget or none is eligible' }
}

/** How the mirror takes part, where that is not fully. */
function renderParticipation (m: MirrorView): Html {
  const p = m.participation === undefined ? undefined : PARTICIPATION_WORDS[m.participation]
  if (p === undefined) return html``
  return html`<span class="participation" title="${p.title(m)}">${p.words}</span>`
}

// --- The coverage matrix: mirrors by branch and architecture ---

/** How each state of a mirror's index copy is shown: a mark (the text alternative to its colour) and words. */
const INDEX_MARKS: Readonly<Record<string, { readonly mark: string, readonly words: string }>> = {
  current: { mark: '✓', words: 'current: the master\'s newest index' },
  behind: { mark: '!', words: 'behind: an older index the master served before' },
  unknown: { mark: '?', words: 'unknown: a copy the master has not served lately' },
  missing: { mark: '–', words: 'missing: the index answers 404, the folder is not carried' },
  failing: { mark: '✗', words: 'failing: the check got no answer' },
  unchecked: { mark: '', words: 'not checked yet' }
}

/** Worst first: a cell shows the worst state among its repositories (its title lists each). */
const SEVERITY = ['failing', 'behind', 'unknown', 'missing', 'unchecked', 'current'] as const

interface Folder { readonly branch: string, readonly repo: string, readonly arch: string }

/** `v3.22/main/x86_64/` as branch, repository and architecture. */
function folderOf (dir: string): Folder {
  const parts = dir.split('/').filter((p) => p !== '')
  if (parts.length < 2) return { branch: parts[0] ?? '/', repo: '', arch: '' }
  return { branch: parts[0] as string, repo: parts.slice(1, -1).join('/'), arch: parts[parts.length - 1] as string }
}

/** edge first, then releases newest first (v3.23 before v3.9), then anything else by name. */
function compareBranches (a: string, b: string): number {
  const rank = (x: string): [number, number, number] => {
    if (x === 'edge') return [0, 0, 0]
    const m = /^v(\d+)\.(\d+)/.exec(x)
    return m === null ? [2, 0, 0] : [1, -Number(m[1]), -Number(m[2])]
  }
  const [ra, rb] = [rank(a), rank(b)]
  return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.localeCompare(b, 'en')
}

function indexState (state: string | undefined): string {
  return state !== undefined && Object.hasOwn(INDEX_MARKS, state) ? state : 'unchecked'
}

/** The worst of the repositories' states, and each repository's, for the title. */
function cellOf (m: MirrorView, dirs: readonly string[]): { state: string, detail: string } {
  const states = dirs.map((dir) => [folderOf(dir).repo, indexState(m.coverage?.indexes[dir])] as const)
  const state = SEVERITY.find((s) => states.some(([, st]) => st === s)) ?? 'unchecked'
  return { state, detail: states.map(([repo, st]) => `${repo === '' ? 'index' : repo}: ${st === 'unchecked' ? 'not checked yet' : st}`).join('; ') }
}

function mark (state: string): Html {
  return html`<span class="mark idx-${state}" aria-hidden="true">${INDEX_MARKS[state]?.mark ?? ''}</span>`
}

/** Measured or declared, in words, with what the table declares on hover. */
function basisCell (c: CoverageView | undefined): Html {
  const basis = c?.basis ?? 'none'
  const declared = c?.declared == null
    ? 'the table declares nothing: everything'
    : `the table declares: include ${c.declared.include.join(', ') || 'everything'}; exclude ${c.declared.exclude.join(', ') || 'nothing'}`
  const words = basis === 'measured' ? 'measured' : basis === 'declared' ? 'declared' : 'not known'
  return html`<td class="basis basis-${basis}" title="${declared}">${words}</td>`
}

function renderCoverage (r: StatusReport): Html {
  if ((r.indexes?.followed ?? 0) === 0) return html``
  const mirrors = r.mirrors.filter((m) => m.enabled && m.coverage !== undefined)
    .sort((a, b) => Number(b.tier === 't1') - Number(a.tier === 't1') || a.name.localeCompare(b.name, 'en'))
  if (mirrors.length === 0) return html``
  const dirs = [...new Set(mirrors.flatMap((m) => Object.keys(m.coverage?.indexes ?? {})))]
  // Branch -> architecture -> the folders (one per repository) in that cell.
  const grid = new Map<string, Map<string, string[]>>()
  for (const dir of dirs) {
    const { branch, arch } = folderOf(dir)
    let arches = grid.get(branch)
    if (arches === undefined) grid.set(branch, arches = new Map())
    arches.set(arch, [...(arches.get(arch) ?? []), dir].sort())
  }
  const columns = [...grid].sort(([a], [b]) => compareBranches(a, b))
    .map(([branch, arches]) => ({ branch, arches: [...arches].sort(([a], [b]) => a.localeCompare(b, 'en')) }))
  const rows = mirrors.map((m) => html`<tr data-mirror="${m.id}">
    <th scope="row">${m.name}</th>
    ${basisCell(m.coverage)}
    ${columns.flatMap(({ branch, arches }) => arches.map(([arch, ds], i) => {
      const { state, detail } = cellOf(m, ds)
      return html`<td class="cell${i === 0 ? ' branch-start' : ''}" data-state="${state}" data-branch="${branch}" data-arch="${arch}" title="${branch} ${arch} · ${detail}">${mark(state)}<span class="sr">${detail}</span></td>`
    }))}
  </tr>`)
  const legend = SEVERITY.slice().reverse().map((s) => html`<li>${mark(s)} ${INDEX_MARKS[s]?.words ?? s}</li>`)
  return html`<section id="coverage" aria-labelledby="coverage-title">
  <h2 id="coverage-title">Which mirrors carry which repositories <span class="muted">· ${r.indexes?.followed ?? 0} indexes followed</span></h2>
  <p class="muted">Each mark is one branch and architecture: the worst of its repositories' index copies, as a HEAD of each index on the mirror finds it (hover for each repository). Measured overrides declared: where a mirror's indexes have been checked, what the mirror table declares it carries no longer counts.</p>
  <ul class="legend" aria-label="Legend">${legend}</ul>
  <div class="scroll"><table class="matrix">
    <colgroup span="2"></colgroup>${columns.map((c) => html`<colgroup span="${c.arches.length}"></colgroup>`)}
    <thead>
      <tr><th scope="col" rowspan="2">Mirror</th><th scope="col" rowspan="2">Coverage</th>${columns.map((c) => html`<th scope="colgroup" colspan="${c.arches.length}" class="branch">${c.branch}</th>`)}</tr>
      <tr>${columns.flatMap((c) => c.arches.map(([arch], i) => html`<th scope="col" class="arch${i === 0 ? ' branch-start' : ''}"><span>${arch}</span></th>`))}</tr>
    </thead>
    <tbody>${rows}</tbody>
  </table></div>
</section>`
}

function renderFooter (): Html {
  // ATTRIBUTION is plain text naming https://db-ip.com; show that address as a link.
  const [before, after] = ATTRIBUTION.split('https://db-ip.com')
  return html`<footer>
  <p>${before ?? ''}<a href="https://db-ip.com">https://db-ip.com</a>${after ?? ''}.</p>
  <p>Community mirror list from <a href="https://mirrors.alpinelinux.org/">Alpine Linux</a> (MIT licence).</p>
  <p class="muted">Machine-readable: <a href="/api/v1/mirrors">/api/v1/mirrors</a>. This page refreshes every 30 seconds.</p>
</footer>`
}

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --alt: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1440px; margin: 0 auto; padding: 20px 24px 32px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
a { color: #0550ae; }
.muted { color: var(--muted); font-weight: normal; }
.small { font-size: 12px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0; }
.facts div { min-width: 120px; }
.facts dt { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.facts dd { margin: 0; font-weight: 600; }
.banner { margin: 16px 0 0; padding: 12px 16px; border: 2px solid #b42318; border-left-width: 8px; background: #fee4e2; color: #7a1a12; border-radius: 6px; font-size: 15px; }
.banner strong { font-size: 16px; letter-spacing: .05em; }
.summary { list-style: none; display: flex; flex-wrap: wrap; gap: 10px; padding: 0; margin: 18px 0 0; }
.tile { padding: 8px 14px; border-radius: 8px; border: 1px solid var(--line); min-width: 96px; font-weight: 600; }
.tile .count { display: block; font-size: 24px; line-height: 1.1; }
.tile.zero { opacity: .45; }
.tile.total { background: var(--alt); color: var(--fg); }
.scroll { overflow-x: auto; }
table.mirrors { table-layout: fixed; min-width: 1100px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border-bottom: 1px solid var(--line); }
thead th { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; border-bottom: 2px solid var(--line); white-space: nowrap; }
tr.group th { background: var(--alt); font-size: 13px; padding-top: 8px; }
td.num { white-space: nowrap; }
td.name { min-width: 200px; }
td.error-cell { max-width: 320px; overflow-wrap: anywhere; }
.mirrors tbody tr:not(.group) td:first-child { border-left: 4px solid transparent; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-weight: 700; font-size: 12px; border: 1px solid; text-transform: uppercase; letter-spacing: .04em; }
.state-up { color: #116329; background: #dafbe1; border-color: #4ac26b; }
.state-down { color: #a40e26; background: #ffebe9; border-color: #ff8182; }
.state-stale { color: #7d4e00; background: #fff8c5; border-color: #d4a72c; }
.state-draining { color: #5a32a3; background: #fbefff; border-color: #c297ff; }
.state-disabled { color: #59636e; background: #eff2f5; border-color: #afb8c1; }
.state-unknown { color: #59636e; background: #ffffff; border-color: #afb8c1; border-style: dashed; }
.mirrors tr.row-up td:first-child { border-left-color: #4ac26b; }
.mirrors tr.row-down td:first-child { border-left-color: #cf222e; }
.mirrors tr.row-stale td:first-child { border-left-color: #d4a72c; }
.mirrors tr.row-draining td:first-child { border-left-color: #8250df; }
.mirrors tr.row-disabled td { color: var(--muted); }
.error { color: #a40e26; font-weight: 600; }
.serve { display: block; white-space: nowrap; font-size: 12px; }
.serve.yes { color: #116329; }
.serve.no { color: #a40e26; text-decoration: line-through; }
.share { display: inline-flex; align-items: center; gap: 8px; white-space: nowrap; }
.bar { display: inline-block; width: 48px; height: 6px; background: #eff2f5; border-radius: 3px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #0969da; }
.budget { margin-top: 4px; font-size: 12px; white-space: nowrap; }
.budget .bar { display: block; width: 100%; max-width: 96px; margin-top: 2px; }
.budget.load-ok .bar span { background: #2da44e; }
.budget.load-near .bar span { background: #d4a72c; }
.budget.load-over .bar span { background: #cf222e; }
.budget.load-over { color: #a40e26; font-weight: 600; }
.participation { display: block; margin-top: 2px; font-size: 12px; color: #5a32a3; }
.country { display: inline-block; margin: 0 10px 2px 0; white-space: nowrap; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 8px 0 10px; font-size: 12px; }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
table.matrix { width: auto; }
table.matrix th, table.matrix td { padding: 3px 4px; vertical-align: middle; }
table.matrix th.branch, table.matrix .branch-start { border-left: 2px solid var(--line); }
table.matrix th.branch { text-align: center; }
table.matrix th.arch { font-size: 11px; text-transform: none; letter-spacing: 0; vertical-align: bottom; }
table.matrix th.arch span { writing-mode: vertical-rl; transform: rotate(180deg); }
table.matrix tbody th { font-weight: 600; white-space: nowrap; padding-right: 12px; }
td.basis { font-size: 12px; white-space: nowrap; padding-right: 12px; }
td.basis-declared { color: #5a32a3; }
td.basis-none { color: var(--muted); }
td.cell { text-align: center; }
.mark { display: inline-block; box-sizing: border-box; width: 18px; height: 18px; line-height: 16px; border-radius: 3px; border: 1px solid transparent; font-size: 12px; font-weight: 700; text-align: center; vertical-align: middle; }
.idx-current { background: #2da44e; color: #ffffff; }
.idx-behind { background: #d4a72c; color: #3b2300; }
.idx-unknown { background: #ffffff; border: 1px dashed #8c959f; color: #59636e; }
.idx-missing { background: repeating-linear-gradient(45deg, #d0d7de 0 3px, #f6f8fa 3px 6px); color: #424a53; }
.idx-failing { background: #cf222e; color: #ffffff; }
.idx-unchecked { background: #f6f8fa; border-color: #eaeef2; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
footer { margin-top: 32px; padding-top: 12px; border-top: 1px solid var(--line); font-size: 13px; }
footer p { margin: 4px 0; }
`

/** The whole page for one report. Pure: the report in, HTML out. */
export function renderStatusPage (r: StatusReport): string {
  const now = Date.parse(r.generatedAt)
  const share = r.capacity?.share ?? null
  const tiers = TIERS.map(({ tier, title, empty }) => renderTier(title, empty, tier, r.mirrors.filter((m) => m.tier === tier), now, share))
  const other = r.mirrors.filter((m) => !TIERS.some((t) => t.tier === m.tier))
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<meta http-equiv="x-dns-prefetch-control" content="off">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Mirror status · ${r.instance.id}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
${renderHeader(r, now)}
${renderFailOpen(r.failOpen)}
${renderSummary(r.mirrors)}
${tiers}
${other.length === 0 ? '' : renderTier('Other mirrors', '', 'other', other, now, share)}
${renderCoverage(r)}
${renderRegions(r.mirrors)}
${renderFooter()}
</main>
</body>
</html>
`.text
}

export function registerStatusPage (fastify: FastifyInstance, deps: MirrorsDeps): void {
  fastify.get('/', async (request, reply) => {
    reply
      .header('Cache-Control', 'no-store')
      // Defence in depth: the page needs no script, so none may run even if escaping failed.
      .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
      .header('X-Content-Type-Options', 'nosniff')
      .type('text/html; charset=utf-8')
    return renderStatusPage(mirrorsReport(deps) as StatusReport)
  })
}

// --- Small helpers ---

function schemes (m: MirrorView): Array<readonly [string, ProbeView]> {
  const out: Array<readonly [string, ProbeView]> = []
  if (m.https !== null) out.push(['https', m.https])
  if (m.http !== null) out.push(['http', m.http])
  return out
}

function hostOf (url: string): string {
  try { return new URL(url).host } catch { return url }
}

function newest (isos: ReadonlyArray<string | null>): string | null {
  let best: string | null = null
  for (const t of isos) if (t !== null && (best === null || t > best)) best = t
  return best
}

/** Groups by key, ordered by the key's display name. */
function groupBy<T> (items: readonly T[], key: (item: T) => string, label: (key: string) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const list = groups.get(k)
    if (list === undefined) groups.set(k, [item]); else list.push(item)
  }
  return [...groups].sort(([a], [b]) => label(a).localeCompare(label(b), 'en'))
}

/** Within a continent: by country name, then mirror name. */
function sortMirrors (ms: readonly MirrorView[]): MirrorView[] {
  return [...ms].sort((a, b) => countryName(a.country).localeCompare(countryName(b.country), 'en') || a.name.localeCompare(b.name, 'en'))
}
