// The export writer on a real endpoint directory fed by a real Fleet: files appear atomically
// in a fresh folder, follow drains, stay untouched (same inode, same mtime, same serial) when
// nothing changed, survive restarts, and report failures through onError without leaving
// temp files behind.

import t from 'tap'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { configFromDocument } from '../../src/config/schema.js'
import { buildTable, type MirrorSpec } from '../../src/core/table.js'
import { EndpointDirectory } from '../../src/dns/endpoints.js'
import { ExportWriter, writeAtomic, type ExportWriterOptions } from '../../src/dns/export-writer.js'
import { renderGdnsdConfigSnippet, renderGdnsdExtfile, renderGeodnsZone } from '../../src/dns/exports.js'
import { Fleet } from '../../src/live/fleet.js'

const NAME = 'dl.example.org'
const T0 = 1_750_000_000_000

const spec = (id: string, country: string, extra: Partial<MirrorSpec> = {}): MirrorSpec => ({
  id, name: id, tier: 'community', urls: [`http://${id}.example.org/alpine/`, `https://${id}.example.org/alpine/`],
  country, latitude: 0, longitude: 0, weight: 10, families: ['ipv4', 'ipv6'], enabled: true, ...extra
})

/** A directory with one configured instance and two mirrors serving the name (one redirect-only mirror besides). */
function setup () {
  const config = configFromDocument({
    dns: {
      name: NAME, nameservers: ['ns1.example.org', 'ns2.example.org'], hostmaster: 'hostmaster.example.org', ttl: 60, answers: 2,
      endpoints: [{ id: 'i-fra', country: 'DE', latitude: 50.1, longitude: 8.7, addresses: ['192.0.2.1', '2001:db8::1'] }]
    },
    probes: { enabled: false }
  }, 'test', process.cwd())
  const table = buildTable([
    spec('de-mirror', 'DE', { addresses: ['192.0.2.2'], dnsNames: [NAME] }),
    spec('nl-mirror', 'NL', { addresses: ['192.0.2.3', '2001:db8::3'], dnsNames: [NAME], weight: 20 }),
    spec('us-redirect-only', 'US')
  ])
  const fleet = new Fleet(table, { ...config.probes, ...config.freshness })
  // No health URL on the instance: it is always healthy, so the check is never called.
  const directory = new EndpointDirectory(config.dns, config.selection, fleet)
  return { config, fleet, directory }
}

function writerFor (dir: string, directory: EndpointDirectory, extra: Partial<ExportWriterOptions> = {}) {
  const written: string[] = []
  const errors: Array<{ file: string, message: string }> = []
  let now = T0
  const writer = new ExportWriter(dir, directory, {
    name: NAME, nameservers: ['ns1.example.org', 'ns2.example.org'], hostmaster: 'hostmaster.example.org', ttl: 60, maxHosts: 2,
    onWrite: (file) => written.push(file),
    onError: (err, file) => errors.push({ file, message: err.message }),
    now: () => now,
    ...extra
  })
  return { writer, written, errors, tick: (ms: number) => { now += ms } }
}

/** Every file below `dir`, relative, sorted: temp files would show up here. */
function tree (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string, prefix: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`)
      else out.push(`${prefix}${e.name}`)
    }
  }
  walk(dir, '')
  return out.sort()
}

const FILES = ['gdnsd/mirrorgate.conf', 'gdnsd/mirrorgate.state', `geodns/${NAME}.json`]
const stamp = (file: string): string => { const s = statSync(file); return `${s.ino}:${s.mtimeMs}` }
const zoneOf = (file: string): { serial: number, data: Record<string, { a?: Array<[string, number]> }> } => JSON.parse(readFileSync(file, 'utf8'))

t.test('start() creates the folders and writes all three files, exactly the renderers\' output', async (t) => {
  const { directory } = setup()
  const dir = join(t.testdir(), 'exports')
  const { writer, written, errors } = writerFor(dir, directory)
  await writer.start()
  t.same(errors, [])
  t.same(tree(dir), FILES, 'three files, no temp files')
  t.same(written.sort(), [writer.files.gdnsdConfig, writer.files.gdnsdState, writer.files.geodns].sort())
  const opts = { name: NAME, nameservers: ['ns1.example.org', 'ns2.example.org'], hostmaster: 'hostmaster.example.org', ttl: 60, maxHosts: 2 }
  t.equal(readFileSync(writer.files.geodns, 'utf8'), renderGeodnsZone(directory.endpoints, { ...opts, serial: T0 / 1000 }))
  t.equal(readFileSync(writer.files.gdnsdState, 'utf8'), renderGdnsdExtfile(directory.endpoints))
  t.equal(readFileSync(writer.files.gdnsdConfig, 'utf8'), renderGdnsdConfigSnippet(directory.endpoints, { stateFile: writer.files.gdnsdState }))
  t.same(zoneOf(writer.files.geodns).data['']?.a, [['192.0.2.1', 1], ['192.0.2.2', 10], ['192.0.2.3', 20]],
    'the instance (default weight 1) and both mirrors with addresses; the redirect-only mirror is no endpoint')
  t.match(readFileSync(writer.files.gdnsdState, 'utf8'), /"192\.0\.2\.3" => UP # nl-mirror/)
  writer.stop()
})

t.test('a drain rewrites zone and state, not the config; unchanged state leaves every file alone', async (t) => {
  const { directory, fleet } = setup()
  const dir = t.testdir()
  const { writer, written, tick } = writerFor(dir, directory)
  await writer.start()
  const firstSerial = zoneOf(writer.files.geodns).serial
  const confStamp = stamp(writer.files.gdnsdConfig)
  written.length = 0

  tick(5000)
  fleet.drain('nl-mirror', null, 'disk replacement')
  await writer.refresh()
  t.same(written.sort(), [writer.files.gdnsdState, writer.files.geodns].sort(), 'zone and state rewritten, config unchanged')
  t.equal(stamp(writer.files.gdnsdConfig), confStamp)
  const zone = zoneOf(writer.files.geodns)
  t.equal(zone.serial, firstSerial + 5, 'the serial moves with the content (Unix seconds)')
  t.notOk(readFileSync(writer.files.geodns, 'utf8').includes('192.0.2.3'), 'the drained mirror left the zone')
  t.notOk(zone.data.nl, 'and its country label')
  t.match(readFileSync(writer.files.gdnsdState, 'utf8'), /"192\.0\.2\.3" => DOWN # nl-mirror\n/)
  t.match(readFileSync(writer.files.gdnsdState, 'utf8'), /"2001:db8::3" => DOWN # nl-mirror\n/)
  t.notOk(readFileSync(writer.files.gdnsdState, 'utf8').includes('disk replacement'), 'no drain reason on disk')
  t.same(tree(dir), FILES)

  // Nothing changes: neither a forced pass nor fleet activity that leaves the endpoints alone.
  const stamps = FILES.map((f) => stamp(join(dir, f)))
  written.length = 0
  tick(5000)
  await writer.refresh()
  fleet.drain('us-redirect-only', null, 'not a DNS endpoint')
  await writer.refresh()
  t.same(written, [], 'no write')
  t.same(FILES.map((f) => stamp(join(dir, f))), stamps, 'same inodes and mtimes')
  t.equal(zoneOf(writer.files.geodns).serial, firstSerial + 5, 'same serial')

  fleet.undrain('nl-mirror')
  await writer.refresh()
  t.ok(readFileSync(writer.files.geodns, 'utf8').includes('"192.0.2.3"'), 'back after undrain')
  t.equal(zoneOf(writer.files.geodns).serial, firstSerial + 10)
  t.same(tree(dir), FILES, 'never a temp file')
  writer.stop()
})

t.test('rapid changes coalesce; the files end with the last state', async (t) => {
  const { directory, fleet } = setup()
  const dir = t.testdir()
  const { writer } = writerFor(dir, directory)
  await writer.start()
  for (let i = 0; i < 10; i++) {
    fleet.drain('de-mirror', null, 'x')
    fleet.undrain('de-mirror')
  }
  fleet.drain('de-mirror', null, 'x')
  await writer.refresh()
  t.match(readFileSync(writer.files.gdnsdState, 'utf8'), /"192\.0\.2\.2" => DOWN # de-mirror/)
  t.same(tree(dir), FILES)
  writer.stop()
})

t.test('a restart with the same state rewrites nothing and keeps the serial', async (t) => {
  const { directory, fleet } = setup()
  const dir = t.testdir()
  const first = writerFor(dir, directory)
  await first.writer.start()
  first.writer.stop()
  const stamps = FILES.map((f) => stamp(join(dir, f)))
  const serial = zoneOf(first.writer.files.geodns).serial

  const second = writerFor(dir, directory)
  second.tick(60_000)
  await second.writer.start()
  t.same(second.written, [])
  t.same(FILES.map((f) => stamp(join(dir, f))), stamps)

  // Stopped writers stay quiet; a new one picks up the change and moves the serial on.
  second.writer.stop()
  fleet.drain('de-mirror', null, 'x')
  await second.writer.refresh()
  t.same(second.written, [], 'stop() means no more writes')
  const third = writerFor(dir, directory) // its clock is back at T0: the serial must still grow
  await third.writer.start()
  t.equal(zoneOf(third.writer.files.geodns).serial, serial + 1)
  t.match(readFileSync(third.writer.files.gdnsdState, 'utf8'), /"192\.0\.2\.2" => DOWN/)
  third.writer.stop()
})

t.test('failures go to onError once, leave no temp files, and recover', async (t) => {
  const { directory, fleet } = setup()
  const dir = t.testdir()
  // The state file's path is taken by a folder: the rename fails, everything else is written.
  mkdirSync(join(dir, 'gdnsd', 'mirrorgate.state'), { recursive: true })
  const { writer, errors } = writerFor(dir, directory)
  await writer.start()
  t.equal(errors.length, 1)
  t.equal(errors[0]?.file, writer.files.gdnsdState)
  t.match(errors[0]?.message, /EISDIR|EEXIST|ENOTEMPTY|directory/i)
  t.same(readdirSync(join(dir, 'gdnsd')).sort(), ['mirrorgate.conf', 'mirrorgate.state'], 'the temp file was removed')
  t.ok(statSync(writer.files.geodns).isFile(), 'the other files were written')

  fleet.drain('de-mirror', null, 'x')
  await writer.refresh()
  t.equal(errors.length, 1, 'the same failure is not reported again')

  // An unusable folder: the files' parent is a plain file.
  const blocked = join(t.testdir(), 'blocked')
  writeFileSync(blocked, 'not a folder')
  const other = writerFor(blocked, directory)
  await t.resolves(other.writer.start(), 'start() resolves even when nothing can be written')
  t.same(other.errors.map((e) => e.file).sort(), [other.writer.files.gdnsdConfig, other.writer.files.gdnsdState, other.writer.files.geodns].sort())
  other.writer.stop()
  writer.stop()
})

t.test('a reporter that throws does not escape', async (t) => {
  const { directory } = setup()
  const blocked = join(t.testdir(), 'blocked')
  writeFileSync(blocked, 'not a folder')
  const { writer } = writerFor(blocked, directory, { onError: () => { throw new Error('reporter broke') } })
  await t.resolves(writer.start())
  writer.stop()
})

t.test('writeAtomic replaces the file in one step and creates folders', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'a', 'b', 'c.json')
  await writeAtomic(file, 'one\n')
  const before = statSync(file).ino
  await writeAtomic(file, 'two\n')
  t.equal(readFileSync(file, 'utf8'), 'two\n')
  t.not(statSync(file).ino, before, 'a new inode: renamed into place, never written in place')
  t.same(readdirSync(join(dir, 'a', 'b')), ['c.json'])
})
