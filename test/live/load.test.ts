// The load meter's arithmetic: decaying rates, the byte estimate, and the ratio to a budget.

import t from 'tap'
import { EMPTY_COVERAGE, type Coverage } from '../../src/core/coverage.js'
import { addVersion } from '../../src/core/file-set.js'
import { buildMirror, type MirrorSpec } from '../../src/core/table.js'
import { LoadMeter, pathKind } from '../../src/live/load.js'

const MEAN = { package: 500_000, index: 1_500_000, release: 30_000_000, other: 1000 }

function mirror (id: string, budget: MirrorSpec['budget']): ReturnType<typeof buildMirror> {
  return buildMirror({ id, name: id, tier: 'community', urls: [`http://${id}.test/`], country: 'DE', latitude: 50, longitude: 8, weight: 1, families: ['ipv4'], enabled: true, budget })
}

function meter (opts: { coverage?: Coverage, share?: number } = {}): { load: LoadMeter, clock: { now: number } } {
  const clock = { now: 1_000_000 }
  const coverage = opts.coverage ?? EMPTY_COVERAGE
  const load = new LoadMeter({ share: opts.share ?? 1, windowMs: 1000, meanBytes: MEAN, coverage: () => coverage, now: () => clock.now })
  return { load, clock }
}

t.test('rates rise by 1/window per redirect and decay by e per window', async (t) => {
  const { load, clock } = meter()
  for (let i = 0; i < 10; i++) load.record('a', 'v3.22/main/x86_64/foo-1.0-r0.apk')
  t.equal(load.rates('a').requestsPerSecond, 10, 'ten redirects within a 1 s window: 10/s')
  t.equal(load.rates('a').bytesPerSecond, 10 * MEAN.package)
  clock.now += 1000
  t.ok(Math.abs(load.rates('a').requestsPerSecond - 10 / Math.E) < 1e-9, 'one window later: 10/e')
  t.ok(Math.abs(load.rates('a').bytesPerSecond / load.rates('a').requestsPerSecond - MEAN.package) < 1e-6, 'both rates decay together')
  load.record('a', 'v3.22/main/x86_64/APKINDEX.tar.gz')
  t.ok(Math.abs(load.rates('a').requestsPerSecond - (10 / Math.E + 1)) < 1e-9, 'a record decays what was there, then adds')
  t.same(load.rates('b'), { requestsPerSecond: 0, bytesPerSecond: 0 }, 'a mirror never sent anything')
})

t.test('a clock that steps back neither grows nor loses the rates', async (t) => {
  const { load, clock } = meter()
  load.record('a', 'x.apk')
  clock.now -= 500
  load.record('a', 'x.apk')
  t.equal(load.rates('a').requestsPerSecond, 2)
  clock.now += 500
  t.equal(load.rates('a').requestsPerSecond, 2, 'not decayed for time it already counted')
})

t.test('bytes: the size the master index lists, else the mean for the kind of path', async (t) => {
  t.equal(pathKind('v3.22/main/x86_64/foo-1.0-r0.apk'), 'package')
  t.equal(pathKind('v3.22/main/x86_64/APKINDEX.tar.gz'), 'index')
  t.equal(pathKind('v3.22/releases/x86_64/alpine-virt-3.22.0-x86_64.iso'), 'release')
  t.equal(pathKind('last-updated'), 'other')
  const index = addVersion(null, 'v3.22/main/x86_64/APKINDEX.tar.gz', { lastModified: 1000, size: 10, etag: null },
    [{ name: 'foo-1.0-r0.apk', size: 4096 }], 1000)
  const { load } = meter({ coverage: { ...EMPTY_COVERAGE, indexes: new Map([[index.dir, index]]) } })
  t.equal(load.bytesFor('v3.22/main/x86_64/foo-1.0-r0.apk'), 4096, 'listed: its S: size')
  t.equal(load.bytesFor('v3.22/main/x86_64/bar-1.0-r0.apk'), MEAN.package, 'not listed: the mean')
  t.equal(load.bytesFor('v3.21/main/x86_64/foo-1.0-r0.apk'), MEAN.package, 'a folder not followed: the mean')
  t.equal(meter().load.bytesFor('v3.22/main/x86_64/foo-1.0-r0.apk'), MEAN.package, 'no index followed at all: the mean')
})

t.test('ratio: the larger of requests and bytes over this process\'s share of the budget', async (t) => {
  const { load } = meter({ share: 0.5 })
  for (let i = 0; i < 10; i++) load.record('a', 'foo.apk')
  t.equal(load.ratio(mirror('a', { requestsPerSecond: 40 })), 0.5, '10/s against half of 40/s')
  // 10 x 500 kB a second = 40 Mbit/s, against half of 100 Mbit/s
  t.equal(load.ratio(mirror('a', { megabitsPerSecond: 100 })), 0.8)
  t.equal(load.ratio(mirror('a', { requestsPerSecond: 40, megabitsPerSecond: 100 })), 0.8, 'bytes bind first')
  t.equal(load.ratio(mirror('a', undefined)), 0, 'no budget: never full')
  t.equal(load.ratio(mirror('b', { requestsPerSecond: 1 })), 0, 'nothing sent yet')
})
