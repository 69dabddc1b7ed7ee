// Keeps the GeoIP databases current without a restart: reloads them on demand (SIGHUP) and
// when a file changes. Each process that reads GeoIP (a cluster worker, a primary answering
// DNS) runs its own, over its own reader.

import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { GeoIp, GeoIpReload } from './reader.js'

/** Updaters write a file, or a temporary one renamed into place, in bursts: reload once they are done. */
export const GEOIP_DEBOUNCE_MS = 500

export type GeoIpReport = (trigger: string, result: GeoIpReload) => void

export class GeoIpUpdates {
  readonly #geoip: GeoIp
  readonly #report: GeoIpReport
  readonly #watchers: FSWatcher[] = []
  #timer: NodeJS.Timeout | null = null

  constructor (geoip: GeoIp, report: GeoIpReport) {
    this.#geoip = geoip
    this.#report = report
  }

  /** Reads the changed files again and swaps them in if they pass (see GeoIp.reload). */
  async reload (trigger: string): Promise<GeoIpReload> {
    const result = await this.#geoip.reload()
    this.#report(trigger, result)
    return result
  }

  /**
   * Watches the files' folders (a watch on a file misses a rename over it) and reloads shortly
   * after the last change to one of the files.
   */
  watch (debounceMs = GEOIP_DEBOUNCE_MS): void {
    if (this.#watchers.length > 0) return
    const byFolder = new Map<string, Set<string>>()
    for (const file of this.#geoip.files) {
      const names = byFolder.get(dirname(file)) ?? new Set()
      byFolder.set(dirname(file), names.add(basename(file)))
    }
    for (const [folder, names] of byFolder) {
      let watcher: FSWatcher
      try {
        watcher = watch(folder, { persistent: false }, (_event, changed) => {
          if (changed !== null && !names.has(changed)) return
          if (this.#timer !== null) clearTimeout(this.#timer)
          this.#timer = setTimeout(() => { this.#timer = null; void this.reload('file change') }, debounceMs)
          this.#timer.unref()
        })
      } catch {
        continue // a folder that cannot be watched: SIGHUP still reloads
      }
      watcher.on('error', () => { /* the folder went away: keep the databases in force */ })
      this.#watchers.push(watcher)
    }
  }

  close (): void {
    for (const w of this.#watchers) w.close()
    this.#watchers.length = 0
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}
