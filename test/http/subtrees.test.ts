// Real mirrors carry parts of the repository: no riscv64, no old branch, edge a sync behind,
// no releases/. Each is excluded for what it lacks only, measured from its index copies (a 404
// for an index is a folder it lacks), and what the table declares covers what is not measured.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeMirror, type FakeMirror } from '../helpers/fake-mirror.js'
import { putAt, syncPoints, type SyncPoint } from '../helpers/repository.js'
import { get, startService } from '../helpers/service.js'

const NOW = Date.now()
const DIRS = ['v3.22/main/x86_64/', 'v3.22/main/riscv64/', 'v3.20/main/x86_64/', 'edge/main/x86_64/', 'v3.22/community/x86_64/']
const RELEASES = ['v3.22/releases/x86_64/']
const POINTS = syncPoints({ dirs: DIRS, releases: RELEASES, packages: 4, points: 2, start: NOW - 600_000, stepMs: 600_000 })
const S = (i: number): SyncPoint => POINTS[i] as SyncPoint
const NETWORKS = Array.from({ length: 80 }, (_, n) => `${11 + (n % 200)}.${(n * 29) % 256}.${n}.9`)

/** What each mirror lacks (by path), and the one that declares instead of being measured. */
const LACKS: Record<string, (path: string) => boolean> = {
  full: () => false,
  noriscv: (p) => p.includes('/riscv64/'),
  no320: (p) => p.startsWith('v3.20/'),
  edgebehind: () => false,
  norel: (p) => p.includes('/releases/'),
  declared: (p) => p.includes('/community/')
}

t.test('each mirror is excluded for the folders it lacks, and still serves the rest', async (t) => {
  const master = await startFakeMirror()
  putAt(master, S(1))
  const fakes: Record<string, FakeMirror> = {}
  for (const [id, lacks] of Object.entries(LACKS)) {
    const f = fakes[id] = await startFakeMirror()
    putAt(f, S(1), lacks)
  }
  // Behind on edge only: its edge folder is still at S0, everything else at S1.
  const behind = fakes.edgebehind as FakeMirror
  for (const [path, file] of S(0).files) {
    if (!path.startsWith('edge/')) continue
    behind.files.set(path, file.body)
    behind.mtimes.set(path, file.mtime)
  }
  for (const path of [...behind.files.keys()]) if (path.startsWith('edge/') && !S(0).files.has(path)) behind.files.delete(path)
  t.teardown(async () => { for (const f of [master, ...Object.values(fakes)]) await f.close() })

  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({
    mirrors: Object.entries(fakes).map(([id, f]) => ({
      id, name: id, tier: 'community', urls: [f.base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 10, families: ['ipv4'], enabled: true,
      // community is not followed (below), so only this declaration says who lacks it.
      ...(id === 'declared' ? { coverage: { exclude: ['*/community/**'] } } : {})
    }))
  }))
  const { service, port } = await startService({
    table,
    probes: { enabled: true, master: master.base, intervalSeconds: 3600, t1IntervalSeconds: 3600, timeoutSeconds: 1, readyTimeoutSeconds: 0 },
    freshness: { volatileMaxLagSeconds: 300 },
    indexes: { exclude: ['*/community/**'], cycleSeconds: 3600, minGapSeconds: 0 }
  })
  t.teardown(() => service.close())
  await service.prober?.probeNow()
  t.same([...await service.indexes?.master.discover() ?? []].sort(), [
    'edge/main/x86_64/APKINDEX.tar.gz', 'v3.20/main/x86_64/APKINDEX.tar.gz', 'v3.22/main/riscv64/APKINDEX.tar.gz',
    'v3.22/main/x86_64/APKINDEX.tar.gz', 'v3.22/releases/x86_64/latest-releases.yaml'
  ], 'the followed indexes: discovered on the master, community excluded by the configuration')
  await service.indexes?.master.refresh()
  await service.indexes?.copies.checkAll()

  /** Which mirrors the networks are sent to for a path. */
  const sentTo = async (path: string): Promise<Map<string, number>> => {
    const counts = new Map<string, number>()
    for (const xff of NETWORKS) {
      const r = await get(port, '/alpine/' + path, { 'X-Forwarded-For': xff })
      t.equal(r.status, 302, path)
      const id = r.headers['x-mirrorgate-mirror'] as string
      counts.set(id, (counts.get(id) ?? 0) + 1)
      // The mirror it was sent to has the file.
      t.ok(fakes[id]?.files.has(path), `${path} sent to ${id}, which has it`)
    }
    return counts
  }
  const pkg = (d: string): string => d + (S(1).packages.get(d) as readonly string[])[0]

  const riscv = await sentTo(pkg('v3.22/main/riscv64/'))
  t.notOk(riscv.has('noriscv'), 'riscv64 files never go to the mirror without riscv64')
  const x86 = await sentTo(pkg('v3.22/main/x86_64/'))
  for (const id of Object.keys(LACKS)) t.ok((x86.get(id) ?? 0) > 0, `${id} still serves v3.22/main/x86_64 (${x86.get(id) ?? 0} of ${NETWORKS.length})`)
  t.notOk((await sentTo(pkg('v3.20/main/x86_64/'))).has('no320'), 'v3.20 never goes to the mirror without v3.20')
  t.notOk((await sentTo('edge/main/x86_64/APKINDEX.tar.gz')).has('edgebehind'), 'the edge index comes from current copies only')
  // The package new at S1 on edge: the mirror behind on edge does not have it.
  const newest = (S(1).packages.get('edge/main/x86_64/') as readonly string[]).find((p) => !(S(0).packages.get('edge/main/x86_64/') as readonly string[]).includes(p)) as string
  t.notOk((await sentTo('edge/main/x86_64/' + newest)).has('edgebehind'), 'an edge package newer than its copy never goes to the mirror behind on edge')
  t.ok(((await sentTo('v3.22/main/x86_64/APKINDEX.tar.gz')).get('edgebehind') ?? 0) > 0, 'it still serves the v3.22 index, which it has current')
  const iso = 'v3.22/releases/x86_64/' + (S(1).packages.get('v3.22/releases/x86_64/') as readonly string[])[0]
  t.notOk((await sentTo(iso)).has('norel'), 'release images never go to the mirror without releases/')
  t.notOk((await sentTo(pkg('v3.22/community/x86_64/'))).has('declared'), 'not followed, so the declaration rules: community never goes to the mirror that declares it lacks it')

  // Measurement overrides declaration: a mirror declaring it lacks v3.22/main still gets it when its copy is measured current.
  const report = JSON.parse((await get(port, '/api/v1/explain?ip=11.0.0.9&path=/alpine/' + pkg('v3.22/main/riscv64/'))).body) as { choice: { mirror: string }, excluded: Array<{ id: string, code: string }> }
  t.same(report.excluded.find((e) => e.id === 'noriscv')?.code, 'missing-index', 'explain names why: its riscv64 index answers 404')
})
