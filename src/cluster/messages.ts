// What a cluster primary and its workers say to each other over IPC. The primary owns the
// live state; workers hold a copy, kept current by these messages, and only serve.

import type { IndexHistory } from '../core/file-set.js'
import type { Health, ProbeResult } from '../core/health.js'
import type { Family, Scheme } from '../core/types.js'
import type { CoverageChange, FleetState } from '../live/fleet.js'

export type ToWorker =
  /** The whole state: sent once when a worker starts. */
  | { readonly t: 'state', readonly table: string, readonly file: string, readonly fleet: FleetState, readonly indexes: readonly IndexHistory[] }
  /** Health, master and drains, after a change that is not a probe result (a drain, say). */
  | { readonly t: 'fleet', readonly fleet: FleetState }
  /** A new table was accepted: its text, validated again by the worker. */
  | { readonly t: 'table', readonly table: string, readonly file: string }
  | { readonly t: 'probe', readonly id: string, readonly scheme: Scheme, readonly family: Family, readonly result: ProbeResult }
  | { readonly t: 'master', readonly result: ProbeResult }
  /** A DNS endpoint's health URL was checked (only the primary probes). */
  | { readonly t: 'endpoint', readonly id: string, readonly result: ProbeResult }
  /** What is known of the files changed: a master index version (typed arrays: IPC is 'advanced'), or a mirror's copy. */
  | { readonly t: 'coverage', readonly change: CoverageChange }
  | { readonly t: 'reply', readonly seq: number, readonly value?: unknown, readonly error?: { readonly code: string, readonly message: string } }
  /** Read the GeoIP files again (the primary got SIGHUP); each worker keeps its own reader. */
  | { readonly t: 'geoip', readonly trigger: string }
  /** Send your metrics (as prom-client JSON) for the cluster-wide exposition. */
  | { readonly t: 'collect', readonly seq: number }
  /** Finish the requests in flight, then exit (a rolling restart or shutdown). */
  | { readonly t: 'shutdown' }

export type Op =
  | { readonly op: 'reload' }
  | { readonly op: 'drain', readonly id: string, readonly until: number | null, readonly reason: string }
  | { readonly op: 'undrain', readonly id: string }
  | { readonly op: 'probe', readonly id?: string }
  | { readonly op: 'metrics' }

export type ToPrimary =
  | { readonly t: 'ready' }
  | { readonly t: 'call', readonly seq: number, readonly call: Op }
  | { readonly t: 'collected', readonly seq: number, readonly metrics: unknown[] }

export type { Health }
