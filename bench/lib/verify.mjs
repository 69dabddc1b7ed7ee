// Before loading a target: send a sample of the workload one request at a time and check
// that the answers are what the benchmark claims to measure. For mirrorgate and nginx that
// is a 302 whose Location is a mirror base from the table followed by the requested path
// (and, for mirrorgate, a Link header naming alternatives).

import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { get } from './targets.mjs'

/** The enabled mirrors' base URLs -> ids, from `table` (default: the build's data/mirrors.yaml). */
export async function mirrorBases (root, tableFile = join(root, 'data', 'mirrors.yaml')) {
  const { loadTableFile } = await import(pathToFileURL(join(root, 'dist', 'config', 'table-file.js')).href)
  const table = await loadTableFile(tableFile)
  const bases = new Map()
  for (const m of table.mirrors) {
    if (!m.enabled) continue
    if (m.http) bases.set(m.http, m.id)
    if (m.https) bases.set(m.https, m.id)
  }
  return bases
}

/**
 * @returns {{ checked, ok, problems: string[], mirrors: number, countries: number|null, unplaced: number|null }}
 */
export async function verifyTarget ({ target, url, entries, bases, sample = 60, explainSample = 0 }) {
  const problems = []
  const mirrorsSeen = new Set()
  const step = Math.max(1, Math.floor(entries.length / sample))
  let checked = 0
  let ok = 0
  for (let i = 0; i < entries.length && checked < sample; i += step) {
    const e = entries[i]
    checked++
    let r
    try {
      r = await get(url + e.path, { 'x-forwarded-for': e.ip })
    } catch (err) {
      problems.push(`${e.ip} ${e.path}: ${err.message}`)
      continue
    }
    const loc = r.headers.location
    const fail = (why) => problems.push(`${e.ip} ${e.path}: ${why} (status ${r.status}, Location ${loc ?? '-'})`)
    if (r.status !== 302) { fail('not a 302'); continue }
    if (typeof loc !== 'string') { fail('no Location'); continue }
    if (target === 'bare') { ok++; continue }
    const rest = e.path.slice('/alpine/'.length)
    if (!loc.endsWith(rest)) { fail('Location does not end with the requested path'); continue }
    const id = bases.get(loc.slice(0, loc.length - rest.length))
    if (id === undefined) { fail('Location is not a mirror base from data/mirrors.yaml'); continue }
    if (target === 'mirrorgate') {
      if (r.headers['x-mirrorgate-mirror'] !== undefined && r.headers['x-mirrorgate-mirror'] !== id) { fail(`X-Mirrorgate-Mirror ${r.headers['x-mirrorgate-mirror']} != ${id}`); continue }
      if (typeof r.headers.link !== 'string' || !r.headers.link.includes('rel=duplicate')) { fail('no Link alternatives'); continue }
    }
    mirrorsSeen.add(id)
    ok++
  }

  // Where the sampled clients are, according to mirrorgate's own explain endpoint.
  let countries = null
  let unplaced = null
  if (target === 'mirrorgate' && explainSample > 0) {
    const seen = new Set()
    let none = 0
    let answered = 0
    const estep = Math.max(1, Math.floor(entries.length / explainSample))
    for (let i = 0; i < entries.length && answered < explainSample; i += estep) {
      try {
        const body = await getJson(`${url}/api/v1/explain?ip=${encodeURIComponent(entries[i].ip)}`)
        const place = body?.client?.place
        if (place === undefined) break
        answered++
        if (place.source === 'geoip' && place.country) seen.add(place.country)
        else none++
      } catch {
        break // explain is a convenience: its absence is not a benchmark failure
      }
    }
    if (answered > 0) {
      countries = seen.size
      unplaced = Math.round((none / answered) * 1000) / 10
    }
  }
  return { checked, ok, problems, mirrors: mirrorsSeen.size, countries, unplaced }
}

async function getJson (url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
  if (!res.ok) throw new Error(`${res.status}`)
  return await res.json()
}
