// When to probe: the delay before a target's next probe, and what it adds up to (how long a
// dead mirror can go unnoticed, how many requests a mirror sees). Pure.

import type { ProbeConfig } from '../config/schema.js'
import type { Health } from '../core/health.js'

/**
 * How long until a target's next probe. A failure (or a pass while down) is confirmed
 * `retryMs` later rather than a whole interval, so a dead mirror is noticed in about one
 * interval plus (failuresToDown - 1) retries. Down targets back off exponentially, starting at
 * twice the interval once the failure is settled.
 */
export function probeDelay (health: Health, intervalMs: number, config: ProbeConfig, random: number): number {
  const { failuresToDown, passesToUp, retryMs, maxBackoffMs, jitter } = config
  const confirming = health.state === 'down'
    ? health.passes > 0 && health.passes < passesToUp
    : health.failures > 0 && health.failures < failuresToDown
  if (confirming) return retryMs
  let base = intervalMs
  if (health.state === 'down') {
    const doublings = Math.max(0, health.failures - failuresToDown + 1)
    base = Math.max(intervalMs, Math.min(maxBackoffMs, intervalMs * 2 ** doublings))
  }
  return base * (1 + jitter * random)
}

/**
 * The longest a mirror that stops answering keeps its clients: the rest of an interval, the
 * failing probe, then the confirming retries, each allowed its whole timeout.
 */
export function worstDetectionMs (config: ProbeConfig, intervalMs: number): number {
  return intervalMs * (1 + config.jitter) + config.timeoutMs + (config.failuresToDown - 1) * (config.retryMs + config.timeoutMs)
}

/** Canary requests a minute one instance sends a passing mirror, per scheme it offers. */
export function probesPerMinute (intervalMs: number): number {
  return 60_000 / intervalMs
}
