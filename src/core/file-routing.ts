// Route by what is there. A request's verdict on one mirror joins the live verdict (health,
// lag by canary, drain: core/snapshot.ts) with what the mirror is known to hold
// (core/coverage.ts):
//  - a file its copy of the index lists is served there whatever its canary lag (those exact
//    files are what a client holding that index asks for), even when drained or down if no
//    mirror better placed holds it;
//  - a file its copy does not list, or a subtree it does not carry (404 for the index, or outside
//    what the table declares), is never sent there;
//  - an index goes by the age of the mirror's copy of that index, not its canary;
//  - where nothing is measured, the canary rule of today applies unchanged. Pure.

import { holding, indexLagMs, type Coverage, type Holding, type PathFacts } from './coverage.js'
import type { Gate, Verdict } from './selection.js'
import type { Mirror } from './types.js'

const minutes = (ms: number): number => Math.round(ms / 60000)

/**
 * A request's verdict on one mirror, from its live verdict and its holding of the file.
 * `othersKnown`: some mirror's copy of the folder's index has been checked (else an unknown
 * holding is the normal case, and the canary rule applies unchanged).
 */
export function fileVerdict (base: Verdict | null, h: Holding, indexLag: number | null, volatileMaxLagMs: number, othersKnown = true): Verdict | null {
  if (h.holds === 'no') {
    if (h.basis === 'declared') return { code: 'not-declared', reason: 'outside what the mirror table says it carries' }
    if (h.index?.state === 'missing') return { code: 'missing-index', reason: 'does not carry this folder (its index answers 404)' }
    return { code: 'missing-file', reason: `its copy of the index (${describeCopy(h)}) does not list this file` }
  }
  if (h.isIndex && h.holds === 'yes') {
    // Drained and dead mirrors stay as they are: another mirror's copy serves as well.
    if (base !== null && base.code !== 'stale') return base
    if (indexLag !== null && indexLag > volatileMaxLagMs) {
      return {
        code: 'stale',
        standing: 'behind',
        lagMs: indexLag,
        allowedMs: volatileMaxLagMs,
        reason: `its copy of this index is ${minutes(indexLag)} min behind the master's; indexes allow ${minutes(volatileMaxLagMs)} min`
      }
    }
    return null
  }
  if (h.holds === 'yes') {
    if (base === null || base.code === 'stale') return null
    if (base.code === 'draining') return { ...base, standing: 'drained', reason: `${base.reason}; it holds this file, so it serves when no mirror better placed does` }
    return base
  }
  // Unknown: others' holdings are known, this one's is not, so it comes after them.
  if (h.listed && othersKnown && base === null) return { code: 'unverified', standing: 'uncertain', reason: 'not known to hold this file: mirrors whose index lists it come first' }
  return base
}

function describeCopy (h: Holding): string {
  return h.index?.version === 0 ? 'current' : `${h.index?.version ?? '?'} version(s) behind the master`
}

/**
 * The gate for one request path: `base` gives the live verdicts (the snapshot's gate for the
 * path's class), `syncTime` each mirror's sync time from its canary.
 */
export function fileGate (base: Gate, coverage: Coverage, facts: PathFacts | null, rest: string,
  syncTime: (id: string) => number | null, volatileMaxLagMs: number, now: number): Gate {
  const othersKnown = facts !== null && (coverage.checks.get(facts.dir)?.size ?? 0) > 0
  return (mirror, client) => {
    const h = holding(coverage, mirror, facts, rest, syncTime(mirror.id))
    const lag = h.isIndex && h.index !== null && facts !== null ? indexLagMs(coverage, facts.dir, h.index, now) : null
    return fileVerdict(base(mirror, client), h, lag, volatileMaxLagMs, othersKnown)
  }
}

/** Whether some mirror of the table is known to hold the file (for explain and the fallback). */
export function anyHolder (coverage: Coverage, mirrors: readonly Mirror[], facts: PathFacts | null, rest: string, syncTime: (id: string) => number | null): boolean {
  return mirrors.some((m) => m.enabled && holding(coverage, m, facts, rest, syncTime(m.id)).holds === 'yes')
}
