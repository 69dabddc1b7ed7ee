// Keeps the DNS export files in a folder in step with the endpoint directory:
//   <dir>/geodns/<name>.json      the geodns zone (renderGeodnsZone)
//   <dir>/gdnsd/mirrorgate.state  the gdnsd plugin_extfile health file (renderGdnsdExtfile)
//   <dir>/gdnsd/mirrorgate.conf   gdnsd config for that file (renderGdnsdConfigSnippet)
// Each file is replaced atomically (src/atomic-write.ts), so geodns and gdnsd, which watch
// these paths, never read half a file; and only when its bytes change, so an unchanged state
// leaves mtimes (and the zone serial) alone. Failures go to onError; nothing is thrown.

import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeAtomically } from '../atomic-write.js'
import type { EndpointDirectory } from './endpoints.js'
import { renderGdnsdConfigSnippet, renderGdnsdExtfile, renderGeodnsZone } from './exports.js'

export interface ExportWriterOptions {
  /** The download name (config.dns.name): the geodns zone and its file name. */
  readonly name: string
  readonly nameservers: readonly string[]
  readonly hostmaster?: string | undefined
  /** Answer TTL in seconds for both servers. */
  readonly ttl: number
  /** Addresses per geodns answer (config.dns.answers). */
  readonly maxHosts: number
  /** A write failed; the file keeps its previous content and the next change retries. */
  readonly onError?: ((err: Error, file: string) => void) | undefined
  /** A file was replaced. */
  readonly onWrite?: ((file: string) => void) | undefined
  /** For the zone serial (Unix seconds); default Date.now. */
  readonly now?: (() => number) | undefined
}

type Directory = Pick<EndpointDirectory, 'endpoints' | 'onChange'>

export class ExportWriter {
  readonly files: { readonly geodns: string, readonly gdnsdState: string, readonly gdnsdConfig: string }
  readonly #directory: Directory
  readonly #opts: ExportWriterOptions
  readonly #now: () => number
  /** What each file holds now (as written or as found at start); undefined: not known yet. */
  readonly #current = new Map<string, string | null>()
  /** The last failure reported per file, so a persisting one is reported once. */
  readonly #failures = new Map<string, string>()
  #running = false
  #subscribed = false
  #dirty = false
  #pending: Promise<void> | null = null
  /** The zone as last written but with serial 0, and that serial: the serial moves only when the rest does. */
  #zoneKey: string | null = null
  #serial = 0

  constructor (dir: string, directory: Directory, opts: ExportWriterOptions) {
    this.#directory = directory
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.files = Object.freeze({
      geodns: join(dir, 'geodns', `${opts.name}.json`),
      gdnsdState: join(dir, 'gdnsd', 'mirrorgate.state'),
      gdnsdConfig: join(dir, 'gdnsd', 'mirrorgate.conf')
    })
  }

  /** Writes the files once (resolving when done), then again after every directory change. */
  start (): Promise<void> {
    this.#running = true
    if (!this.#subscribed) {
      this.#subscribed = true
      this.#directory.onChange(() => { void this.refresh() })
    }
    return this.refresh()
  }

  /** No more writes after the one in progress, if any. */
  stop (): void {
    this.#running = false
  }

  /** Re-renders now and writes what changed; resolves once the files are current. Never rejects. */
  refresh (): Promise<void> {
    if (!this.#running) return this.#pending ?? Promise.resolve()
    this.#dirty = true
    this.#pending ??= this.#drain()
    return this.#pending
  }

  async #drain (): Promise<void> {
    try {
      // Changes during a write coalesce into one more pass with the latest state.
      while (this.#dirty && this.#running) {
        this.#dirty = false
        try {
          await this.#writeAll()
        } catch (err) {
          this.#report(err, dirname(this.files.geodns)) // each write reports its own failures; this is a last resort
        }
      }
    } finally {
      // In the same step as the last check of #dirty, so no refresh() can slip in between.
      this.#pending = null
    }
  }

  async #writeAll (): Promise<void> {
    const endpoints = this.#directory.endpoints
    const o = this.#opts
    await this.#writeZone((serial) => renderGeodnsZone(endpoints, {
      name: o.name, nameservers: o.nameservers, hostmaster: o.hostmaster, ttl: o.ttl, serial, maxHosts: o.maxHosts
    }))
    await this.#write(this.files.gdnsdState, () => renderGdnsdExtfile(endpoints))
    await this.#write(this.files.gdnsdConfig, () => renderGdnsdConfigSnippet(endpoints, { stateFile: this.files.gdnsdState }))
  }

  async #writeZone (render: (serial: number) => string): Promise<void> {
    const file = this.files.geodns
    try {
      const key = render(0)
      if (this.#zoneKey === null) {
        // First pass: keep a zone left by an earlier run if it says the same (restarts leave no trace).
        const existing = await this.#read(file)
        const serial = existing === null ? null : serialOf(existing)
        if (serial !== null) {
          this.#serial = serial
          if (render(serial) === existing) this.#zoneKey = key
        }
      }
      if (key === this.#zoneKey) return
      this.#serial = Math.max(this.#serial + 1, Math.floor(this.#now() / 1000))
      await this.#write(file, () => render(this.#serial))
      if (this.#current.get(file) !== undefined) this.#zoneKey = key
    } catch (err) {
      this.#report(err, file)
    }
  }

  async #write (file: string, render: () => string): Promise<void> {
    try {
      const content = render()
      if (!this.#current.has(file)) this.#current.set(file, await this.#read(file))
      if (this.#current.get(file) === content) {
        this.#failures.delete(file)
        return
      }
      this.#current.delete(file) // unknown until the rename is done
      await writeAtomic(file, content)
      this.#current.set(file, content)
      this.#failures.delete(file)
      this.#opts.onWrite?.(file)
    } catch (err) {
      this.#report(err, file)
    }
  }

  async #read (file: string): Promise<string | null> {
    try {
      return await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  #report (err: unknown, file: string): void {
    const error = err instanceof Error ? err : new Error(String(err))
    // The same failure again (every change retries) is reported once, until the file is written.
    if (this.#failures.get(file) === error.message) return
    this.#failures.set(file, error.message)
    try {
      if (this.#opts.onError !== undefined) this.#opts.onError(error, file)
      else process.emitWarning(`mirrorgate: cannot write ${file}: ${error.message}`)
    } catch {
      // A failing reporter must not turn into an unhandled rejection.
    }
  }
}

function serialOf (text: string): number | null {
  try {
    const serial = (JSON.parse(text) as { serial?: unknown }).serial
    return typeof serial === 'number' && Number.isSafeInteger(serial) && serial >= 0 ? serial : null
  } catch {
    return null
  }
}

/** Replaces `file` with `content` (see writeAtomically), creating its folder first: the export folder may be new. */
export async function writeAtomic (file: string, content: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  await writeAtomically(file, content)
}
