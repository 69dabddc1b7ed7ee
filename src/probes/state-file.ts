// What this instance knew, kept across restarts: each mirror's health per scheme and the
// master's, written atomically (a temporary file renamed into place) a few seconds after a
// change, and read at start so that a restarted instance is ready at once. Each mirror's last
// index-copy checks are kept too (the master's index files are fetched again at start), and
// the local drains (set through the admin API), with their end and reason. Health older than
// STATE_MAX_AGE_MS says little about the mirrors now; a drain is the operator's decision and
// lasts until its end, so drains are restored whatever the file's age. Drains declared in the
// table come with the table, not from here.

import { readFile } from 'node:fs/promises'
import { writeAtomically } from '../atomic-write.js'
import type { IndexCheck } from '../core/coverage.js'
import type { Health, HealthState, ProbeFailure } from '../core/health.js'
import type { FleetState } from '../live/fleet.js'

/** Older than this, a saved state says little about the mirrors now: start unknown instead. */
export const STATE_MAX_AGE_MS = 15 * 60_000

/** Changes are written at most this often (probe results come in bursts). */
export const STATE_WRITE_DELAY_MS = 5_000

interface SavedState {
  readonly format: 'mirrorgate-probe-state/1'
  readonly savedAt: number
  readonly known: boolean
  readonly master: Health
  readonly health: ReadonlyArray<readonly [string, Health]>
  /** DNS endpoints' health; absent in files written before endpoints were probed here. */
  readonly endpoints?: ReadonlyArray<readonly [string, Health]>
  /** Index-copy checks by folder, then mirror; absent in files written before index-aware routing. */
  readonly checks?: FleetState['checks']
  /** Local drains by mirror id; absent in files written before drains were kept. */
  readonly drains?: ReadonlyArray<readonly [string, SavedDrain]>
}

interface SavedDrain { readonly until: number | null, readonly reason: string }

const FORMAT = 'mirrorgate-probe-state/1'
const STATES: ReadonlySet<HealthState> = new Set(['unknown', 'up', 'down'])
const FAILURES: ReadonlySet<ProbeFailure> = new Set(['timeout', 'connect', 'dns', 'tls', 'http-status', 'bad-canary', 'too-large', 'other'])

/**
 * `ok`: the whole state, health included. Otherwise the reason health was not restored, and the
 * drains still in force (from a file too old for its health, say; none from a bad file).
 */
export type ReadOutcome =
  | { readonly ok: true, readonly state: FleetState, readonly savedAt: number }
  | { readonly ok: false, readonly reason: string, readonly drains: FleetState['drains'] }

/** The saved state; a missing, bad or old file is a reason, never a throw. Drains ended by `now` are left out. */
export async function readProbeState (file: string, now: number): Promise<ReadOutcome> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no saved state yet' : String(err), drains: [] }
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'not JSON', drains: [] }
  }
  const saved = doc as Partial<SavedState> | null
  if (saved?.format !== FORMAT || typeof saved.savedAt !== 'number' || !Array.isArray(saved.health) || !isHealth(saved.master)) {
    return { ok: false, reason: `not a ${FORMAT} file`, drains: [] }
  }
  const drains = drainRecords(saved.drains, now)
  if (now - saved.savedAt > STATE_MAX_AGE_MS || saved.savedAt > now + 60_000) {
    return { ok: false, reason: `saved at ${new Date(saved.savedAt).toISOString()}, more than ${STATE_MAX_AGE_MS / 60_000} min ago`, drains }
  }
  const records = (list: unknown): Array<[string, Health]> | null => {
    if (!Array.isArray(list)) return null
    const good = list.filter((e): e is [string, Health] => Array.isArray(e) && typeof e[0] === 'string' && isHealth(e[1]))
    return good.length === list.length ? good : null
  }
  const health = records(saved.health)
  const endpoints = records(saved.endpoints ?? [])
  if (health === null || endpoints === null) return { ok: false, reason: 'an entry is not a health record', drains }
  // Checks that do not read right are left out; they are only a head start.
  const checks = checkRecords(saved.checks)
  return { ok: true, savedAt: saved.savedAt, state: { health, master: saved.master, endpoints, drains, known: saved.known === true, ...(checks === null ? {} : { checks }) } }
}

/** The saved drains that have not ended by `now`; an entry that does not read right is left out alone. */
function drainRecords (v: unknown, now: number): FleetState['drains'] {
  if (!Array.isArray(v)) return []
  const out: Array<readonly [string, FleetState['drains'][number][1]]> = []
  for (const e of v as unknown[]) {
    if (!Array.isArray(e) || typeof e[0] !== 'string') continue
    const d = e[1] as Partial<SavedDrain> | null
    if (typeof d !== 'object' || d === null || typeof d.reason !== 'string' || !isTime(d.until)) continue
    const until = d.until ?? null
    if (until === null || until > now) out.push([e[0], { until, reason: d.reason, source: 'local' }])
  }
  return out
}

function checkRecords (v: unknown): FleetState['checks'] | null {
  if (!Array.isArray(v)) return null
  const ok = v.every((e) => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]) &&
    (e[1] as unknown[]).every((c) => Array.isArray(c) && typeof c[0] === 'string' && isCheck(c[1])))
  return ok ? v as FleetState['checks'] : null
}

function isCheck (v: unknown): v is IndexCheck {
  const c = v as Record<string, unknown> | null
  if (typeof c !== 'object' || c === null || !isTime(c.at) || c.at === null) return false
  if (c.kind === 'copy') return typeof c.key === 'string' && isTime(c.syncTime)
  if (c.kind === 'failing') return typeof c.detail === 'string'
  return c.kind === 'missing'
}

/** Writes the state atomically. */
export async function writeProbeState (file: string, state: FleetState, now: number): Promise<void> {
  const drains = state.drains.map(([id, d]) => [id, { until: d.until, reason: d.reason }] as const)
  const saved: SavedState = { format: FORMAT, savedAt: now, known: state.known, master: state.master, health: state.health, endpoints: state.endpoints, checks: state.checks, drains }
  await writeAtomically(file, JSON.stringify(saved) + '\n')
}

const isTime = (v: unknown): boolean => v === null || (typeof v === 'number' && Number.isFinite(v))
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0

function isHealth (v: unknown): v is Health {
  const h = v as Record<string, unknown> | null
  if (typeof h !== 'object' || h === null) return false
  const e = h.lastError as Record<string, unknown> | null | undefined
  const errorOk = e === null || (typeof e === 'object' && e !== undefined && FAILURES.has(e.reason as ProbeFailure) && typeof e.message === 'string' && isTime(e.at))
  return STATES.has(h.state as HealthState) && isCount(h.passes) && isCount(h.failures) && isTime(h.latencyMs) &&
    isTime(h.lastCheck) && isTime(h.lastSuccess) && isTime(h.syncTime) && errorOk
}

/** Saves the state a little after each change, never two writes at once; `flush` writes now and says whether it could. */
export class StateSaver {
  readonly #file: string
  readonly #source: () => FleetState
  readonly #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | null = null
  #writing: Promise<void> = Promise.resolve()

  constructor (file: string, source: () => FleetState, onError: (err: unknown) => void) {
    this.#file = file
    this.#source = source
    this.#onError = onError
  }

  changed (): void {
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => { void this.flush() }, STATE_WRITE_DELAY_MS)
    this.#timer.unref()
  }

  flush (): Promise<boolean> {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    const written = this.#writing.then(() => writeProbeState(this.#file, this.#source(), Date.now())).then(() => true, (err: unknown) => {
      this.#onError(err)
      return false
    })
    this.#writing = written.then(() => undefined)
    return written
  }
}
