// Redirects by branch, architecture and kind of file, for sponsor reports. Counting costs a memo
// read and an increment: each distinct path is parsed once (the memo is bounded), and each label
// set has one cell, copied into prom-client only when scraped.

import { Counter, type Registry } from 'prom-client'
import { pathLabels, type PathLabels } from './path-labels.js'

interface Cell { readonly labels: PathLabels, n: number }

/** Request paths remembered: apk asks for the same few thousand; past this the memo starts over. */
const PATHS_REMEMBERED = 10_000

export class PathDemand {
  readonly #memo = new Map<string, Cell>()
  /** By label set; bounded by the labels themselves (103 branches x 11 architectures x 4 kinds). */
  readonly #cells = new Map<string, Cell>()

  constructor (registers: Registry[]) {
    const cells = this.#cells
    new Counter({
      name: 'mirrorgate_redirects_by_path_total',
      help: 'Redirects (to a mirror or the fallback) by branch (edge, latest-stable, v3.N, other), architecture (other: none or unknown) and kind of file (package, index, release, other)',
      labelNames: ['branch', 'arch', 'kind'],
      registers,
      collect () {
        this.reset()
        for (const c of cells.values()) this.inc({ branch: c.labels.branch, arch: c.labels.arch, kind: c.labels.kind }, c.n)
      }
    })
  }

  count (rest: string): void {
    let cell = this.#memo.get(rest)
    if (cell === undefined) {
      const labels = pathLabels(rest)
      const key = labels.branch + ' ' + labels.arch + ' ' + labels.kind
      cell = this.#cells.get(key)
      if (cell === undefined) this.#cells.set(key, cell = { labels, n: 0 })
      if (this.#memo.size >= PATHS_REMEMBERED) this.#memo.clear()
      this.#memo.set(rest, cell)
    }
    cell.n++
  }
}
