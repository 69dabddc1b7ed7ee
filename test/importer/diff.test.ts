// src/importer/diff.ts: changes between two tables by id, fields in the table's order, and no
// change reported for key order or for an empty list against an absent field.

import t from 'tap'
import { diffTables } from '../../src/importer/diff.js'

const a = { id: 'a', name: 'A', weight: 10, families: ['ipv4'], asns: [], budget: { megabitsPerSecond: 100 } }

t.test('the same content in another order, or [] for nothing, is no change', async (t) => {
  const d = diffTables({ mirrors: [a] }, { mirrors: [{ budget: { megabitsPerSecond: 100 }, families: ['ipv4'], weight: 10, name: 'A', id: 'a' }] })
  t.same(d, { added: [], removed: [], changed: [], unchanged: 1, participation: null })
})

t.test('added, removed, changed with before and after, participation', async (t) => {
  const d = diffTables(
    { mirrors: [a, { id: 'gone', name: 'G' }] },
    { participation: { community: 'overflow' }, mirrors: [{ ...a, weight: 30, budget: undefined, name: 'A' }, { id: 'new', name: 'N' }] })
  t.same(d.added, ['new'])
  t.same(d.removed, ['gone'])
  t.same(d.changed, [{ id: 'a', fields: [{ field: 'weight', before: 10, after: 30 }, { field: 'budget', before: { megabitsPerSecond: 100 }, after: undefined }] }])
  t.equal(d.unchanged, 0)
  t.same(d.participation, { field: 'participation', before: undefined, after: { community: 'overflow' } })
})

t.test('the order of a list counts', async (t) => {
  const urls = ['https://a.example/', 'http://a.example/']
  const d = diffTables({ mirrors: [{ id: 'a', urls }] }, { mirrors: [{ id: 'a', urls: [...urls].reverse() }] })
  t.equal(d.changed.length, 1)
})
