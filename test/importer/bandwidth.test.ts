// src/importer/bandwidth.ts: Alpine's bandwidth text as megabits a second, or a problem to review.

import t from 'tap'
import { parseBandwidth } from '../../src/importer/bandwidth.js'

t.test('the forms in Alpine\'s lists, and their neighbours', async (t) => {
  const cases: Array<[string, number]> = [
    ['100 Mbit/s', 100], ['100Mbit/s', 100], ['1 Gbps', 1000], ['1Gbit/s', 1000], ['10Gbit/s', 10_000],
    ['20Gbit/s', 20_000], ['10G', 10_000], ['10 G', 10_000], ['2.5 Gbit/s', 2500], ['2,5 Gbit/s', 2500],
    ['1 GBit/s', 1000], ['40 gbps', 40_000], ['1 Tbit/s', 1_000_000], ['512 kbit/s', 0.512], ['100 Mb/s', 100],
    ['1 Gb', 1000], ['100 Mbit/sec', 100], ['  1 Gbps  ', 1000]
  ]
  for (const [text, mbps] of cases) t.same(parseBandwidth(text), { megabitsPerSecond: mbps }, text)
})

t.test('bytes are read as bytes, and flagged', async (t) => {
  t.same(parseBandwidth('100 MB/s'), { megabitsPerSecond: 800, note: 'bandwidth "100 MB/s" read as bytes a second (800 Mbit/s)' })
  t.equal((parseBandwidth('1 GBps') as { megabitsPerSecond: number }).megabitsPerSecond, 8000)
  t.equal((parseBandwidth('1 Gbyte/s') as { megabitsPerSecond: number }).megabitsPerSecond, 8000)
})

t.test('what is not certain is a problem, never a guess', async (t) => {
  for (const text of ['fast', '100', '100 Mbit/s shared', '1-10 Gbit/s', 'unlimited', '10 Gbit/s?', '0 Mbit/s', 'Gbit/s', '1e3 Mbit/s', '1 Xbit/s', '']) {
    const b = parseBandwidth(text)
    t.ok('problem' in b, `"${text}": ${JSON.stringify(b)}`)
  }
  t.match(parseBandwidth('fast'), { problem: /bandwidth "fast" is not a form we read/ })
  t.match(parseBandwidth('0 Mbit/s'), { problem: /out of range/ })
})
