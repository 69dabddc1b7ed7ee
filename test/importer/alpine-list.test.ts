// src/importer/alpine-list.ts: Alpine's mirrors.yaml read and checked; the reference copy of
// 2018 (test/fixtures/importer), and every malformed entry named by its index.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAlpineList } from '../../src/importer/alpine-list.js'

const REFERENCE = fileURLToPath(new URL('../fixtures/importer/alpine-mirrors-2018.yaml', import.meta.url))

t.test('the 2018 reference list', async (t) => {
  const list = parseAlpineList(readFileSync(REFERENCE, 'utf8'), 'alpine-mirrors-2018.yaml')
  t.equal(list.entries.length + list.skipped.length, 27, '27 entries')
  t.same(list.skipped.map((s) => [s.index, s.name]), [[0, 'dl-cdn.alpinelinux.org'], [11, 'leaseweb']], 'dl-cdn itself and the GeoDNS leaseweb entry are left out')
  t.match(list.skipped[0]?.reason, /the name mirrorgate answers for/)
  t.match(list.skipped[1]?.reason, /GeoDNS/)
  t.same(list.warnings, [])
  const byHost = new Map(list.entries.map((e) => [e.host, e]))
  t.same(byHost.get('uk.alpinelinux.org'), {
    index: 2,
    name: 'uk.alpinelinux.org',
    location: 'Maidenhead, United Kingdom',
    country: null,
    bandwidth: '1 Gbps',
    host: 'uk.alpinelinux.org',
    urls: ['https://uk.alpinelinux.org/alpine/', 'http://uk.alpinelinux.org/alpine/'],
    notes: []
  })
  t.same(byHost.get('mirror.aarnet.edu.au')?.urls, ['http://mirror.aarnet.edu.au/pub/alpine/'], 'a base without its slash gets one')
  t.same(byHost.get('ftp.yzu.edu.tw')?.urls, ['https://ftp.yzu.edu.tw/Linux/alpine/', 'http://ftp.yzu.edu.tw/Linux/alpine/'], 'ftp and rsync are left out')
  t.equal(byHost.get('speglar.siminn.is')?.country, 'IS', 'the entry\'s own country code, uppercase')
  t.equal(byHost.get('mirror.fit.cvut.cz')?.name, 'FIT CTU in Prague', 'a name that is not a host: the host comes from the URLs')
  for (const e of list.entries) {
    t.ok(e.urls.length >= 1 && e.urls.every((u) => /^https?:\/\/[^/]+\/(.*\/)?$/.test(u)), `${e.host}: http(s) bases ending in /`)
  }
})

t.test('entries mirrorgate cannot use are set aside with a reason', async (t) => {
  const list = parseAlpineList(`
- name: ftp only
  urls: [ftp://ftp.example.org/alpine/, rsync://ftp.example.org/alpine/]
- name: Some CDN
  location: GeoDNS
  urls: [https://cdn.example.org/alpine/]
- name: two of each
  location: Somewhere
  contact: someone@example.org
  sponsor: Example
  urls:
    - http://a.example.org/alpine/
    - http://b.example.org/alpine/
    - HTTPS://A.Example.org/alpine?x=1
- name: v6 literal
  urls: ['http://[2001:db8::1]/alpine/']
`, 'list.yaml')
  t.same(list.skipped.map((s) => [s.index, s.reason]), [[0, 'no http or https URL (apk follows only those)'], [1, "GeoDNS: its place depends on who asks; add it in the overrides file's extra entries to use it"]])
  const [two, literal] = list.entries
  t.same(two?.urls, ['https://a.example.org/alpine/', 'http://a.example.org/alpine/'], 'first of each scheme, host lowercased, no query')
  t.same(two?.notes, ['more than one http URL; kept http://a.example.org/alpine/'])
  t.same(list.warnings, ['list.yaml: entry [2] ("two of each"): unknown field "sponsor" ignored'])
  t.equal(literal?.host, '2001:db8::1', 'an IPv6 literal without its brackets')
})

t.test('malformed input: an ImportError naming the file, the entry and the field', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['a mapping, not a list', 'mirrors: []\n', /^l\.yaml: expected a list of mirrors \(Alpine's mirrors\.yaml\), got a mapping$/],
    ['an empty list', '[]\n', /^l\.yaml: the list of mirrors is empty$/],
    ['not YAML', '- name: [unclosed\n', /^l\.yaml: not valid YAML/],
    ['an entry that is not a mapping', '- name: a\n  urls: [http://a.example/]\n- just text\n', /^l\.yaml: entry \[1\]: expected a mapping/],
    ['an entry without a name', '- urls: [http://a.example/]\n', /^l\.yaml: entry \[0\]: name: expected a non-empty string, got nothing$/],
    ['an entry without urls', '- name: a\n  urls: [http://a.example/]\n- name: b\n  location: Europe, Netherlands\n', /^l\.yaml: entry \[1\] \("b"\): urls: expected a non-empty list of URLs, got nothing$/],
    ['empty urls', '- name: b\n  urls: []\n', /entry \[0\] \("b"\): urls: expected a non-empty list/],
    ['urls as text', '- name: b\n  urls: http://b.example/\n', /entry \[0\] \("b"\): urls: expected a non-empty list of URLs, got "http:\/\/b\.example\/"/],
    ['a URL that is not one', '- name: b\n  urls: [not a url]\n', /entry \[0\] \("b"\): urls\[0\]: "not a url" is not a URL/],
    ['a bandwidth that is a list', '- name: b\n  bandwidth: [1, 2]\n  urls: [http://b.example/]\n', /entry \[0\] \("b"\): bandwidth: expected text such as "1 Gbit\/s", got a list/],
    ['a location that is a mapping', '- name: b\n  location: {city: x}\n  urls: [http://b.example/]\n', /entry \[0\] \("b"\): location: expected text, got a mapping/],
    ['a country that is not one', '- name: b\n  country: xx\n  urls: [http://b.example/]\n', /entry \[0\] \("b"\): country: "xx" is not an ISO 3166-1 alpha-2 country code/]
  ]
  for (const [what, text, message] of cases) {
    t.throws(() => parseAlpineList(text, 'l.yaml'), { name: 'ImportError', message }, what)
  }
})
