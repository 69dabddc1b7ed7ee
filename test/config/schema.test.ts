// src/config/schema.ts: CONFIG_DOCUMENT is the one description of the configuration. Its
// defaults are DEFAULTS, the example file documents every key in it, unknown keys are rejected
// at every level, and bounds name their field.

import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Value } from 'typebox/value'
import { parse } from 'yaml'
import { CONFIG_DOCUMENT, DEFAULTS, EMBEDDED_GEOIP, configFromDocument } from '../../src/config/schema.js'
import { MgError } from '../../src/errors.js'

const ROOT = join(import.meta.dirname, '..', '..')
const EXAMPLE = join(ROOT, 'data', 'mirrorgate.example.yaml')
const ENDPOINT = { id: 'fra-1', country: 'DE', latitude: 50.11, longitude: 8.68, addresses: ['192.0.2.10'] }

interface Node { type?: string, properties?: Record<string, Node>, items?: Node }

/** Every mapping in the document: its path as an error names it, and its schema. */
function mappings (schema: Node, path = ''): Array<[string, Node]> {
  const out: Array<[string, Node]> = []
  if (schema.type === 'object') {
    out.push([path, schema])
    for (const [k, s] of Object.entries(schema.properties ?? {})) out.push(...mappings(s, path === '' ? k : `${path}.${k}`))
  }
  if (schema.type === 'array' && schema.items !== undefined) out.push(...mappings(schema.items, `${path}[0]`))
  return out
}

/** A document holding `value` at `path` (a.b[0].c), with a valid endpoint wherever a list item is needed. */
function docWith (path: string, value: unknown): Record<string, unknown> {
  const doc: Record<string, unknown> = {}
  let node = doc
  const keys = path.split('.')
  keys.forEach((key, i) => {
    const item = key.endsWith('[0]')
    const k = item ? key.slice(0, -3) : key
    if (i === keys.length - 1 && !item) { node[k] = value; return }
    const next = item ? { ...ENDPOINT } : {}
    node[k] = item ? [next] : next
    node = next
    if (i === keys.length - 1) Object.assign(node, value)
  })
  return doc
}

/** configFromDocument throws MG_ERR_CONFIG_INVALID with exactly this message after the file name. */
function rejects (t: Test, doc: unknown, message: string, name: string): void {
  const err = t.throws(() => configFromDocument(doc, 'f.yaml', ROOT), { name: 'MgError', code: 'MG_ERR_CONFIG_INVALID' }, name)
  if (err instanceof MgError) t.equal(err.message, `Configuration is invalid: f.yaml: ${message}`, `${name}: the message`)
}

t.test("the schema's defaults are DEFAULTS", async (t) => {
  t.same(configFromDocument({}, 'empty.yaml', '/elsewhere'), { ...DEFAULTS, source: 'empty.yaml' }, 'an empty document is all defaults')
  t.same(configFromDocument(null, 'null.yaml', '/elsewhere'), { ...DEFAULTS, source: 'null.yaml' }, 'so is an empty file')
  const written = Value.Default(CONFIG_DOCUMENT, {}) as Record<string, unknown> & { probes: Record<string, unknown> }
  t.same(Object.keys(written), Object.keys(CONFIG_DOCUMENT.properties), 'TypeBox fills in every key')
  t.equal(written.probes.intervalSeconds, 30)
  t.same(configFromDocument(written, 'written.yaml', '/elsewhere'), { ...DEFAULTS, source: 'written.yaml' },
    "TypeBox's own reading of the defaults, written out in full, gives DEFAULTS too")
  t.same(DEFAULTS, {
    host: '0.0.0.0',
    port: 8080,
    workers: 1,
    prefixes: ['/alpine/'],
    table: join(ROOT, 'data', 'mirrors.yaml'),
    geoip: { databases: EMBEDDED_GEOIP, cacheSize: 100_000 },
    trustedProxies: ['127.0.0.0/8', '::1/128'],
    instance: { id: 'mirrorgate-1', region: 'eu-central', country: 'DE', latitude: 50.11, longitude: 8.68 },
    fallback: null,
    linkCount: 4,
    selection: { nearKm: 800, cacheSize: 100_000 },
    probes: {
      enabled: true,
      canary: 'last-updated',
      master: null,
      intervalMs: 30_000,
      t1IntervalMs: 10_000,
      retryMs: 2_000,
      timeoutMs: 5_000,
      jitter: 0.2,
      concurrency: 8,
      failuresToDown: 3,
      passesToUp: 2,
      maxBackoffMs: 600_000,
      readyTimeoutMs: 15_000,
      stateFile: null
    },
    freshness: {
      volatile: ['**/APKINDEX.tar.gz', '**/last-updated', '**/*.yaml', '**/*.txt', '**/*.json', '**/', ''],
      versioned: ['**/*.apk', '**/releases/**'],
      volatileMaxLagMs: 3_600_000,
      versionedMaxLagMs: 86_400_000,
      failOpenBelow: 0.5
    },
    indexes: {
      enabled: true,
      discover: true,
      include: ['**'],
      exclude: [],
      paths: [],
      keepVersions: 4,
      masterIntervalMs: 300_000,
      discoverIntervalMs: 3_600_000,
      cycleMs: 3_600_000,
      minGapMs: 2_000,
      maxIndexBytes: 64 * 1024 * 1024
    },
    capacity: { share: 1, windowMs: 20_000, meanBytes: { package: 500_000, index: 1_500_000, release: 30_000_000, other: 1_000 } },
    admin: { token: null },
    dns: {
      enabled: false,
      name: 'dl-cdn.alpinelinux.org',
      host: '127.0.0.1',
      port: 5353,
      nameservers: ['ns1.mirrorgate.invalid'],
      hostmaster: 'hostmaster.mirrorgate.invalid',
      ttl: null,
      answers: 2,
      endpoints: []
    },
    exports: { dir: null },
    decisionLog: { enabled: false, sample: 100, file: null },
    source: null
  }, 'the defaults, spelled out, in Config units (ms, absolute paths)')
  t.equal(EMBEDDED_GEOIP.length, 2)
  t.ok(Object.isFrozen(EMBEDDED_GEOIP), 'EMBEDDED_GEOIP is frozen')
})

t.test('documents are not changed, and results share nothing with the schema', async (t) => {
  const doc = { probes: { intervalSeconds: 3 }, dns: { endpoints: [{ ...ENDPOINT }] } }
  const before = structuredClone(doc)
  const a = configFromDocument(doc, 'a.yaml', ROOT)
  t.same(doc, before, 'the document is left as it was (defaults go into a copy)')
  t.equal(a.probes.intervalMs, 3000)
  t.same(a.dns.endpoints, [{ ...ENDPOINT, health: null, weight: 1 }], 'endpoint defaults')
  const b = configFromDocument({}, 'b.yaml', ROOT)
  t.not(b.prefixes, DEFAULTS.prefixes, 'each result has its own lists')
  t.notOk(Object.isFrozen((CONFIG_DOCUMENT.properties.prefixes as { default?: unknown }).default), "freezing a result does not freeze the schema's defaults")
})

t.test('the example file documents every key, and its commented examples are valid', async (t) => {
  const text = readFileSync(EXAMPLE, 'utf8')
  for (const [path, schema] of mappings(CONFIG_DOCUMENT as Node)) {
    for (const key of Object.keys(schema.properties ?? {})) {
      t.ok(new RegExp(`(^|[\\s{,])${key}:`, 'm').test(text), `${path === '' ? '' : `${path}.`}${key} is in the example`)
    }
  }
  // Uncomment the examples given in comments: geoip.databases and a dns endpoint.
  const uncommented = text
    .replace(/^(\s*)# (databases: .*)$/m, '$1$2')
    .replace(/endpoints: \[\].*$/m, 'endpoints:')
    .replace(/^(\s*)# (- \{ id: .*)$/m, '$1$2')
    .replace(/^fallback: null.*$/m, 'fallback: https://dl-master.example.org/alpine/')
    .replace(/^(\s*)master: null.*$/m, '$1master: https://dl-master.example.org/alpine/')
    .replace(/^(\s*)stateFile: null.*$/m, '$1stateFile: /var/lib/mirrorgate/probe-state.json')
  t.not(uncommented, text)
  const c = configFromDocument(parse(uncommented), EXAMPLE, dirname(EXAMPLE))
  t.same(c.geoip.databases, ['/srv/geoip/GeoLite2-City.mmdb', '/srv/geoip/GeoLite2-ASN.mmdb'])
  t.same(c.dns.endpoints, [{ id: 'fra-1', country: 'DE', latitude: 50.11, longitude: 8.68, addresses: ['192.0.2.10', '2001:db8::10'], health: 'http://192.0.2.10:8080/readyz', weight: 1 }])
  t.equal(c.fallback, 'https://dl-master.example.org/alpine/')
  t.equal(c.probes.master, 'https://dl-master.example.org/alpine/')
  t.equal(c.probes.stateFile, '/var/lib/mirrorgate/probe-state.json')
})

t.test('an unknown key at each level is rejected, naming its path and the known keys', async (t) => {
  const levels = mappings(CONFIG_DOCUMENT as Node)
  t.same(levels.map(([path]) => path), ['', 'geoip', 'instance', 'selection', 'probes', 'freshness', 'indexes', 'capacity', 'capacity.meanBytes', 'admin', 'dns', 'dns.endpoints[0]', 'exports', 'decisionLog'])
  for (const [path, schema] of levels) {
    const field = path === '' ? 'colour' : `${path}.colour`
    const doc = path === '' ? { colour: 'blue' } : docWith(path, { colour: 'blue' })
    rejects(t, doc, `${field}: unknown field (known: ${Object.keys(schema.properties ?? {}).join(', ')})`, field)
  }
  rejects(t, { probes: { intervalMs: 1000 } }, 'probes.intervalMs: unknown field (known: enabled, canary, master, intervalSeconds, ' +
    't1IntervalSeconds, retrySeconds, timeoutSeconds, jitter, concurrency, failuresToDown, passesToUp, maxBackoffSeconds, readyTimeoutSeconds, stateFile)',
  'Config field names are not document keys')
})

t.test('bounds, types and formats name their field', async (t) => {
  // [where the value goes, the value, what the error says after "<field>: "]; the field is that path.
  const cases: Array<[string, unknown, string]> = [
    ['probes.intervalSeconds', 0.01, '0.01 is out of range [0.05, 86400]'],
    ['probes.t1IntervalSeconds', 86401, '86401 is out of range [0.05, 86400]'],
    ['probes.retrySeconds', 3601, '3601 is out of range [0.01, 3600]'],
    ['probes.timeoutSeconds', 0, '0 is out of range [0.01, 300]'],
    ['probes.readyTimeoutSeconds', -1, '-1 is out of range [0, 3600]'],
    ['probes.concurrency', 1.5, 'expected an integer, got 1.5'],
    ['probes.failuresToDown', '3', 'expected a number, got "3"'],
    ['probes.jitter', 1.5, '1.5 is out of range [0, 1]'],
    ['probes.enabled', 'yes', 'expected true or false, got "yes"'],
    ['probes.canary', '/last-updated', '"/last-updated" must be a relative path (no leading /)'],
    ['probes.master', 'https://m.example.org/alpine', `"https://m.example.org/alpine" must end with '/'`],
    ['workers', 257, '257 is out of range [0, 256]'],
    ['port', Infinity, 'expected a number, got number Infinity'],
    ['linkCount', 21, '21 is out of range [0, 20]'],
    ['selection.nearKm', 20_001, '20001 is out of range [0, 20000]'],
    ['geoip.cacheSize', 0, '0 is out of range [1, 10000000]'],
    ['geoip.databases', [], 'needs at least 1 item(s)'],
    ['geoip.databases', 'city.mmdb', 'expected a list, got "city.mmdb"'],
    ['prefixes', Array(17).fill('/a/'), 'allows at most 16 item(s)'],
    ['host', '', 'expected a non-empty string, got ""'],
    ['instance.id', 'a b', '"a b" must be 1-63 letters, digits, dots, dashes or underscores'],
    ['instance.region', 'x'.repeat(64), `"${'x'.repeat(60)}…" must be 1-63 letters, digits, dots, dashes or underscores`],
    ['instance', 'fra', 'expected a mapping, got "fra"'],
    ['freshness.volatileMaxLagSeconds', 30 * 86400 + 1, '2592001 is out of range [0, 2592000]'],
    ['admin.token', 'short', 'must be at least 16 characters'],
    ['dns.name', 'DL.example.org', '"DL.example.org" is not a lowercase DNS name'],
    ['dns.nameservers', Array(14).fill('ns.example.org'), 'allows at most 13 item(s)'],
    ['dns.ttl', 0, '0 is out of range [1, 86400]'],
    ['dns.answers', 9, '9 is out of range [1, 8]'],
    ['dns.port', 65536, '65536 is out of range [0, 65535]'],
    ['decisionLog.sample', 0, '0 is out of range [1, 1000000]'],
    ['decisionLog.sample', 2.5, 'expected an integer, got 2.5']
  ]
  for (const [path, value, what] of cases) rejects(t, docWith(path, value), `${path}: ${what}`, `${path}: ${String(value).slice(0, 40)}`)
  rejects(t, { freshness: { volatile: ['**/ok', 'not ok'] } }, 'freshness.volatile[1]: must be a glob of path characters, * and ?', 'a glob')

  const endpoint = (e: object): unknown => ({ dns: { endpoints: [ENDPOINT, { ...ENDPOINT, id: 'ams-1', ...e }] } })
  rejects(t, endpoint({ id: 'AMS' }), 'dns.endpoints[1].id: "AMS" must be lowercase letters, digits and dashes', 'endpoint id pattern')
  rejects(t, endpoint({ id: 'fra-1' }), 'dns.endpoints[1].id: duplicate id "fra-1"', 'duplicate endpoint ids')
  rejects(t, endpoint({ country: 'XX' }), 'dns.endpoints[1].country: "XX" is not an ISO 3166-1 alpha-2 country code', 'endpoint country')
  rejects(t, endpoint({ addresses: [] }), 'dns.endpoints[1].addresses: needs at least 1 item(s)', 'no addresses')
  rejects(t, endpoint({ addresses: ['192.0.2.1', '2001:DB8::1'] }),
    'dns.endpoints[1].addresses[1]: "2001:DB8::1" is not an IP address in canonical form (expected 2001:db8::1)', 'address not canonical')
  rejects(t, endpoint({ health: 'http://h.example.org/readyz?x=1' }),
    'dns.endpoints[1].health: "http://h.example.org/readyz?x=1" must not carry credentials, a query or a fragment', 'health URL')
  rejects(t, endpoint({ weight: 0 }), 'dns.endpoints[1].weight: 0 is out of range [0.001, 1000000]', 'weight')
  rejects(t, { dns: { endpoints: [{ id: 'x', country: 'DE', latitude: 0, longitude: 0 }] } }, 'dns.endpoints[0].addresses: is required', 'a required endpoint field')
  rejects(t, { freshness: { volatileMaxLagSeconds: 600, versionedMaxLagSeconds: 599 } },
    'freshness.versionedMaxLagSeconds: must not be smaller than volatileMaxLagSeconds', 'versioned lag below volatile lag')
  t.equal(configFromDocument({ freshness: { volatileMaxLagSeconds: 600, versionedMaxLagSeconds: 600 } }, 'f.yaml', ROOT).freshness.versionedMaxLagMs, 600_000, 'equal lags are fine')
})

t.test('nullable fields take null, and paths resolve against the base folder', async (t) => {
  const c = configFromDocument({
    fallback: null, instance: { country: null }, admin: { token: null }, dns: { ttl: null }, probes: { master: null, stateFile: 'state/p.json', retrySeconds: 0.0125 },
    exports: { dir: '../out' }, table: 'm.yaml', decisionLog: { file: 'log/decisions.jsonl' }
  }, 'f.yaml', '/srv/mg/etc')
  t.equal(c.fallback, null)
  t.equal(c.instance.country, null)
  t.equal(c.admin.token, null)
  t.equal(c.dns.ttl, null)
  t.equal(c.probes.master, null)
  t.equal(c.probes.retryMs, 13, 'seconds become whole milliseconds')
  t.equal(c.probes.stateFile, '/srv/mg/etc/state/p.json')
  t.equal(c.exports.dir, '/srv/mg/out')
  t.equal(c.decisionLog.file, '/srv/mg/etc/log/decisions.jsonl')
  t.equal(c.table, '/srv/mg/etc/m.yaml')
})
