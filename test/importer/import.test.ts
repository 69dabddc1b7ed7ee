// src/importer/main.ts, the whole command: Alpine's 2018 list imported with a resolver that
// answers from a fixed map (no DNS), the table checked by the real validator and placed by the
// real GeoIP database; overrides kept across imports; changes reported; bad input exits 2.

import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { DEFAULTS, EMBEDDED_GEOIP } from '../../src/config/schema.js'
import { parseTableText } from '../../src/config/table-file.js'
import { parseIp } from '../../src/core/ip.js'
import type { Mirror, MirrorTable } from '../../src/core/types.js'
import { GeoIp } from '../../src/geoip/reader.js'
import { importAlpineCommand, USAGE } from '../../src/importer/main.js'
import { systemResolve } from '../../src/importer/resolve.js'
import { writeMmdb } from '../helpers/mmdb-writer.js'

const REFERENCE = fileURLToPath(new URL('../fixtures/importer/alpine-mirrors-2018.yaml', import.meta.url))
const REFERENCE_TEXT = readFileSync(REFERENCE, 'utf8')

// Addresses chosen for what DB-IP says of them, not the hosts' real ones.
const ADDRESSES: Readonly<Record<string, { addresses: string[], country: string }>> = {
  'nl.alpinelinux.org': { addresses: ['193.0.6.139', '2001:67c:2e8:22::c100:68b'], country: 'NL' },
  'mirror.yandex.ru': { addresses: ['5.255.255.242', '2a02:6b8::2:242'], country: 'RU' },
  'mirrors.gigenet.com': { addresses: ['8.8.8.8', '2001:4860:4860::8888'], country: 'US' }, // the IPv6 one is in CA
  'mirror1.hs-esslingen.de': { addresses: ['137.226.34.46'], country: 'DE' },
  'mirror.fit.cvut.cz': { addresses: ['147.32.232.212', '2001:718:2::212'], country: 'CZ' },
  'alpine.mirror.wearetriple.com': { addresses: ['82.94.1.1'], country: 'NL' },
  'mirror.clarkson.edu': { addresses: ['128.153.145.19'], country: 'US' },
  'ftp.yzu.edu.tw': { addresses: ['140.138.1.1'], country: 'TW' },
  'mirror.aarnet.edu.au': { addresses: ['2001:388:1:5054::6', '202.158.214.106'], country: 'AU' },
  'mirror.csclub.uwaterloo.ca': { addresses: ['129.97.134.71', '2620:101:f000:4901:c5c::f:1055'], country: 'CA' },
  'ftp.acc.umu.se': { addresses: ['130.239.18.165', '2001:6b0:e:2018::165'], country: 'SE' },
  'ftp.halifax.rwth-aachen.de': { addresses: ['137.226.34.46', '2a00:8a60:e012:a00::21'], country: 'DE' },
  'mirrors.dotsrc.org': { addresses: ['130.225.254.116', '2001:878:346::116'], country: 'DK' },
  'ftp.tsukuba.wide.ad.jp': { addresses: ['203.178.137.175', '2001:200:0:7c06::9393'], country: 'JP' },
  'mirror.neostrada.nl': { addresses: ['137.226.34.46'], country: 'DE' } // the list says Netherlands
}
/** Documentation addresses: resolved, but in no GeoIP record. */
const DOCUMENTATION: Readonly<Record<string, string[]>> = { 'dl-3.alpinelinux.org': ['192.0.2.10', '2001:db8::10'] }
/** Never answers: the timeout must end it. */
const HANGS = new Set(['dl-8.alpinelinux.org'])
// Every other host fails as a dead name does.

const BY_LOCATION: Readonly<Record<string, [string, number, number]>> = {
  'uk-alpinelinux-org': ['GB', 51.52, -0.72], // Maidenhead
  'alpine-mirror-far-fi': ['FI', 60.17, 24.94], // Helsinki
  'linorg-usp-br': ['BR', -23.55, -46.63], // São Paulo
  'speglar-siminn-is': ['IS', 64.15, -21.94], // Reykjavík
  'mirror-rise-ph': ['PH', 12.88, 121.77] // the country's centroid
}
const UNPLACED = ['dl-2-alpinelinux-org', 'dl-3-alpinelinux-org', 'dl-4-alpinelinux-org', 'dl-5-alpinelinux-org', 'dl-8-alpinelinux-org']

function resolver (asked: string[] = []): (host: string) => Promise<string[]> {
  return async (host) => {
    asked.push(host)
    if (HANGS.has(host)) return await new Promise<string[]>(() => {})
    const known = ADDRESSES[host]?.addresses ?? DOCUMENTATION[host]
    if (known !== undefined) return known
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
  }
}

interface Run { code: number, stdout: string, stderr: string }

async function importAlpine (args: string[], resolve = resolver()): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const sink = (add: (s: string) => void): Writable => new Writable({ write (chunk, _encoding, done) { add(String(chunk)); done() } })
  const code = await importAlpineCommand(['--timeout', '0.2', ...args], {
    stdout: sink((s) => { stdout += s }),
    stderr: sink((s) => { stderr += s })
  }, { resolve })
  return { code, stdout, stderr }
}

const mirror = (table: MirrorTable, id: string): Mirror => {
  const m = table.byId.get(id)
  if (m === undefined) throw new Error(`no ${id} in the table`)
  return m
}
const idOf = (host: string): string => host.replaceAll('.', '-')
/** Each mirror's note as written (the validated table keeps no notes). */
const notesOf = (text: string): Map<string, string | undefined> =>
  new Map((parseYaml(text) as { mirrors: Array<{ id: string, note?: string }> }).mirrors.map((m) => [m.id, m.note]))

t.test('--help prints the usage and exits 0', async (t) => {
  const r = await importAlpine(['--help'])
  t.equal(r.code, 0)
  t.equal(r.stdout, USAGE + '\n')
  t.match(r.stdout, /^usage: mirrorgate import-alpine MIRRORS_YAML \[--out TABLE\] \[--overrides FILE\] \[--config FILE\] \[--dry-run\]/)
})

t.test('the 2018 reference list: placed by GeoIP, by the location text, or disabled for review', async (t) => {
  const asked: string[] = []
  const r = await importAlpine([REFERENCE], resolver(asked))
  t.equal(r.code, 0, r.stderr)
  const table = parseTableText(r.stdout, 'stdout')
  const notes = notesOf(r.stdout)
  t.equal(table.mirrors.length, 25, '27 entries less dl-cdn and the GeoDNS one')
  t.notOk(asked.includes('dl-cdn.alpinelinux.org') || asked.includes('mirror.leaseweb.com'), 'skipped entries are not resolved')
  t.match(r.stderr, /^import-alpine: 27 entries in .*alpine-mirrors-2018\.yaml, 25 imported\n/)
  t.match(r.stderr, /\n {2}\[0\] dl-cdn\.alpinelinux\.org: dl-cdn\.alpinelinux\.org is the name mirrorgate answers for\n {2}\[11\] leaseweb: GeoDNS/)
  t.match(r.stderr, /\nresolved: 16 of 25 hosts\n/, 'fifteen placed, and one with documentation addresses')
  t.notMatch(r.stderr, /no host resolved/)
  t.match(r.stderr, /\nplaced: 15 by GeoIP of their addresses, 5 from the list's location text, 5 not placed \(disabled\)\n/)

  // The real database says where each chosen address is; the table agrees.
  const geo = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 100)
  for (const [host, { addresses, country }] of Object.entries(ADDRESSES)) {
    const ipv4 = addresses.find((a) => !a.includes(':')) as string
    const place = geo.locate(parseIp(ipv4) as NonNullable<ReturnType<typeof parseIp>>)
    t.equal(place.country, country, `DB-IP places ${ipv4} in ${country}`)
    const m = mirror(table, idOf(host))
    t.equal(m.country, country, `${m.id}: ${country}`)
    t.equal(m.latitude, Math.round(place.latitude * 100) / 100, `${m.id}: at its address's coordinates`)
    t.ok(m.enabled, `${m.id}: enabled`)
    t.equal(m.ipv6, addresses.some((a) => a.includes(':')), `${m.id}: ipv6 exactly when it has an AAAA`)
    t.ok(m.ipv4, `${m.id}: ipv4 always`)
    t.equal(m.tier, 'community')
    t.equal(m.weight, 10)
  }
  t.equal(notes.get('mirror-yandex-ru'), undefined, 'placed by GeoIP with nothing in doubt: no note')
  t.match(notes.get('mirrors-gigenet-com'), /^review: its addresses are placed in US, CA; placed by 8\.8\.8\.8$/)
  t.match(notes.get('mirror-neostrada-nl'), /^review: the list's location \(Europe, Netherlands\) says NL, GeoIP of 137\.226\.34\.46 says DE$/)

  for (const [id, [country, latitude, longitude]] of Object.entries(BY_LOCATION)) {
    const m = mirror(table, id)
    t.same([m.country, m.latitude, m.longitude, m.enabled], [country, latitude, longitude, true], `${id}: from the location text`)
    t.match(notes.get(id), /^review: placed from the list's location text \(/, `${id}: marked for review`)
    t.match(r.stderr, new RegExp(`\n {2}${id} \\[\\d+\\]: placed from the list's location text`), `${id}: in the report`)
  }
  t.equal(notes.get('uk-alpinelinux-org'),
    "review: placed from the list's location text (Maidenhead, United Kingdom → GB, Maidenhead); uk.alpinelinux.org did not resolve (ENOTFOUND)")
  t.match(notes.get('mirror-rise-ph'), /\(Philippines → PH, country centroid\)/)

  for (const id of UNPLACED) {
    const m = mirror(table, id)
    t.notOk(m.enabled, `${id}: disabled`)
    t.match(notes.get(id), /^review: not placed, disabled: .*the list gives no location; country DE is a placeholder/, `${id}: says why`)
  }
  t.match(notes.get('dl-3-alpinelinux-org'), /its addresses \(192\.0\.2\.10, 2001:db8::10\) are in no GeoIP record/)
  t.match(notes.get('dl-8-alpinelinux-org'), /did not resolve \(no answer within 0\.2 s\)/)
  t.match(notes.get('dl-2-alpinelinux-org'), /did not resolve \(ENOTFOUND\)/)
  t.equal([...notes.values()].filter((n) => n?.startsWith('review:')).length, 5 + 5 + 2, 'five by location, five unplaced, two in doubt')

  const budgets = Object.fromEntries(table.mirrors.filter((m) => m.budget !== null).map((m) => [m.id, (m.budget?.bytesPerSecond ?? 0) / 125_000]))
  t.same(budgets, {
    'nl-alpinelinux-org': 100, // 100 Mbit/s
    'uk-alpinelinux-org': 1000, // 1 Gbps
    'alpine-mirror-wearetriple-com': 10_000, // 10Gbit/s
    'mirror-clarkson-edu': 1000,
    'ftp-yzu-edu-tw': 1000,
    'mirror-csclub-uwaterloo-ca': 10_000,
    'ftp-acc-umu-se': 20_000,
    'ftp-halifax-rwth-aachen-de': 20_000,
    'mirrors-dotsrc-org': 10_000,
    'ftp-tsukuba-wide-ad-jp': 1000,
    'mirror-neostrada-nl': 100 // 100Mbit/s
  }, 'each bandwidth as a starting budget')
  t.equal(mirror(table, 'mirror-fit-cvut-cz').name, 'FIT CTU in Prague')
  t.equal(mirror(table, 'mirror-fit-cvut-cz').https, 'https://mirror.fit.cvut.cz/alpine/')
  t.equal(mirror(table, 'mirror-aarnet-edu-au').http, 'http://mirror.aarnet.edu.au/pub/alpine/')

  t.match(r.stdout, /^# mirrorgate mirror table, written by `mirrorgate import-alpine`/)
  t.match(r.stdout, /\n# Mirror names and URLs: Alpine Linux's mirror list \(https:\/\/mirrors\.alpinelinux\.org\/\), MIT licence\.\n/)
  t.match(r.stdout, /\n# Placement by IP address: DB-IP Lite City \(https:\/\/db-ip\.com\), CC BY 4\.0\.\n/)
  t.match(r.stdout, / {4}families: \[ipv4, ipv6\]\n/, 'short lists on one line')
})

/** The report's "changed" lines as {id: [fields]}. */
function changedFields (report: string): Record<string, string[]> {
  return Object.fromEntries([...report.matchAll(/^ {2}changed ([a-z0-9-]+): (.*)$/gm)]
    .map((m) => [m[1], (m[2] as string).split('; ').map((c) => c.split(' ')[0])]))
}

const OVERRIDES = `# Our own settings.
participation: { community: overflow }
mirrors:
  mirror-yandex-ru: { weight: 30, tier: t1, sponsor: Yandex, budget: { megabitsPerSecond: 2000, requestsPerSecond: 500 } }
  uk-alpinelinux-org: { enabled: false, note: retired here }
  mirrors-dotsrc-org: { restrictions: { onlyContinents: [EU] }, asns: [2108] }
  dl-2-alpinelinux-org: { country: NL, latitude: 52.37, longitude: 4.9, enabled: true, note: checked by hand }
  mirror-neostrada-nl: { budget: null }
  mirror-gone-example: { weight: 5 }
extra:
  - id: osso-nl
    name: Osso B.V. (Tier-1)
    sponsor: Osso B.V.
    tier: t1
    urls: [https://t1-osso.example.invalid/alpine/]
    country: NL
    latitude: 52.37
    longitude: 4.9
    weight: 1000
    families: [ipv4, ipv6]
    enabled: false
`

t.test('a re-import keeps every override, and reports only what really changed', async (t) => {
  const dir = t.testdir({})
  const out = join(dir, 'mirrors.yaml')
  const first = await importAlpine([REFERENCE, '--out', out])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /\nno previous table at .*mirrors\.yaml: every mirror is new\n/)
  t.match(first.stdout, /\nwrote .*mirrors\.yaml: 25 mirrors\n$/)
  t.match(first.stdout, /\noverrides: none \(no .*mirrors\.overrides\.yaml\)\n/, 'the default overrides file is looked for beside the table')
  const written = readFileSync(out, 'utf8')
  t.equal(parseTableText(written, out).mirrors.length, 25)
  t.match(written, /\n# Do not edit: a re-import rewrites this file\. Settings of your own go in mirrors\.overrides\.yaml,\n/)

  const again = await importAlpine([REFERENCE, '--out', out])
  t.match(again.stdout, /\nchanges against .*mirrors\.yaml: none, 25 unchanged\n/, 'the same list again changes nothing')
  t.equal(readFileSync(out, 'utf8'), written, 'and writes the same bytes')

  writeFileSync(join(dir, 'mirrors.overrides.yaml'), OVERRIDES)
  const overridden = await importAlpine([REFERENCE, '--out', out])
  t.equal(overridden.code, 0, overridden.stderr)
  t.same(changedFields(overridden.stdout), {
    'uk-alpinelinux-org': ['enabled', 'note'],
    'dl-2-alpinelinux-org': ['country', 'latitude', 'longitude', 'enabled', 'note'],
    'mirror-yandex-ru': ['sponsor', 'tier', 'weight', 'budget'],
    'mirrors-dotsrc-org': ['asns', 'restrictions'],
    'mirror-neostrada-nl': ['budget']
  }, 'exactly the overridden fields changed')
  t.match(overridden.stdout, /\n {2}added: osso-nl\n/)
  t.match(overridden.stdout, '\n  changed mirror-yandex-ru: sponsor (none) → "Yandex"; tier "community" → "t1"; weight 10 → 30; budget (none) → {"megabitsPerSecond":2000,"requestsPerSecond":500}\n')
  t.match(overridden.stdout, /\n {2}participation: \(none\) → \{"community":"overflow"\}\n/)
  t.match(overridden.stdout, /\noverrides from .*mirrors\.overrides\.yaml: 5 mirrors overridden, 1 extra\n {2}warning: mirrors\.mirror-gone-example matches no imported mirror/)

  const table = parseTableText(readFileSync(out, 'utf8'), out)
  const notes = notesOf(readFileSync(out, 'utf8'))
  const yandex = mirror(table, 'mirror-yandex-ru')
  t.same([yandex.weight, yandex.tier, yandex.sponsor, yandex.budget], [30, 't1', 'Yandex', { requestsPerSecond: 500, bytesPerSecond: 2000 * 125_000 }])
  t.same([mirror(table, 'uk-alpinelinux-org').enabled, notes.get('uk-alpinelinux-org')], [false, 'retired here'])
  t.same(mirror(table, 'mirrors-dotsrc-org').restrictions.onlyContinents, ['EU'])
  t.same(mirror(table, 'mirrors-dotsrc-org').asns, [2108])
  const dl2 = mirror(table, 'dl-2-alpinelinux-org')
  t.same([dl2.country, dl2.latitude, dl2.longitude, dl2.enabled, notes.get(dl2.id)], ['NL', 52.37, 4.9, true, 'checked by hand'], 'a placement fixed by hand')
  t.equal(mirror(table, 'mirror-neostrada-nl').budget, null, 'null removes an imported field')
  t.equal(mirror(table, 'osso-nl').tier, 't1', 'the extra entry is in the table')
  t.equal(mirror(table, 'mirror-yandex-ru').participation, 'full', 'its own tier')
  t.equal(mirror(table, 'mirror-clarkson-edu').participation, 'overflow', 'the top-level participation')
  t.notOk(table.byId.has('mirror-gone-example'))
  t.match(readFileSync(out, 'utf8'), /\n {2}# --- extra entries from mirrors\.overrides\.yaml ---\n {2}- id: osso-nl\n/)
  t.equal(readFileSync(join(dir, 'mirrors.overrides.yaml'), 'utf8'), OVERRIDES, 'the overrides file is never written')

  const steady = await importAlpine([REFERENCE, '--out', out])
  t.match(steady.stdout, /\nchanges against .*: none, 26 unchanged\n/, 'with the overrides in place, a re-import changes nothing')
})

t.test('when the list changes: added, removed and changed, by id with the fields', async (t) => {
  const dir = t.testdir({ 'list.yaml': REFERENCE_TEXT })
  const out = join(dir, 'table.yaml')
  t.equal((await importAlpine([join(dir, 'list.yaml'), '--out', out])).code, 0)
  const changed = REFERENCE_TEXT
    .replace(/- name: nl\.alpinelinux\.org\n(?: {2}.*\n)+/, '') // gone
    .replace('bandwidth: 1 Gbps', 'bandwidth: 10 Gbps') // uk: a faster port
    .replace('  - http://mirror.clarkson.edu/alpine/\n', '  - http://mirror.clarkson.edu/alpine/\n  - https://mirror.clarkson.edu/alpine/\n') +
    '- name: New Mirror\n  location: Tokyo, Japan\n  urls:\n  - https://mirror.new.example/alpine/\n' // new
  writeFileSync(join(dir, 'list.yaml'), changed)
  const r = await importAlpine([join(dir, 'list.yaml'), '--out', out])
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /\nchanges against .*table\.yaml: 1 added, 1 removed, 2 changed, 22 unchanged\n/)
  t.match(r.stdout, /\n {2}added: mirror-new-example\n {2}removed: nl-alpinelinux-org\n/)
  t.same(changedFields(r.stdout), { 'uk-alpinelinux-org': ['budget'], 'mirror-clarkson-edu': ['urls'] })
  t.match(r.stdout, /changed uk-alpinelinux-org: budget \{"megabitsPerSecond":1000\} → \{"megabitsPerSecond":10000\}\n/)
  const table = parseTableText(readFileSync(out, 'utf8'), out)
  t.same([mirror(table, 'mirror-new-example').country, mirror(table, 'mirror-new-example').latitude], ['JP', 35.68], 'the new one placed from its text (Tokyo)')
})

t.test('--dry-run reports and writes nothing', async (t) => {
  const dir = t.testdir({})
  const out = join(dir, 'mirrors.yaml')
  const none = await importAlpine([REFERENCE, '--out', out, '--dry-run'])
  t.equal(none.code, 0, none.stderr)
  t.match(none.stdout, /\ndry run: .*mirrors\.yaml not written\n$/)
  t.notOk(existsSync(out), 'no table')
  writeFileSync(out, '# an old table\nmirrors:\n  - id: old-one\n    name: old\n')
  const over = await importAlpine([REFERENCE, '--out', out, '--dry-run'])
  t.match(over.stdout, /\nchanges against .*: 25 added, 1 removed, 0 changed, 0 unchanged\n {2}added: nl-alpinelinux-org, /)
  t.equal(readFileSync(out, 'utf8'), '# an old table\nmirrors:\n  - id: old-one\n    name: old\n', 'the old table is untouched')
  t.same(readdirSync(dir), ['mirrors.yaml'], 'and no temporary file is left')
  const quiet = await importAlpine([REFERENCE, '--dry-run'])
  t.equal(quiet.stdout, '', 'without --out: no table on stdout')
  t.match(quiet.stderr, /^import-alpine: 27 entries/)
})

t.test('an ASN database adds asns; a database of ours is not credited to DB-IP', async (t) => {
  const dir = t.testdir({ 'list.yaml': '- name: nl.alpinelinux.org\n  location: Europe, Netherlands\n  urls: [http://nl.alpinelinux.org/alpine/]\n' })
  const asn = join(dir, 'asn.mmdb')
  writeMmdb(asn, { databaseType: 'GeoLite2-ASN', ipVersion: 6, entries: [{ network: '193.0.6.0/24', data: { autonomous_system_number: 3333, autonomous_system_organization: 'RIPE NCC' } }] })
  writeFileSync(join(dir, 'asn.yaml'), `geoip:\n  databases: [${JSON.stringify(EMBEDDED_GEOIP[0])}, ${JSON.stringify(EMBEDDED_GEOIP[1])}, asn.mmdb]\n`)
  const withAsn = await importAlpine([join(dir, 'list.yaml'), '--config', join(dir, 'asn.yaml')])
  t.equal(withAsn.code, 0, withAsn.stderr)
  const m = mirror(parseTableText(withAsn.stdout, 'stdout'), 'nl-alpinelinux-org')
  t.same([m.country, m.asns], ['NL', [3333]])
  t.match(withAsn.stdout, /DB-IP Lite City/)

  const city = join(dir, 'city.mmdb')
  writeMmdb(city, { databaseType: 'GeoLite2-City', ipVersion: 6, entries: [{ network: '193.0.6.0/24', data: { country: { iso_code: 'BE' }, location: { latitude: 50.85, longitude: 4.35 } } }] })
  writeFileSync(join(dir, 'own.yaml'), 'geoip:\n  databases: [city.mmdb]\ninstance: { country: FR, latitude: 48.86, longitude: 2.35 }\n')
  const own = await importAlpine([join(dir, 'list.yaml'), '--config', join(dir, 'own.yaml')])
  t.equal(own.code, 0, own.stderr)
  const placed = mirror(parseTableText(own.stdout, 'stdout'), 'nl-alpinelinux-org')
  t.same([placed.country, placed.latitude, placed.longitude], ['BE', 50.85, 4.35], 'placed by the configured database')
  t.match(notesOf(own.stdout).get(placed.id), /the list's location \(Europe, Netherlands\) says NL, GeoIP of 193\.0\.6\.139 says BE/)
  t.notMatch(own.stdout, /DB-IP Lite/, 'no DB-IP credit when DB-IP placed nothing')
})

t.test('unplaced mirrors take the configured instance region as their placeholder', async (t) => {
  const dir = t.testdir({
    'list.yaml': '- name: gone\n  urls: [http://gone.example/alpine/]\n',
    'config.yaml': 'instance: { country: FR, latitude: 48.86, longitude: 2.35 }\n'
  })
  const r = await importAlpine([join(dir, 'list.yaml'), '--config', join(dir, 'config.yaml')])
  t.equal(r.code, 0, r.stderr)
  const m = mirror(parseTableText(r.stdout, 'stdout'), 'gone-example')
  t.same([m.country, m.latitude, m.enabled], ['FR', 48.86, false])
  t.match(r.stderr, /\nresolved: 0 of 1 hosts\nwarning: no host resolved \(offline\?\): every placement comes from the list's location text\n/)
  t.notMatch(r.stdout, /DB-IP Lite/, 'nothing placed by GeoIP: no credit')
})

t.test('bad usage or input: exit 2, one line saying what is wrong, nothing written', async (t) => {
  const dir = t.testdir({
    'mapping.yaml': 'mirrors: []\n',
    'no-urls.yaml': '- name: a\n  urls: [http://a.example/alpine/]\n- name: b\n  location: Europe, Netherlands\n',
    'bad-bandwidth.yaml': '- name: a\n  bandwidth: [1, Gbit]\n  urls: [http://a.example/alpine/]\n',
    'list.yaml': '- name: a.example\n  urls: [http://a.example/alpine/]\n',
    'bad-override.yaml': 'mirrors:\n  a-example: { weight: -1 }\n',
    'unknown-field.yaml': 'mirrors:\n  a-example: { speed: 3 }\n',
    'clash.yaml': 'extra:\n  - { id: a-example, name: A, tier: t1, urls: [https://a.example/], country: NL, latitude: 1, longitude: 1, weight: 1, families: [ipv4], enabled: true }\n',
    'top.yaml': 'mirros: {}\n',
    'bad-config.yaml': 'geoip: { cacheSize: -3 }\n',
    'not-a-table.yaml': 'host: 0.0.0.0\n'
  })
  const list = join(dir, 'list.yaml')
  const out = join(dir, 'out.yaml')
  const cases: Array<[string, string[], RegExp]> = [
    ['a list that is a mapping', [join(dir, 'mapping.yaml')], /mapping\.yaml: expected a list of mirrors \(Alpine's mirrors\.yaml\), got a mapping/],
    ['an entry without urls', [join(dir, 'no-urls.yaml')], /no-urls\.yaml: entry \[1\] \("b"\): urls: expected a non-empty list of URLs, got nothing/],
    ['a bandwidth that is not text', [join(dir, 'bad-bandwidth.yaml')], /bad-bandwidth\.yaml: entry \[0\] \("a"\): bandwidth: expected text such as "1 Gbit\/s", got a list/],
    ['a missing list', [join(dir, 'nope.yaml')], /nope\.yaml: cannot read the mirror list: ENOENT/],
    ['no list', [], /name the list to import: mirrorgate import-alpine MIRRORS_YAML/],
    ['two lists', [list, list], /one list at a time, got 2/],
    ['an unknown option', [list, '--output', out], /Unknown option '--output'.*--help for usage/],
    ['a bad timeout', [list, '--timeout', 'soon'], /--timeout: "soon" is not a number of seconds/],
    ['an override out of range', [list, '--overrides', join(dir, 'bad-override.yaml')], /Mirror table is invalid: .*bad-override\.yaml: mirrors\.a-example\.weight: -1 is out of range/],
    ['an override of an unknown field', [list, '--overrides', join(dir, 'unknown-field.yaml')], /unknown-field\.yaml: mirrors\.a-example\.speed: unknown field/],
    ['an extra entry with an imported id', [list, '--overrides', join(dir, 'clash.yaml')], /clash\.yaml: extra\[0\]\.id: "a-example" is an imported mirror; set its fields under mirrors\.a-example instead/],
    ['an unknown top-level field', [list, '--overrides', join(dir, 'top.yaml')], /top\.yaml: mirros: unknown field \(known: participation, mirrors, extra\)/],
    ['a missing overrides file named on the command line', [list, '--overrides', join(dir, 'gone.yaml')], /gone\.yaml: cannot read the overrides: ENOENT/],
    ['a bad config', [list, '--config', join(dir, 'bad-config.yaml')], /Configuration is invalid: .*bad-config\.yaml: geoip\.cacheSize: -3 is out of range/],
    ['--out naming something that is not a table', [list, '--out', join(dir, 'not-a-table.yaml')], /not-a-table\.yaml: is there, but is not a mirror table \(no mirrors list\): not overwritten/]
  ]
  for (const [what, args, message] of cases) {
    const r = await importAlpine([...args, ...(args.includes('--out') || args.length === 0 ? [] : ['--out', out])])
    t.equal(r.code, 2, `${what}: exit 2`)
    t.match(r.stderr, message, `${what}: says so`)
    t.match(r.stderr, /^import-alpine: [^\n]*\n$/, `${what}: in one line`)
    t.equal(r.stdout, '', `${what}: no report`)
    t.notOk(existsSync(out), `${what}: no table`)
  }
  t.equal(readFileSync(join(dir, 'not-a-table.yaml'), 'utf8'), 'host: 0.0.0.0\n', 'a file that is not a table is left alone')
})

t.test('a table that cannot be written: exit 1', async (t) => {
  const dir = t.testdir({ 'list.yaml': '- name: a.example\n  urls: [http://a.example/alpine/]\n' })
  const r = await importAlpine([join(dir, 'list.yaml'), '--out', join(dir, 'no-such-folder', 'mirrors.yaml')])
  t.equal(r.code, 1)
  t.match(r.stderr, /no-such-folder\/mirrors\.yaml: cannot write the table: ENOENT/)
})

t.test('the default resolver answers for an address without asking anyone', async (t) => {
  t.same(await systemResolve('127.0.0.1'), ['127.0.0.1'])
  t.same(await systemResolve('::1'), ['::1'])
})
