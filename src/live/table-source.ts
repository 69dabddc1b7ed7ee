// Where the mirror table comes from: its file, re-read on demand (SIGHUP, the admin API) or
// when the file changes. A table that fails validation is rejected and the one in force stays.

import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { readTableFile } from '../config/table-file.js'
import type { MirrorTable } from '../core/types.js'
import { MgError } from '../errors.js'

export type ReloadResult =
  | { readonly ok: true, readonly version: number, readonly mirrors: number }
  | { readonly ok: false, readonly error: MgError }

export interface TableSourceHooks {
  /** The validated table and the text it came from (a cluster primary forwards the text). */
  readonly apply: (table: MirrorTable, text: string) => void
  readonly report: (trigger: string, result: ReloadResult) => void
}

export class TableSource {
  readonly file: string
  readonly #hooks: TableSourceHooks
  #watcher: FSWatcher | null = null
  #timer: NodeJS.Timeout | null = null
  #running: Promise<ReloadResult> = Promise.resolve({ ok: true, version: 0, mirrors: 0 })

  constructor (file: string, hooks: TableSourceHooks) {
    this.file = file
    this.#hooks = hooks
  }

  /** Re-reads the file; reloads run one at a time, in order. */
  reload (trigger: string): Promise<ReloadResult> {
    this.#running = this.#running.then(async () => {
      let result: ReloadResult
      try {
        const { table, text } = await readTableFile(this.file)
        this.#hooks.apply(table, text)
        result = { ok: true, version: table.version, mirrors: table.mirrors.length }
      } catch (err) {
        // A bad file is an MgError already; anything else is a fault of ours, not of the table.
        result = { ok: false, error: err instanceof MgError ? err : new MgError('MG_ERR_INTERNAL', String(err), { cause: err }) }
      }
      this.#hooks.report(trigger, result)
      return result
    })
    return this.#running
  }

  /**
   * Watches the file's folder (editors and config managers replace files by renaming, which
   * a watch on the file itself would miss) and reloads shortly after the last change.
   */
  watch (debounceMs = 250): void {
    if (this.#watcher !== null) return
    const name = basename(this.file)
    this.#watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return
      if (this.#timer !== null) clearTimeout(this.#timer)
      this.#timer = setTimeout(() => { this.#timer = null; void this.reload('file change') }, debounceMs)
      this.#timer.unref()
    })
    this.#watcher.on('error', () => { /* the folder went away: keep the table in force */ })
  }

  close (): void {
    this.#watcher?.close()
    this.#watcher = null
    if (this.#timer !== null) clearTimeout(this.#timer)
  }
}
