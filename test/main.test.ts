// The service as an operator starts it: the built entry point, real signals, exit codes.
// `npm test` builds dist/ first.

import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { get } from './helpers/service.js'
import { heapGrowthFlag } from '../src/main.js'

const entry = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist', 'main.js')

interface Exit { code: number | null, stdout: string, stderr: string }

function run (args: string[], env: Record<string, string> = {}, onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env } })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (onLine !== undefined) for (const line of c.toString().split('\n')) if (line !== '') onLine(line, child)
    })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

t.test('heap growth is capped unless the operator set it', async (t) => {
  t.equal(heapGrowthFlag([], undefined), '--heap-growing-percent=50')
  t.equal(heapGrowthFlag(['--max-old-space-size=512'], '--enable-source-maps'), '--heap-growing-percent=50')
  t.equal(heapGrowthFlag(['--heap-growing-percent=20'], undefined), null, 'on the command line')
  t.equal(heapGrowthFlag([], '--max-old-space-size=512 --heap_growing_percent=0'), null, 'in NODE_OPTIONS, underscore spelling')
  t.equal(heapGrowthFlag(['--heap-growing-percentage=5'], undefined), '--heap-growing-percent=50', 'another flag is not taken for it')
})

t.test('a bad config stops start-up with the file and field named', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'linkCount: 3\ntrustedProxies: [10.0.0.0/33]\n' })
  const res = await run(['--config', join(dir, 'bad.yaml'), '--port', '0'])
  t.equal(res.code, 1)
  t.match(res.stderr, /MG_ERR_CONFIG_INVALID/)
  t.match(res.stderr, /bad\.yaml: trustedProxies\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/)
  t.notMatch(res.stdout, /listening/)
})

t.test('a bad mirror table stops start-up too', async (t) => {
  const dir = t.testdir({ 'mirrors.yaml': 'mirrors:\n  - id: x\n    colour: blue\n' })
  writeFileSync(join(dir, 'c.yaml'), 'table: mirrors.yaml\n')
  const res = await run([], { MIRRORGATE_CONFIG: join(dir, 'c.yaml'), PORT: '0' })
  t.equal(res.code, 1)
  t.match(res.stderr, /MG_ERR_TABLE_INVALID: .*mirrors\.yaml: mirrors\[0\]\.colour: unknown field/)
})

t.test('an invalid PORT is refused', async (t) => {
  const res = await run([], { PORT: '99999' })
  t.equal(res.code, 1)
  t.match(res.stderr, /PORT: "99999" is not a port number/)
})

t.test('starts on the default table and GeoIP, logs what it loaded, serves, and stops cleanly on SIGTERM', async (t) => {
  // Probes off: the default table names real mirrors, and tests reach nothing beyond loopback.
  const dir = t.testdir({ 'c.yaml': 'probes: { enabled: false }\n' })
  let port = 0
  let served = 0
  const res = await run(['--host', '127.0.0.1', '--port', '0', '--config', join(dir, 'c.yaml')], {}, (line, child) => {
    const msg = JSON.parse(line) as { msg?: string, mirrors?: number }
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(msg.msg ?? '')
    if (m === null) return
    port = Number(m[1])
    get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': '85.214.132.117' })
      .then((r) => { served = r.status })
      .finally(() => child.kill('SIGTERM'))
  })
  t.equal(res.code, 0, 'exit 0 after SIGTERM')
  t.ok(port > 0)
  t.equal(served, 302)
  t.match(res.stdout, /"table":"[^"]*data\/mirrors\.yaml"/)
  t.match(res.stdout, /dbip-city-ipv4\.mmdb/)
  t.match(res.stdout, /shutting down/)
  t.notMatch(res.stdout, /"url":"\/alpine/, 'no per-request log line')
})
