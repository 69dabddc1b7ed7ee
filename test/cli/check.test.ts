// `mirrorgate check` as a process: the shipped files pass; each kind of mistake in a table or a
// config is reported as `file:line: field: message` on the line it was made, several at once,
// with exit 2.

import t from 'tap'
import { join } from 'node:path'
import { ensureBuilt, mirrorgate, root } from './run-cli.js'

await ensureBuilt()

/** A valid table entry, with lines replaced or added through `change`. */
function entry (id: string, change: (lines: string[]) => string[] = (l) => l): string {
  const lines = [
    `  - id: ${id}`,
    `    name: Mirror ${id}`,
    '    tier: community',
    '    urls:',
    `      - https://${id}.example.org/alpine/`,
    '    country: DE',
    '    latitude: 50.1',
    '    longitude: 8.7',
    '    weight: 10',
    '    families: [ipv4, ipv6]',
    '    enabled: true'
  ]
  return change(lines).join('\n') + '\n'
}

const table = (...entries: string[]): string => `# a table\nmirrors:\n${entries.join('')}`

/** The 1-based line of the first line of `text` containing `marker` (the nth, counting from 1). */
function lineOf (text: string, marker: string, nth = 1): number {
  let seen = 0
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) if ((lines[i] as string).includes(marker) && ++seen === nth) return i + 1
  throw new Error(`no line with ${marker}`)
}

t.test('the shipped table and example config pass, exit 0', async (t) => {
  const cases: Array<[string[], Record<string, string>]> = [
    [['check', '--config', 'data/mirrorgate.example.yaml'], {}],
    [['check'], { MIRRORGATE_CONFIG: join(root, 'data', 'mirrorgate.example.yaml') }],
    [['check', '--table', 'data/mirrors.yaml'], {}],
    [['check'], {}]
  ]
  for (const [args, env] of cases) {
    const r = await mirrorgate(args, { env })
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`)
    t.match(r.stdout, /^ok: data\/mirrors\.yaml \(table: \d+ mirrors, \d+ enabled\)$/m, 'the table is ok')
    t.equal(r.stderr, '')
  }
  const both = await mirrorgate(['check', '--config', 'data/mirrorgate.example.yaml'])
  t.match(both.stdout, /^ok: data\/mirrorgate\.example\.yaml \(config\)$/m, 'the config is ok')
})

t.test('each kind of mistake in a table: exit 2, the field, and the line it is on', async (t) => {
  const cases: Array<{ what: string, text: string, expect: (text: string) => RegExp }> = [
    {
      what: 'bad YAML syntax',
      text: table(entry('a', (l) => l.map((x) => x.includes('country') ? '    country: DE: x' : x))),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'country: DE: x')}: not valid YAML: `, 'm')
    },
    {
      what: 'a key given twice',
      text: table(entry('a', (l) => [...l, '    weight: 20'])),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'weight: 20')}: not valid YAML: Map keys must be unique`, 'm')
    },
    {
      what: 'an unknown key',
      text: table(entry('a'), entry('b', (l) => [...l, '    colour: blue'])),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'colour')}: mirrors\\[1\\]\\.colour: unknown field \\(known: id, `, 'm')
    },
    {
      what: 'a missing field (the line of its entry)',
      text: table(entry('a'), entry('b', (l) => l.filter((x) => !x.includes('weight')))),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, '- id: b')}: mirrors\\[1\\]\\.weight: is required$`, 'm')
    },
    {
      what: 'a bad country',
      text: table(entry('a', (l) => l.map((x) => x.includes('country') ? '    country: XX' : x))),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'country: XX')}: mirrors\\[0\\]\\.country: "XX" is not an ISO 3166-1 alpha-2 country code`, 'm')
    },
    {
      what: 'a bad URL',
      text: table(entry('a', (l) => [...l.slice(0, 4), '      - https://a.example.org/alpine/', '      - http://a.example.org/alpine', ...l.slice(5)])),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'http://a.example.org/alpine')}: mirrors\\[0\\]\\.urls\\[1\\]: "http://a\\.example\\.org/alpine" must end with '/'$`, 'm')
    },
    {
      what: 'a duplicate id',
      text: table(entry('a'), entry('b'), entry('a')),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, '- id: a', 2)}: mirrors\\[2\\]\\.id: duplicate id "a" \\(first at mirrors\\[0\\]\\)$`, 'm')
    },
    {
      what: 'a bad budget',
      text: table(entry('a', (l) => [...l, '    budget:', '      megabitsPerSecond: fast'])),
      expect: (text) => new RegExp(`^t\\.yaml:${lineOf(text, 'fast')}: mirrors\\[0\\]\\.budget\\.megabitsPerSecond: expected a number, got "fast"$`, 'm')
    },
    {
      what: 'a bad top level',
      text: 'participation:\n  t1: sometimes\nmirrors: []\n',
      expect: () => /^t\.yaml:2: participation\.t1: "sometimes" is not one of full, country, overflow$/m
    },
    {
      what: 'not a mapping',
      text: '- a\n- b\n',
      expect: () => /^t\.yaml:1: expected a mapping, got a list$/m
    }
  ]
  for (const c of cases) {
    const dir = t.testdir({ 't.yaml': c.text })
    const r = await mirrorgate(['check', '--table', 't.yaml'], { cwd: dir })
    t.equal(r.code, 2, `${c.what}: exit 2`)
    t.match(r.stdout, c.expect(c.text), `${c.what}: file:line: field: message`)
    t.equal(r.stdout.trim().split('\n').length, 1, `${c.what}: one problem`)
    t.match(r.stderr, /^mirrorgate check: 1 problem\n$/)
  }
  const missing = await mirrorgate(['check', '--table', 'gone.yaml'], { cwd: t.testdir({}) })
  t.equal(missing.code, 2)
  t.match(missing.stdout, /^gone\.yaml:1: cannot read: ENOENT/)
})

t.test('several bad entries are all reported, in the order of the file', async (t) => {
  const text = table(
    entry('a', (l) => l.map((x) => x.includes('country') ? '    country: de' : x)),
    entry('b'),
    entry('c', (l) => [...l, '    colour: blue']),
    entry('b', (l) => l.map((x) => x.includes('latitude') ? '    latitude: 91' : x)),
    entry('e', (l) => l.map((x) => x.includes('tier') ? '    tier: gold' : x))
  )
  const dir = t.testdir({ 't.yaml': text })
  const r = await mirrorgate(['check', '--table', join(dir, 't.yaml')], { cwd: dir })
  t.equal(r.code, 2)
  // Each line up to its field (fields hold no ':'); the messages are checked below.
  t.same(r.stdout.trim().split('\n').map((l) => l.replace(/^([^:]+:\d+: [^:]+): .*$/, '$1')), [
    `t.yaml:${lineOf(text, 'country: de')}: mirrors[0].country`,
    `t.yaml:${lineOf(text, 'colour')}: mirrors[2].colour`,
    `t.yaml:${lineOf(text, '- id: b', 2)}: mirrors[3].id`,
    `t.yaml:${lineOf(text, 'latitude: 91')}: mirrors[3].latitude`,
    `t.yaml:${lineOf(text, 'tier: gold')}: mirrors[4].tier`
  ])
  t.match(r.stdout, /mirrors\[3\]\.id: duplicate id "b" \(first at mirrors\[1\]\)/)
  t.match(r.stdout, /mirrors\[3\]\.latitude: 91 is out of range \[-90, 90\]/)
  t.match(r.stderr, /^mirrorgate check: 5 problems\n$/)
})

t.test('a bad config: each bad field on its line, and the table it names checked too', async (t) => {
  const config = [
    'port: 99999',
    'probes:',
    '  enabled: maybe',
    '  canary: last-updated',
    '  bogus: 1',
    'trustedProxies:',
    '  - 127.0.0.0/8',
    '  - 10.0.0.0/33',
    'colour: red',
    'table: t.yaml',
    ''
  ].join('\n')
  const bad = table(entry('a', (l) => l.map((x) => x.includes('country') ? '    country: XX' : x)))
  const dir = t.testdir({ 'c.yaml': config, 't.yaml': bad })
  const r = await mirrorgate(['check', '--config', 'c.yaml'], { cwd: dir })
  t.equal(r.code, 2)
  t.same(r.stdout.trim().split('\n'), [
    'c.yaml:1: port: 99999 is out of range [0, 65535]',
    'c.yaml:3: probes.enabled: expected true or false, got "maybe"',
    'c.yaml:5: probes.bogus: unknown field (known: ' + r.stdout.split('probes.bogus: unknown field (known: ')[1]?.split('\n')[0],
    'c.yaml:8: trustedProxies[1]: "10.0.0.0/33" is not an IP address or CIDR',
    'c.yaml:9: colour: unknown field (known: ' + r.stdout.split('colour: unknown field (known: ')[1]?.split('\n')[0],
    `t.yaml:${lineOf(bad, 'country: XX')}: mirrors[0].country: "XX" is not an ISO 3166-1 alpha-2 country code (uppercase)`
  ])
  t.match(r.stdout, /probes\.bogus: unknown field \(known: enabled, canary, /)
  t.match(r.stderr, /^mirrorgate check: 6 problems\n$/)

  // --table replaces the table the config names; MIRRORGATE_CONFIG names the config.
  const good = t.testdir({ 't.yaml': table(entry('a')), 'c.yaml': 'table: nowhere.yaml\n' })
  const replaced = await mirrorgate(['check', '--table', 't.yaml'], { cwd: good, env: { MIRRORGATE_CONFIG: 'c.yaml' } })
  t.equal(replaced.code, 0, replaced.stdout)
  t.equal(replaced.stdout, 'ok: c.yaml (config)\nok: t.yaml (table: 1 mirrors, 1 enabled)\n')
  const named = await mirrorgate(['check', '--config', 'c.yaml'], { cwd: good })
  t.equal(named.code, 2)
  t.match(named.stdout, /^nowhere\.yaml:1: cannot read: ENOENT/m)
})

t.test('a config rule across fields, bad YAML, and an unreadable GeoIP database', async (t) => {
  const dir = t.testdir({
    'lag.yaml': 'freshness:\n  volatileMaxLagSeconds: 100\n  versionedMaxLagSeconds: 10\n',
    'syntax.yaml': 'probes:\n  enabled: true\n  canary: x\n\tlinkCount: 3\n',
    'geoip.yaml': 'geoip:\n  databases:\n    - missing.mmdb\n'
  })
  const lag = await mirrorgate(['check', '--config', 'lag.yaml'], { cwd: dir })
  t.equal(lag.code, 2)
  t.match(lag.stdout, /^lag\.yaml:3: freshness\.versionedMaxLagSeconds: must not be smaller than volatileMaxLagSeconds$/m)
  const syntax = await mirrorgate(['check', '--config', 'syntax.yaml'], { cwd: dir })
  t.equal(syntax.code, 2)
  t.match(syntax.stdout, /^syntax\.yaml:4: not valid YAML: Tabs are not allowed as indentation \(column 1\)$/m)
  const geoip = await mirrorgate(['check', '--config', 'geoip.yaml'], { cwd: dir })
  t.equal(geoip.code, 2)
  t.match(geoip.stdout, /^geoip\.yaml:3: geoip\.databases\[0\]: cannot read ".*missing\.mmdb": ENOENT$/m)
})
