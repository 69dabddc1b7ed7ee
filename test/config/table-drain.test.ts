// The table's `drain:` field (src/config/table-file.ts): what it reads into, and each mistake
// reported as MG_ERR_TABLE_INVALID naming the entry and field.

import t from 'tap'
import { parseTableText } from '../../src/config/table-file.js'

const entry = (extra: string): string => `mirrors:
  - id: a
    name: A
    tier: community
    urls: [http://a.example.org/alpine/]
    country: DE
    latitude: 50
    longitude: 8
    weight: 1
    families: [ipv4]
    enabled: true
${extra}`

t.test('a drain in the table: until (with its offset) and reason, both optional', async (t) => {
  const drain = (extra: string) => parseTableText(entry(extra), 'mirrors.yaml').mirrors[0]?.drain
  t.same(drain('    drain: { until: 2026-12-24T18:00:00Z, reason: rack move }\n'), { until: Date.UTC(2026, 11, 24, 18), reason: 'rack move' }, 'a YAML timestamp is read as text, then parsed')
  t.same(drain('    drain: { until: "2026-12-24T19:00:00+01:00" }\n'), { until: Date.UTC(2026, 11, 24, 18), reason: 'drained in the table' })
  t.same(drain('    drain: {}\n'), { until: null, reason: 'drained in the table' }, 'open-ended: while the entry says so')
  t.equal(drain(''), null, 'no drain')
})

t.test('a drain in the table changes the table version; none keeps it', async (t) => {
  const plain = parseTableText(entry(''), 'mirrors.yaml')
  const drained = parseTableText(entry('    drain: { reason: x }\n'), 'mirrors.yaml')
  t.not(drained.version, plain.version, 'every instance sees a new table')
  t.equal(parseTableText(entry(''), 'other.yaml').version, plain.version)
})

t.test('mistakes name the entry and field', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['    drain: yes\n', /mirrors\[0\]\.drain: expected a mapping/],
    ['    drain: { until: tomorrow }\n', /mirrors\[0\]\.drain\.until: "tomorrow" must be an ISO 8601 date-time with its offset/],
    ['    drain: { until: "2026-12-24T18:00:00" }\n', /drain\.until: .* with its offset/],
    ['    drain: { until: 1766599200 }\n', /drain\.until: expected a non-empty string/],
    ['    drain: { until: "2026-13-45T18:00:00Z" }\n', /drain\.until: "2026-13-45T18:00:00Z" is not a real date-time/],
    [`    drain: { reason: "${'x'.repeat(201)}" }\n`, /drain\.reason: must be at most 200 characters/],
    ['    drain: { reason: "" }\n', /drain\.reason: expected a non-empty string/],
    ['    drain: { until: 2026-12-24T18:00:00Z, why: x }\n', /mirrors\[0\]\.drain\.why: unknown field \(known: until, reason\)/]
  ]
  for (const [extra, message] of cases) {
    t.throws(() => parseTableText(entry(extra), 'mirrors.yaml'), { code: 'MG_ERR_TABLE_INVALID', message }, extra.trim())
  }
})
