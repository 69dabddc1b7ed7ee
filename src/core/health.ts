// A mirror's health as the prober sees it, and how one probe result moves it. Pure: the
// prober (src/probes/) does the I/O and passes results and the time in.

export type HealthState = 'unknown' | 'up' | 'down'

/** Why a probe failed; also the label of mirrorgate_probe_failures_total. */
export type ProbeFailure = 'timeout' | 'connect' | 'dns' | 'tls' | 'http-status' | 'bad-canary' | 'too-large' | 'other'

export interface ProbeResult {
  readonly ok: boolean
  readonly at: number
  readonly latencyMs: number
  /** The sync time read from the canary (ms since epoch), when ok. */
  readonly syncTime: number | null
  readonly failure: ProbeFailure | null
  readonly message: string | null
}

export interface Health {
  readonly state: HealthState
  readonly passes: number
  readonly failures: number
  /** Exponential moving average of successful probe latencies. */
  readonly latencyMs: number | null
  readonly lastCheck: number | null
  readonly lastSuccess: number | null
  readonly lastError: { readonly reason: ProbeFailure, readonly message: string, readonly at: number } | null
  readonly syncTime: number | null
}

export interface HysteresisPolicy {
  /** Consecutive failures that take an up (or unknown) mirror down. */
  readonly failuresToDown: number
  /** Consecutive passes that bring a down (or unknown) mirror up. */
  readonly passesToUp: number
}

export const UNKNOWN: Health = Object.freeze({
  state: 'unknown', passes: 0, failures: 0, latencyMs: null, lastCheck: null, lastSuccess: null, lastError: null, syncTime: null
})

const LATENCY_WEIGHT = 0.3

export function applyProbe (prev: Health, result: ProbeResult, policy: HysteresisPolicy): Health {
  if (result.ok) {
    const passes = prev.passes + 1
    // A first success settles an unknown mirror at once: there is no flapping to damp yet.
    const state = prev.state === 'up' || prev.state === 'unknown' || passes >= policy.passesToUp ? 'up' : 'down'
    return Object.freeze({
      state,
      passes,
      failures: 0,
      latencyMs: prev.latencyMs === null ? result.latencyMs : prev.latencyMs + LATENCY_WEIGHT * (result.latencyMs - prev.latencyMs),
      lastCheck: result.at,
      lastSuccess: result.at,
      lastError: prev.lastError,
      syncTime: result.syncTime ?? prev.syncTime
    })
  }
  const failures = prev.failures + 1
  const state = prev.state === 'down' || failures >= policy.failuresToDown ? 'down' : prev.state
  return Object.freeze({
    state,
    passes: 0,
    failures,
    latencyMs: prev.latencyMs,
    lastCheck: result.at,
    lastSuccess: prev.lastSuccess,
    lastError: { reason: result.failure ?? 'other', message: result.message ?? '', at: result.at },
    syncTime: prev.syncTime
  })
}

/**
 * Reads a canary such as Alpine's `last-updated`: Unix seconds (what Alpine writes), or an
 * ISO 8601 / RFC 1123 date. Returns ms since epoch, or null when it is not a plausible time.
 */
export function parseSyncTime (text: string, now: number): number | null {
  const s = text.trim()
  if (s.length === 0 || s.length > 64) return null
  let ms: number
  if (/^\d{9,11}$/.test(s)) ms = Number(s) * 1000
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s) || /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(s)) ms = Date.parse(s)
  else return null
  // Before 2005 or more than a day in the future is garbage, not a sync time.
  if (!Number.isFinite(ms) || ms < 1104537600000 || ms > now + 86400000) return null
  return ms
}
