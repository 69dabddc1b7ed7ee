// /readyz means known state: 503 until the first probe round has answered, but never longer
// than probes.readyTimeoutSeconds, and at once when probes are off.

import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFakeMirror } from '../helpers/fake-mirror.js'
import { get, startService } from '../helpers/service.js'

t.test('a mirror whose canary never answers holds readiness back only until the timeout', async (t) => {
  const hung = await startFakeMirror({ canaryDelayMs: 20_000 })
  t.teardown(() => hung.close())
  const dir = t.testdir()
  const table = join(dir, 'mirrors.yaml')
  writeFileSync(table, JSON.stringify({ mirrors: [{ id: 'hung', name: 'hung', tier: 'community', urls: [hung.base], country: 'DE', latitude: 52.5, longitude: 13.4, weight: 1, families: ['ipv4'], enabled: true }] }))
  const started = Date.now()
  const { service, port } = await startService({ table, probes: { enabled: true, timeoutSeconds: 3, readyTimeoutSeconds: 0.6 } })
  t.teardown(() => service.close())
  let firstRoundDone = false
  void service.prober?.firstRound.then(() => { firstRoundDone = true })

  const first = await get(port, '/readyz')
  t.equal(first.status, 503)
  t.match(JSON.parse(first.body), { status: 'not ready', reason: /first probe round/ })
  let status = first.status
  while (status !== 200 && Date.now() - started < 5000) {
    await sleep(50)
    status = (await get(port, '/readyz')).status
  }
  const waited = Date.now() - started
  t.equal(status, 200)
  t.ok(waited >= 550 && waited < 2500, `ready after ${waited} ms: the 0.6 s bound, not the 3 s probe timeout`)
  t.equal(firstRoundDone, false, 'the first round is still waiting for the canary')
})

t.test('probes off: ready at once (the table is all there is to know)', async (t) => {
  const { service, port } = await startService()
  t.teardown(() => service.close())
  t.equal((await get(port, '/readyz')).status, 200)
})
