// A model of the apk client as it talks to mirrorgate, after what apk-tools 2.14.10 and 3.0.6
// were measured to do: what it asks for, which headers it sends where, how it follows
// redirects, when it refreshes its cached index, and how each failure ends the command.
// Scenario tests use it to judge the service by what a real client would experience.
//
// Deliberately left out: signatures, tar/gzip (indexes are plain text here), dependencies,
// more than one repository, and retries (apk makes none).

import { request as httpRequest } from 'node:http'

const HOUR = 3_600_000

/** The messages apk prints for the failures the model tells apart (shortened to their stem). */
export const APK_ERRORS = {
  /** A package the cached index lists answered 404. */
  notFound: 'package mentioned in index not found',
  /** ECONNREFUSED, a reset, an unreachable host. */
  connect: 'could not connect to server',
  /** A 5xx answer. */
  temporary: 'temporary error (try again later)',
  /** The name is not in the cached index. */
  unselectable: (name: string): string => `unable to select packages: ${name}`,
  // The rest are the model's own wording: the brief that defined it did not measure them.
  tooManyRedirects: 'too many redirects',
  redirectRefused: (status: number): string => `redirect ${status} not followed`,
  status: (status: number): string => `HTTP ${status}`,
  timeout: 'operation timed out'
} as const

export interface ApkOptions {
  /** mirrorgate's loopback port. */
  readonly port: number
  /** The client's address, as the proxy in front of mirrorgate would report it. */
  readonly xff: string
  readonly version?: 2 | 3
  /** Repository folder below /alpine/, ending in '/'. */
  readonly repo?: string
  /** apk's --cache-max-age; 4 h by default. */
  readonly cacheMaxAgeMs?: number
  /** Gives up on a request after this long (keeps a hung test bounded). */
  readonly timeoutMs?: number
}

/** One request apk made, in order. */
export interface Step {
  readonly url: string
  readonly status: number | 'error'
  readonly location?: string
  /** X-Mirrorgate-Mirror: which mirror mirrorgate chose. */
  readonly mirror?: string
  /** The If-Modified-Since sent, if any. */
  readonly ims?: string
  /** What went wrong when status is 'error'. */
  readonly message?: string
}

export interface Outcome {
  readonly ok: boolean
  readonly error: string | null
  readonly steps: readonly Step[]
  /** The mirror a freshly downloaded index came from; null when none was downloaded. */
  readonly indexFrom: string | null
  /** The mirror the package came from (add only). */
  readonly packageFrom: string | null
}

export interface CachedIndex {
  /** Package name to version. */
  readonly packages: ReadonlyMap<string, string>
  /** The client's own clock when it stored (or last confirmed) the index: never the server's date. */
  readonly mtime: number
  /** The mirror it was downloaded from. */
  readonly from: string | null
}

/** The text of an index listing these packages (name to version). */
export function apkIndex (packages: Record<string, string>): string {
  return Object.entries(packages).map(([name, version]) => `P:${name}\nV:${version}\n`).join('\n')
}

/** Reads an index built by apkIndex (or one like it): blocks of P: and V: lines. */
export function parseApkIndex (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const block of text.split(/\n\s*\n/)) {
    let name: string | null = null
    let version: string | null = null
    for (const line of block.split('\n')) {
      if (line.startsWith('P:')) name = line.slice(2).trim()
      else if (line.startsWith('V:')) version = line.slice(2).trim()
    }
    if (name !== null && version !== null) out.set(name, version)
  }
  return out
}

/** The file a package is stored as, beside the index. */
export function apkFile (name: string, version: string): string {
  return `${name}-${version}.apk`
}

/** A consistent repository for a FakeMirror's files: the index and every file it lists. */
export function repoFiles (dir: string, packages: Record<string, string>): Record<string, string> {
  const files: Record<string, string> = { [dir + 'APKINDEX.tar.gz']: apkIndex(packages) }
  for (const [name, version] of Object.entries(packages)) files[dir + apkFile(name, version)] = `package ${name} ${version}\n`
  return files
}

interface Fetched { readonly ok: boolean, readonly status: number | null, readonly body: string, readonly error: string | null, readonly mirror: string | null }

interface Raw { readonly status: number, readonly location: string | undefined, readonly mirror: string | undefined, readonly body: string }

export class Apk {
  readonly version: 2 | 3
  readonly repo: string
  readonly cacheMaxAgeMs: number
  readonly #port: number
  readonly #xff: string
  readonly #timeoutMs: number
  #offset = 0
  #index: CachedIndex | null = null

  constructor (o: ApkOptions) {
    this.#port = o.port
    this.#xff = o.xff
    this.version = o.version ?? 2
    this.repo = o.repo ?? 'v3.22/main/x86_64/'
    this.cacheMaxAgeMs = o.cacheMaxAgeMs ?? 4 * HOUR
    this.#timeoutMs = o.timeoutMs ?? 10_000
  }

  /** The client's clock: the real one, moved on by advance() so a test can age the cache at once. */
  now (): number { return Date.now() + this.#offset }

  advance (ms: number): void { this.#offset += ms }

  get index (): CachedIndex | null { return this.#index }

  get #origin (): string { return `http://127.0.0.1:${this.#port}` }

  #indexUrl (): string { return `${this.#origin}/alpine/${this.repo}APKINDEX.tar.gz` }

  #young (): boolean {
    return this.#index !== null && this.now() - this.#index.mtime < this.cacheMaxAgeMs
  }

  /**
   * `apk update`. Version 2 (2.14.9 and later) trusts a cached index younger than the max age
   * and asks nothing; version 3 always downloads it, without If-Modified-Since.
   */
  async update (): Promise<Outcome> {
    const steps: Step[] = []
    if (this.version === 2 && this.#young()) return done(steps, null)
    const r = await this.#refresh(steps, this.version === 2)
    return done(steps, r.error, r.from)
  }

  /**
   * `apk add <name>` (`upgrade` behaves the same for one package): refreshes an index older
   * than the max age, If-Modified-Since when one is cached, then downloads the package file the
   * index lists from wherever mirrorgate sends it.
   */
  async add (name: string): Promise<Outcome> {
    const steps: Step[] = []
    let from: string | null = null
    if (!this.#young()) {
      const r = await this.#refresh(steps, true)
      if (r.error !== null) return done(steps, r.error)
      from = r.from
    }
    const version = this.#index?.packages.get(name)
    if (version === undefined) return done(steps, APK_ERRORS.unselectable(name), from)
    const got = await this.#get(steps, `${this.#origin}/alpine/${this.repo}${apkFile(name, version)}`, null)
    if (got.ok) return done(steps, null, from, got.mirror)
    const error = got.status === 404 ? APK_ERRORS.notFound : got.error ?? APK_ERRORS.status(got.status ?? 0)
    return done(steps, error, from, got.mirror)
  }

  /** Downloads the index; `conditional`: send If-Modified-Since of the cached copy's mtime. */
  async #refresh (steps: Step[], conditional: boolean): Promise<{ error: string | null, from: string | null }> {
    const cached = this.#index
    const ims = conditional && cached !== null ? new Date(cached.mtime).toUTCString() : null
    const got = await this.#get(steps, this.#indexUrl(), ims)
    if (got.status === 304 && ims !== null && cached !== null) {
      // "Not modified": the copy stays, and counts as fresh from now on (by the client's clock).
      this.#index = { ...cached, mtime: this.now() }
      return { error: null, from: null }
    }
    if (!got.ok) return { error: got.error ?? APK_ERRORS.status(got.status ?? 0), from: null }
    this.#index = { packages: parseApkIndex(got.body), mtime: this.now(), from: got.mirror }
    return { error: null, from: got.mirror }
  }

  /**
   * GET through mirrorgate, following 301/302/303 up to four times. If-Modified-Since and
   * X-Forwarded-For go to the first URL only: apk sends the former only there, and the latter
   * is what the proxy in front of mirrorgate adds, so a mirror sees neither.
   */
  async #get (steps: Step[], first: string, ims: string | null): Promise<Fetched> {
    let url = first
    let mirror: string | null = null
    for (let redirects = 0; ; redirects++) {
      const headers: Record<string, string> = { 'User-Agent': this.version === 2 ? 'libfetch/2.0' : 'apk-tools/3.0.6' }
      if (redirects === 0) {
        headers['X-Forwarded-For'] = this.#xff
        if (ims !== null) headers['If-Modified-Since'] = ims
      }
      let raw: Raw
      try {
        raw = await this.#request(url, headers)
      } catch (err) {
        const message = (err as Error).message
        steps.push({ url, status: 'error', message, ...(redirects === 0 && ims !== null ? { ims } : {}) })
        const timedOut = (err as { code?: string }).code === 'ETIMEDOUT'
        return { ok: false, status: null, body: '', error: timedOut ? APK_ERRORS.timeout : APK_ERRORS.connect, mirror }
      }
      if (mirror === null && raw.mirror !== undefined) mirror = raw.mirror
      steps.push({
        url,
        status: raw.status,
        ...(raw.location === undefined ? {} : { location: raw.location }),
        ...(raw.mirror === undefined ? {} : { mirror: raw.mirror }),
        ...(redirects === 0 && ims !== null ? { ims } : {})
      })
      const s = raw.status
      if (s === 301 || s === 302 || s === 303) {
        if (redirects === 4) return { ok: false, status: s, body: '', error: APK_ERRORS.tooManyRedirects, mirror }
        if (raw.location === undefined) return { ok: false, status: s, body: '', error: APK_ERRORS.status(s), mirror }
        url = new URL(raw.location, url).href
        continue
      }
      if (s === 307 || s === 308) return { ok: false, status: s, body: '', error: APK_ERRORS.redirectRefused(s), mirror }
      if (s === 200) return { ok: true, status: s, body: raw.body, error: null, mirror }
      if (s >= 500) return { ok: false, status: s, body: '', error: APK_ERRORS.temporary, mirror }
      // 304 and 404 are read by the callers; everything else ends the command.
      return { ok: false, status: s, body: '', error: s === 304 || s === 404 ? null : APK_ERRORS.status(s), mirror }
    }
  }

  /** One GET on a new TCP connection, as apk opens one per request. */
  #request (url: string, headers: Record<string, string>): Promise<Raw> {
    const u = new URL(url)
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'GET', headers, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => { body += c })
        res.on('error', reject)
        res.on('end', () => {
          const mirror = res.headers['x-mirrorgate-mirror']
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, mirror: typeof mirror === 'string' ? mirror : undefined, body })
        })
      })
      req.setTimeout(this.#timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
      req.on('error', reject)
      req.end()
    })
  }
}

function done (steps: Step[], error: string | null, indexFrom: string | null = null, packageFrom: string | null = null): Outcome {
  return { ok: error === null, error, steps, indexFrom, packageFrom }
}
