// src/config/load.ts: defaults < file < environment < flags, paths relative to the config
// file, errors that name the file and the field, and a deep-frozen result.

import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { loadConfig } from '../../src/config/load.js'
import { DEFAULTS, type Config } from '../../src/config/schema.js'

/** Writes `files` into a fresh test directory and returns its path. */
function dir (t: Test, files: Record<string, string>): string {
  const d = t.testdir()
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text)
  return d
}

const FILE = `host: file-host
port: 1111
linkCount: 7
`

t.test('no file, no environment, no flags: the defaults', async (t) => {
  const c = loadConfig([], {})
  t.same(c, DEFAULTS)
  t.equal(c.host, '0.0.0.0')
  t.equal(c.port, 8080)
  t.equal(c.source, null)
  t.same(c.prefixes, ['/alpine/'])
  t.match(c.table, /[/\\]data[/\\]mirrors\.yaml$/)
  t.equal(loadConfig([], { HOST: '', PORT: '', MIRRORGATE_CONFIG: '' }).port, 8080, 'empty variables count as unset')
})

t.test('precedence: defaults < file < environment < flags', async (t) => {
  const d = dir(t, { 'c.yaml': FILE })
  const file = join(d, 'c.yaml')

  const fromFile = loadConfig(['--config', file], {})
  t.same([fromFile.host, fromFile.port, fromFile.linkCount, fromFile.source], ['file-host', 1111, 7, file], 'the file over the defaults')
  t.equal(fromFile.selection.nearKm, DEFAULTS.selection.nearKm, 'what the file leaves out keeps its default')

  const fromEnv = loadConfig(['--config', file], { HOST: 'env-host', PORT: '2222' })
  t.same([fromEnv.host, fromEnv.port, fromEnv.linkCount], ['env-host', 2222, 7], 'the environment over the file')

  const fromFlags = loadConfig(['--config', file, '--host', 'flag-host', '--port', '3333'], { HOST: 'env-host', PORT: '2222' })
  t.same([fromFlags.host, fromFlags.port, fromFlags.linkCount], ['flag-host', 3333, 7], 'flags over the environment')

  const mixed = loadConfig(['--config', file, '--port=4444'], { HOST: 'env-host' })
  t.same([mixed.host, mixed.port], ['env-host', 4444], 'each value on its own: env host, flag port')

  const envOnly = loadConfig([], { HOST: '::', PORT: '0' })
  t.same([envOnly.host, envOnly.port, envOnly.source], ['::', 0, null], 'environment over the defaults, without a file')
})

t.test('which file: --config over MIRRORGATE_CONFIG', async (t) => {
  const d = dir(t, { 'a.yaml': 'port: 1001\n', 'b.yaml': 'port: 1002\n' })
  t.equal(loadConfig([], { MIRRORGATE_CONFIG: join(d, 'a.yaml') }).port, 1001)
  t.equal(loadConfig(['--config', join(d, 'b.yaml')], { MIRRORGATE_CONFIG: join(d, 'a.yaml') }).port, 1002)
  t.equal(loadConfig([`--config=${join(d, 'b.yaml')}`], {}).source, join(d, 'b.yaml'))
})

t.test("relative paths are resolved against the config file's folder", async (t) => {
  const d = dir(t, {
    'c.yaml': `table: tables/mirrors.yaml
geoip:
  databases: [geo/city.mmdb, ../shared/asn.mmdb, /var/lib/geo/abs.mmdb]
`
  })
  for (const given of [join(d, 'c.yaml'), relative(process.cwd(), join(d, 'c.yaml'))]) {
    const c = loadConfig(['--config', given], {})
    t.equal(c.table, join(d, 'tables', 'mirrors.yaml'), `table, config given as ${given}`)
    t.same(c.geoip.databases, [join(d, 'geo', 'city.mmdb'), join(d, '..', 'shared', 'asn.mmdb'), '/var/lib/geo/abs.mmdb'], 'databases')
  }
})

t.test('a full file is read field by field', async (t) => {
  const d = dir(t, {
    'c.yaml': `host: 127.0.0.1
port: 9000
prefixes: [/alpine/, /mirror/alpine/]
trustedProxies: [10.0.0.0/8, "2001:db8::/32", 192.0.2.1]
instance: { id: fra-1, region: eu-west, country: FR, latitude: 48.86, longitude: 2.35 }
fallback: https://dl-cdn.alpinelinux.org/alpine/
linkCount: 0
selection: { nearKm: 250, cacheSize: 10 }
geoip: { cacheSize: 5 }
`
  })
  const c = loadConfig(['--config', join(d, 'c.yaml')], {})
  t.same(c.prefixes, ['/alpine/', '/mirror/alpine/'])
  t.same(c.trustedProxies, ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1'])
  t.same(c.instance, { id: 'fra-1', region: 'eu-west', country: 'FR', latitude: 48.86, longitude: 2.35 })
  t.equal(c.fallback, 'https://dl-cdn.alpinelinux.org/alpine/')
  t.equal(c.linkCount, 0)
  t.same(c.selection, { nearKm: 250, cacheSize: 10 })
  t.same(c.geoip, { databases: DEFAULTS.geoip.databases, cacheSize: 5 })
  writeFileSync(join(d, 'n.yaml'), 'instance: { country: null }\n')
  t.equal(loadConfig(['--config', join(d, 'n.yaml')], {}).instance.country, null, 'country may be null')
  writeFileSync(join(d, 'e.yaml'), '')
  t.same(loadConfig(['--config', join(d, 'e.yaml')], {}).port, 8080, 'an empty file is all defaults')
})

t.test('errors name the file and the field', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown key', 'colour: blue\n', /: colour: unknown field/],
    ['unknown nested key', 'instance: { town: Paris }\n', /: instance\.town: unknown field/],
    ['bad CIDR', 'trustedProxies: [10.0.0.0/8, 10.0.0.0/33]\n', /: trustedProxies\[1\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/],
    ['not an address', 'trustedProxies: [proxy.local]\n', /: trustedProxies\[0\]: /],
    ['port out of range', 'port: 70000\n', /: port: 70000 is out of range \[0, 65535\]/],
    ['port not an integer', 'port: 80.5\n', /: port: expected an integer/],
    ['port as a string', 'port: "8080"\n', /: port: expected a number/],
    ['prefix without trailing slash', 'prefixes: [/alpine]\n', /: prefixes\[0\]: "\/alpine" must start and end with '\/'/],
    ['prefix without leading slash', 'prefixes: [/ok/, alpine/]\n', /: prefixes\[1\]: /],
    ['no prefixes', 'prefixes: []\n', /: prefixes: needs at least 1/],
    ['unknown instance.country', 'instance: { country: XX }\n', /: instance\.country: "XX" is not an ISO 3166-1 alpha-2/],
    ['lowercase instance.country', 'instance: { country: de }\n', /: instance\.country: "de"/],
    ['latitude out of range', 'instance: { latitude: -91 }\n', /: instance\.latitude: -91 is out of range/],
    ['fallback not http', 'fallback: ftp://x.example.org/\n', /: fallback: /],
    ['not a mapping', '- a\n- b\n', /: expected a mapping, got a list/],
    ['invalid YAML', 'port: [1\n', /: not valid YAML/],
    ['duplicate key', 'port: 1\nport: 2\n', /: not valid YAML/]
  ]
  const d = t.testdir()
  for (const [i, [name, text, what]] of cases.entries()) {
    const file = join(d, `bad-${i}.yaml`)
    writeFileSync(file, text)
    t.throws(() => loadConfig(['--config', file], {}), { name: 'MgError', code: 'MG_ERR_CONFIG_INVALID', message: what }, name)
    t.throws(() => loadConfig(['--config', file], {}), { message: `Configuration is invalid: ${file}: ` }, `${name}: the file is named`)
  }
  t.throws(() => loadConfig(['--config', '/nonexistent/mirrorgate.yaml'], {}),
    { code: 'MG_ERR_CONFIG_INVALID', message: /\/nonexistent\/mirrorgate\.yaml: cannot read/ }, 'a missing file')
})

t.test('bad ports from the environment and from flags name their source', async (t) => {
  for (const bad of ['http', '-1', '65536', '8080x', ' 80', '1e3']) {
    t.throws(() => loadConfig([], { PORT: bad }), { code: 'MG_ERR_CONFIG_INVALID', message: /PORT: ".*" is not a port number/ }, `PORT=${bad}`)
    t.throws(() => loadConfig([`--port=${bad}`], {}), { code: 'MG_ERR_CONFIG_INVALID', message: /--port: ".*" is not a port number/ }, `--port=${bad}`)
  }
  t.throws(() => loadConfig(['--port', 'x'], { PORT: '80' }), { message: /--port: "x"/ }, 'the flag is the one named when both are set')
  t.equal(loadConfig(['--port', '65535'], {}).port, 65535)
})

t.test('unknown flags and stray arguments are errors', async (t) => {
  for (const argv of [['--verbose'], ['--hots', 'x'], ['-p', '80'], ['serve'], ['--port']]) {
    t.throws(() => loadConfig(argv, {}), { name: 'MgError', code: 'MG_ERR_CONFIG_INVALID', message: /command line: [^]*usage: mirrorgate/ }, argv.join(' '))
  }
})

t.test('the result is deep-frozen', async (t) => {
  const d = dir(t, { 'c.yaml': 'prefixes: [/alpine/]\ntrustedProxies: [10.0.0.0/8]\n' })
  for (const [name, c] of [['defaults', loadConfig([], {})], ['file', loadConfig(['--config', join(d, 'c.yaml')], {})],
    ['file and flags', loadConfig(['--config', join(d, 'c.yaml'), '--port', '1'], { HOST: 'h' })]] as const) {
    const unfrozen: string[] = []
    const walk = (v: unknown, path: string): void => {
      if (typeof v !== 'object' || v === null) return
      if (!Object.isFrozen(v)) unfrozen.push(path)
      for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`)
    }
    walk(c, 'config')
    t.same(unfrozen, [], `${name}: every object and list is frozen`)
    const m = c as { -readonly [K in keyof Config]: Config[K] }
    t.throws(() => { m.port = 1234 }, TypeError, `${name}: top level`)
    t.throws(() => { (m.prefixes as string[]).push('/x/') }, TypeError, `${name}: lists`)
    t.throws(() => { (m.instance as { id: string }).id = 'x' }, TypeError, `${name}: nested objects`)
  }
  t.equal(DEFAULTS.prefixes.length, 1, 'the defaults were not touched')
})
