// The planner's inputs: demand files (CSV or addresses), the overlay applied before the real
// table validator, and the client population drawn from them.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULTS, EMBEDDED_GEOIP } from '../../src/config/schema.js'
import { GeoIp } from '../../src/geoip/reader.js'
import { countNetworks, demandCsv, parseDemand } from '../../src/planner/demand.js'
import { PlanError } from '../../src/planner/errors.js'
import { applyOverlay, loadPlanTable, overlayFromDocument, NO_OVERLAY } from '../../src/planner/overlay.js'
import { populationOf, sampleNetworks } from '../../src/planner/population.js'
import { seeded } from '../../src/planner/random.js'
import { isNonPublic } from '../../src/core/ip.js'

const root = join(import.meta.dirname, '..', '..')
const TABLE = join(root, 'data', 'mirrors.yaml')
const geoip = new GeoIp(EMBEDDED_GEOIP, DEFAULTS.instance, 10_000)

t.test('a country CSV: comments skipped, every bad line named by its number', async (t) => {
  const d = parseDemand('# source: somewhere\ncountry,weight\n\nUS,10\n# a note\nde,2.5\n', 'd.csv')
  t.equal(d.kind, 'countries')
  t.same(d.kind === 'countries' ? [...d.weights] : null, [['US', 10], ['DE', 2.5]])
  t.throws(() => parseDemand('country,weight\nUS,10\nFR;3\n', 'd.csv'), { name: 'PlanError', message: /^d\.csv:3: "FR;3" is not "<country>,<weight>"/ })
  t.throws(() => parseDemand('country,weight\nZZ,1\n', 'd.csv'), /d\.csv:2: "ZZ" is not an ISO 3166-1/)
  t.throws(() => parseDemand('country,weight\nUS,1\nus,2\n', 'd.csv'), /d\.csv:3: US is given twice/)
  t.throws(() => parseDemand('country,weight\nUS,-1\n', 'd.csv'), /d\.csv:2:/)
  t.throws(() => parseDemand('country,weight\n# nothing\n', 'd.csv'), /header but no countries/)
  t.throws(() => parseDemand('country,weight\nUS,0\n', 'd.csv'), /every weight is 0/)
  t.throws(() => parseDemand('# only comments\n', 'd.csv'), /no data/)
  t.throws(() => parseDemand('land,share\nUS,1\n', 'd.csv'), /d\.csv:1: "land,share" is neither the CSV header/)
})

t.test('an address list: one request a line, grouped by client network', async (t) => {
  const d = parseDemand('# a log\n8.8.8.8\n8.8.8.9\n2a00:1450::1\n1.1.1.1\n', 'a.txt')
  t.equal(d.kind, 'addresses')
  if (d.kind !== 'addresses') return
  t.same([...d.networks.values()].map((n) => n.count), [2, 1, 1], 'two lines in 8.8.8.0/24, one in the /48, one in 1.1.1.0/24')
  t.throws(() => parseDemand('8.8.8.8\nnot-an-address\n', 'a.txt'), /a\.txt:2: "not-an-address" is not an IP address/)
  const population = populationOf(d, geoip, 100, 0, seeded(1))
  t.equal(population.networks.length, 3)
  t.equal(Math.round(population.networks.reduce((s, n) => s + n.rate, 0) * 1e9) / 1e9, 100, 'the rates add up to the volume')
  t.equal(population.networks[0]?.rate, 50, 'half the lines, half the volume')
})

t.test('the shipped demand CSV: says where it comes from, and parses', async (t) => {
  const text = readFileSync(join(root, 'data', 'demand.csv'), 'utf8')
  const header = text.split('\n').filter((l) => l.startsWith('#')).join('\n')
  t.match(header, /DB-IP/)
  t.match(header, /CC BY 4\.0/)
  t.match(header, /https:\/\/db-ip\.com/)
  t.match(header, /@ip-location-db\/dbip-city-mmdb 2\.3\.2026060513/)
  t.match(header, /proxy/i)
  const d = parseDemand(text, 'demand.csv')
  if (d.kind !== 'countries') return t.fail('a country CSV')
  t.ok(d.weights.size > 200, `${d.weights.size} countries`)
  const top = [...d.weights].sort((a, b) => b[1] - a[1])[0]
  t.equal(top?.[0], 'US', 'the largest holder of IPv4 space comes first')
})

t.test('the demand CSV is made from the GeoIP database, and reads back', async (t) => {
  const count = countNetworks(geoip, 4099)
  t.ok(count.scanned > 3000 && count.scanned < 4096, `${count.scanned} public /24s of 4,093 looked up`)
  const text = demandCsv(count, '2026-06-05')
  t.match(text, /one public IPv4 \/24 in every 4099/)
  const d = parseDemand(text, 'made.csv')
  if (d.kind !== 'countries') return t.fail('a country CSV')
  t.equal([...d.weights.values()].reduce((s, w) => s + w, 0), count.scanned - count.unplaced, 'every placed /24 counted once')
})

t.test('sampled networks are distinct public /24s, and the demand is split among them', async (t) => {
  const sample = sampleNetworks(5000, seeded(3))
  t.equal(sample.length, 5000)
  t.equal(new Set(sample.map((ip) => ip.bytes.slice(0, 3).join('.'))).size, 5000, 'no /24 twice')
  t.notOk(sample.some(isNonPublic), 'no private, reserved or multicast space')
  // Antarctica holds almost no address space: a small sample misses it, and says so.
  const demand = parseDemand('country,weight\nUS,60\nDE,40\nAQ,1\n', 'd.csv')
  const population = populationOf(demand, geoip, 1000, 2000, seeded(3))
  t.same(population.missing.map((m) => m.country), ['AQ'])
  const byCountry = new Map<string, number>()
  for (const n of population.networks) byCountry.set(n.country as string, (byCountry.get(n.country as string) ?? 0) + n.rate)
  t.equal(Math.round(byCountry.get('US') as number), 600, 'the countries sampled carry the whole volume, in their proportions')
  t.equal(Math.round(byCountry.get('DE') as number), 400)
  t.ok(population.undemanded > 0, 'networks in countries without demand are counted, not used')
  t.throws(() => populationOf(parseDemand('country,weight\nAQ,1\n', 'd.csv'), geoip, 1000, 50, seeded(3)), PlanError)
})

t.test('an overlay is applied to the table document, then the real validator reads it', async (t) => {
  const overlay = overlayFromDocument({
    enable: ['tier:t1', 'osso-nl'],
    participation: { t1: 'full', community: 'overflow', 'mirror-yandex-ru': 'country' },
    budgets: { 'osso-nl': { megabitsPerSecond: 400 }, 'horizoniq-eu': { requestsPerSecond: 50 } }
  }, 'o.yaml')
  const table = loadPlanTable(TABLE, overlay, 'o.yaml')
  const base = loadPlanTable(TABLE, NO_OVERLAY, null)
  const t1 = table.mirrors.filter((m) => m.tier === 't1')
  t.ok(t1.length > 0 && t1.every((m) => m.enabled), 'tier:t1 enables every Tier-1 entry')
  t.ok(base.mirrors.filter((m) => m.tier === 't1').every((m) => !m.enabled), 'which the table itself ships disabled')
  t.equal(table.byId.get('osso-nl')?.budget?.bytesPerSecond, 400 * 125_000)
  t.equal(table.byId.get('horizoniq-eu')?.budget?.requestsPerSecond, 50)
  t.ok(table.budgeted)
  t.equal(table.byId.get('mirror-yandex-ru')?.participation, 'country', 'per entry')
  t.equal(table.byId.get('mirror-leaseweb-com')?.participation, 'overflow', 'the tier default')
  t.equal(table.byId.get('cherry-lt')?.participation, 'full')

  t.throws(() => loadPlanTable(TABLE, overlayFromDocument({ enable: ['no-such-mirror'] }, 'o.yaml'), 'o.yaml'), /o\.yaml: enable: no mirror "no-such-mirror" in the table/)
  t.throws(() => loadPlanTable(TABLE, overlayFromDocument({ budgets: { nope: { requestsPerSecond: 1 } } }, 'o.yaml'), 'o.yaml'), /budgets\.nope: no mirror "nope"/)
  t.throws(() => loadPlanTable(TABLE, overlayFromDocument({ enable: ['tier:gold'] }, 'o.yaml'), 'o.yaml'), /unknown tier "gold"/)
  t.throws(() => overlayFromDocument({ enabled: ['osso-nl'] }, 'o.yaml'), /unknown key "enabled"/)
  t.throws(() => overlayFromDocument({ participation: { t1: 'sometimes' } }, 'o.yaml'), /participation\.t1: must be one of full, country, overflow/)
  // The numbers are the table validator's business: its message names the field.
  t.throws(() => loadPlanTable(TABLE, overlayFromDocument({ budgets: { 'osso-nl': { megabitsPerSecond: -1 } } }, 'o.yaml'), 'o.yaml'),
    { name: 'MgError', message: /with o\.yaml: mirrors\[0\]\.budget\.megabitsPerSecond/ })
  t.throws(() => loadPlanTable(TABLE, overlayFromDocument({ budgets: { 'osso-nl': {} } }, 'o.yaml'), 'o.yaml'), /needs requestsPerSecond, megabitsPerSecond or both/)
  t.same(applyOverlay({ mirrors: [{ id: 'a', enabled: false }] }, overlayFromDocument({ enable: ['a'] }, 'o.yaml'), 'o.yaml'),
    { mirrors: [{ id: 'a', enabled: true }] }, 'a copy with the change, nothing else')
})
