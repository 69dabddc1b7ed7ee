// The `mirrorgate` command as a process: help for every subcommand, exit codes for bad usage,
// the bin entry, and `serve` starting, answering and stopping on SIGTERM like `npm start`.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { get } from '../helpers/service.js'
import { ensureBuilt, entry, mirrorgate, root, type Exit } from './run-cli.js'

await ensureBuilt()

const COMMANDS = ['serve', 'check', 'explain', 'import-alpine', 'simulate']

t.test('the bin is the built CLI, with its shebang', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>, version: string }
  t.equal(join(root, pkg.bin.mirrorgate as string), entry)
  t.equal(readFileSync(entry, 'utf8').split('\n')[0], '#!/usr/bin/env node')
  const r = await mirrorgate(['--version'])
  t.equal(r.code, 0)
  t.equal(r.stdout, pkg.version + '\n')
})

t.test('--help lists every subcommand and the exit codes, exit 0', async (t) => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await mirrorgate(args)
    t.equal(r.code, 0, args.join(' '))
    t.match(r.stdout, /^usage: mirrorgate <command> \[options\]/)
    for (const c of COMMANDS) t.match(r.stdout, new RegExp(`^  ${c} +\\S`, 'm'), `lists ${c}`)
    t.match(r.stdout, /Exit status: 0 ok, 1 a runtime failure, 2 bad usage or invalid input/)
    t.equal(r.stderr, '')
  }
})

t.test('every subcommand has --help, exit 0, and `help <command>` is the same', async (t) => {
  const runs = await Promise.all(COMMANDS.map(async (c) => [c, await mirrorgate([c, '--help']), await mirrorgate(['help', c])] as const))
  for (const [c, r, h] of runs) {
    t.equal(r.code, 0, `${c} --help: exit 0`)
    t.match(r.stdout, /^usage: /, `${c} --help: a usage`)
    t.equal(r.stderr, '', `${c} --help: nothing on stderr`)
    t.equal(h.code, 0)
    t.equal(h.stdout, r.stdout, `help ${c}`)
  }
  t.match((await mirrorgate(['serve', '--help'])).stdout, /^usage: mirrorgate serve \[--config FILE\] \[--host HOST\] \[--port PORT\] \[--workers N\]/)
  t.match((await mirrorgate(['check', '-h'])).stdout, /^usage: mirrorgate check \[--config FILE\] \[--table FILE\]/)
  t.match((await mirrorgate(['explain', '--help'])).stdout, /^usage: mirrorgate explain IP \[PATH\]/)
})

t.test('bad usage exits 2 with the problem on stderr and nothing on stdout', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^usage: mirrorgate <command>/],
    [['frobnicate'], /^mirrorgate: unknown command "frobnicate"\n/],
    [['help', 'frobnicate'], /unknown command "frobnicate"/],
    [['check', '--bogus'], /^mirrorgate check: Unknown option '--bogus'.*\nRun "mirrorgate check --help" for usage\.\n$/],
    [['check', 'extra'], /^mirrorgate check: unexpected argument "extra"/],
    [['explain'], /^mirrorgate explain: an IP address is required/],
    [['explain', 'not-an-ip', '/alpine/'], /"not-an-ip" is not an IPv4 or IPv6 address/],
    [['explain', '1.2.3.4', '/alpine/', '--scheme', 'ftp'], /--scheme must be http or https/],
    [['explain', '1.2.3.4', '/debian/'], /path must start with one of \/alpine\//],
    [['explain', '1.2.3.4', '/alpine/', '--region', 'xx'], /region "xx": Region hint must be/],
    [['serve', '--prot', '80'], /^mirrorgate serve: Unknown option '--prot'/],
    [['serve', 'now'], /^mirrorgate serve: Unexpected argument 'now'/]
  ]
  const runs = await Promise.all(cases.map(async ([args]) => await mirrorgate(args)))
  for (const [i, [args, message]] of cases.entries()) {
    const r = runs[i] as Exit
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.stderr, message, `${args.join(' ')}: says why`)
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
  }
})

t.test('serve: a bad config or table is refused with exit 2 before listening', async (t) => {
  const dir = t.testdir({
    'bad.yaml': 'trustedProxies: [10.0.0.0/33]\n',
    'mirrors.yaml': 'mirrors:\n  - id: x\n    colour: blue\n',
    'c.yaml': 'table: mirrors.yaml\n'
  })
  const config = await mirrorgate(['serve', '--config', join(dir, 'bad.yaml'), '--port', '0'])
  t.equal(config.code, 2)
  t.match(config.stderr, /^mirrorgate: cannot start: MG_ERR_CONFIG_INVALID: .*bad\.yaml: trustedProxies\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/)
  const table = await mirrorgate(['serve'], { env: { MIRRORGATE_CONFIG: join(dir, 'c.yaml'), PORT: '0' } })
  t.equal(table.code, 2)
  t.match(table.stderr, /MG_ERR_TABLE_INVALID: .*mirrors\.yaml: mirrors\[0\]\.colour: unknown field/)
  const port = await mirrorgate(['serve'], { env: { PORT: '99999' } })
  t.equal(port.code, 2)
  t.match(port.stderr, /PORT: "99999" is not a port number/)
})

t.test('serve: starts with the flags and environment of npm start, answers /healthz, exits 0 on SIGTERM', async (t) => {
  // Probes off: the default table names real mirrors, and tests reach nothing beyond loopback.
  const dir = t.testdir({ 'c.yaml': 'probes: { enabled: false }\n' })
  let port = 0
  let health = 0
  let redirect = 0
  const r = await mirrorgate(['serve', '--host', '127.0.0.1', '--config', join(dir, 'c.yaml')], {
    env: { PORT: '0', LOG_LEVEL: 'info' },
    onLine: (line, child) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec((JSON.parse(line) as { msg?: string }).msg ?? '')
      if (m === null) return
      port = Number(m[1])
      get(port, '/healthz')
        .then(async (h) => {
          health = h.status
          redirect = (await get(port, '/alpine/v3.22/main/x86_64/APKINDEX.tar.gz', { 'X-Forwarded-For': '85.214.132.117' })).status
        })
        .finally(() => child.kill('SIGTERM'))
    }
  })
  t.equal(r.code, 0, 'exit 0 after SIGTERM')
  t.ok(port > 0, 'listened on the port PORT=0 chose')
  t.equal(health, 200, '/healthz')
  t.equal(redirect, 302, 'a redirect')
  t.match(r.stdout, /"table":"[^"]*data\/mirrors\.yaml"/)
  t.match(r.stdout, /shutting down/)
})
