import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reader, type AsnResponse, type CityResponse } from 'maxmind';
import { buildMmdb, writeMmdb, type MmdbEntry, type MmdbOptions } from './mmdb-writer.js';

// maxmind's Reader<T> only accepts its own response types; view custom schemas through this.
type TypedReader<T> = Pick<Reader<CityResponse>, 'metadata'> & {
  get(ip: string): T | null;
  getWithPrefixLength(ip: string): [T | null, number];
};
const open = <T>(buf: Buffer) => new Reader(buf) as unknown as TypedReader<T>;

const city = (name: string, lat: number, lon: number) => ({
  city: { geoname_id: 2643743, names: { en: name } },
  continent: { code: 'EU', geoname_id: 6255148, names: { en: 'Europe' } },
  country: { geoname_id: 2921044, iso_code: 'DE', names: { en: 'Germany' } },
  location: { latitude: lat, longitude: lon },
});

const cityEntries: MmdbEntry[] = [
  // More specific network listed first on purpose: insertion order must not matter.
  { network: '81.2.69.128/25', data: city('Nested', 50.1, 8.7) },
  { network: '81.2.69.0/24', data: city('Berlin', 52.52, 13.405) },
  { network: '2a02:1::/32', data: city('Frankfurt', 50.1109, 8.6821) },
];

t.test('GeoLite2-City shaped IPv6 database', async (t) => {
  const buf = buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, entries: cityEntries, languages: ['en', 'de'] });
  const reader = new Reader<CityResponse>(buf);

  const berlin = reader.get('81.2.69.5');
  t.same(berlin, city('Berlin', 52.52, 13.405), 'IPv4 lookup in an IPv6 db returns the full record');
  t.equal(berlin?.country?.iso_code, 'DE');
  t.equal(berlin?.continent?.code, 'EU');
  t.equal(berlin?.city?.names.en, 'Berlin');
  t.equal(berlin?.location?.latitude, 52.52);
  t.equal(berlin?.location?.longitude, 13.405);
  t.equal(berlin?.city?.geoname_id, 2643743);

  const [nested, nestedLen] = reader.getWithPrefixLength('81.2.69.200');
  t.equal(nested?.city?.names.en, 'Nested', 'more specific /25 wins over /24');
  t.equal(nestedLen, 25);
  // Carving the /25 out splits the /24, so the lower half is reported as its own /25 (as in real MaxMind DBs).
  t.same(reader.getWithPrefixLength('81.2.69.127'), [city('Berlin', 52.52, 13.405), 25], 'lower half keeps the /24 data');
  t.same(reader.getWithPrefixLength('81.2.69.0'), [city('Berlin', 52.52, 13.405), 25]);

  t.equal(reader.get('::ffff:0:0'), null, 'nothing aliased outside ::/96');
  t.same(reader.getWithPrefixLength('::5102:4505')[0]?.city?.names.en, 'Berlin', 'IPv4 is stored under ::/96');

  const [fra, fraLen] = reader.getWithPrefixLength('2a02:1:abcd::1');
  t.equal(fra?.city?.names.en, 'Frankfurt');
  t.equal(fra?.location?.latitude, 50.1109);
  t.equal(fraLen, 32);

  t.equal(reader.get('81.2.70.1'), null, 'IPv4 miss is null');
  t.equal(reader.get('2a02:2::1'), null, 'IPv6 miss is null');
  t.equal(reader.get('8.8.8.8'), null);

  t.equal(reader.metadata.databaseType, 'GeoLite2-City');
  t.equal(reader.metadata.ipVersion, 6);
  t.same(reader.metadata.languages, ['en', 'de']);
  t.same(reader.metadata.description, { en: 'GeoLite2-City test database' });
});

t.test('GeoLite2-ASN shaped database', async (t) => {
  const asn = { autonomous_system_number: 3320, autonomous_system_organization: 'Deutsche Telekom AG' };
  const buf = buildMmdb({
    databaseType: 'GeoLite2-ASN', ipVersion: 6,
    entries: [{ network: '80.128.0.0/11', data: asn }, { network: '2003::/19', data: asn }],
  });
  const reader = new Reader<AsnResponse>(buf);
  const v4 = reader.get('80.130.1.2');
  t.equal(typeof v4?.autonomous_system_number, 'number');
  t.equal(v4?.autonomous_system_number, 3320);
  t.equal(v4?.autonomous_system_organization, 'Deutsche Telekom AG');
  t.same(reader.getWithPrefixLength('2003:e1::1'), [asn, 19]);
  t.equal(reader.get('80.160.0.0'), null, 'just outside the /11');

  // Identical records are serialized once and shared by both networks.
  const needle = Buffer.from('Deutsche Telekom AG');
  t.equal(buf.indexOf(needle), buf.lastIndexOf(needle), 'data record deduplicated');
  t.not(buf.indexOf(needle), -1);
});

t.test('ip-location-db flat shaped IPv4 database', async (t) => {
  const buf = buildMmdb({
    databaseType: 'ip-location-db dbip-city', ipVersion: 4,
    entries: [
      { network: '1.0.0.0/24', data: { country_code: 'AU', latitude: -33.8688, longitude: 151.2093 } },
      { network: '5.9.0.0/16', data: { country_code: 'DE', latitude: 49.4478, longitude: 11.0683 } },
      { network: '5.9.1.1/32', data: { country_code: 'FI', latitude: 60.1699, longitude: 24.9384 } },
    ],
  });
  const reader = open<{ country_code: string; latitude: number; longitude: number }>(buf);
  t.same(reader.get('1.0.0.200'), { country_code: 'AU', latitude: -33.8688, longitude: 151.2093 });
  // 5.9.1.1/32 splits the /16; 5.9.200.1 diverges from it at bit 16, hence /17.
  t.same(reader.getWithPrefixLength('5.9.200.1'), [{ country_code: 'DE', latitude: 49.4478, longitude: 11.0683 }, 17]);
  t.same(reader.getWithPrefixLength('5.9.1.1'), [{ country_code: 'FI', latitude: 60.1699, longitude: 24.9384 }, 32]);
  t.equal(reader.get('5.9.1.2')?.country_code, 'DE');
  t.equal(reader.get('1.0.1.0'), null);
  t.equal(reader.metadata.ipVersion, 4);
  t.equal(reader.metadata.databaseType, 'ip-location-db dbip-city');
});

for (const recordSize of [24, 28, 32] as const) {
  t.test(`record size ${recordSize}`, async (t) => {
    const reader = new Reader<CityResponse>(buildMmdb({ databaseType: 'GeoLite2-City', ipVersion: 6, entries: cityEntries, recordSize }));
    t.equal(reader.metadata.recordSize, recordSize);
    t.equal(reader.metadata.nodeByteSize, recordSize / 4);
    t.equal(reader.get('81.2.69.1')?.city?.names.en, 'Berlin');
    t.equal(reader.get('81.2.69.129')?.city?.names.en, 'Nested');
    t.equal(reader.get('2a02:1::')?.city?.names.en, 'Frankfurt');
    t.equal(reader.get('2a02:0:ffff::'), null);
  });
}

t.test('record values above 2^24 (28-bit nibbles, 32-bit, 24-bit overflow)', async (t) => {
  // A ~16.8 MB first record pushes later data offsets past 2^24, so both the left and right
  // records of a node need their high bits. This also exercises the 3-byte size encoding.
  const big = 'x'.repeat(16_800_000);
  const entries: MmdbEntry[] = [
    { network: '10.0.0.0/8', data: { big } },
    { network: '11.0.0.0/8', data: { name: 'right' } }, // right record of the node shared with 10/8
    { network: '12.0.0.0/8', data: { name: 'left' } }, // left record of its node
    { network: '128.0.0.0/1', data: { name: 'top' } },
  ];
  for (const recordSize of [28, 32] as const) {
    const reader = open<{ name?: string; big?: string }>(buildMmdb({ databaseType: 'big', ipVersion: 4, entries, recordSize }));
    t.equal(reader.get('10.1.2.3')?.big?.length, big.length, `${recordSize}: big record`);
    t.equal(reader.get('11.1.2.3')?.name, 'right', `${recordSize}: high right record`);
    t.equal(reader.get('12.1.2.3')?.name, 'left', `${recordSize}: high left record`);
    t.equal(reader.get('200.1.2.3')?.name, 'top', `${recordSize}: /1`);
    t.equal(reader.get('13.0.0.0'), null);
  }
  t.throws(() => buildMmdb({ databaseType: 'big', ipVersion: 4, entries, recordSize: 24 }), RangeError);
});

t.test('metadata and node count', async (t) => {
  const base: Omit<MmdbOptions, 'entries'> = { databaseType: 'Test', ipVersion: 4, buildEpoch: 1_700_000_000 };
  const one = new Reader(buildMmdb({ ...base, entries: [{ network: '192.0.2.0/24', data: 'x' }] }));
  t.equal(one.metadata.nodeCount, 24, 'one /24 needs one node per level');
  t.equal(one.metadata.binaryFormatMajorVersion, 2);
  t.equal(one.metadata.binaryFormatMinorVersion, 0);
  t.equal(one.metadata.buildEpoch.getTime(), 1_700_000_000_000);
  t.equal(one.metadata.databaseType, 'Test');
  t.equal(one.metadata.ipVersion, 4);
  t.same(one.metadata.languages, ['en']);

  const v6 = new Reader(buildMmdb({ ...base, ipVersion: 6, description: 'desc', entries: [{ network: '192.0.2.0/24', data: 'x' }] }));
  t.equal(v6.metadata.nodeCount, 96 + 24, 'IPv4 /24 sits below the 96-bit ::/96 path');
  t.same(v6.metadata.description, { en: 'desc' });

  // 2a02::/32 starts with bits 001..., sharing the first three nodes with the ::/96 path.
  const both = new Reader(buildMmdb({ ...base, ipVersion: 6, entries: [
    { network: '192.0.2.0/24', data: 'x' }, { network: '2a02:1::/32', data: 'y' },
  ] }));
  t.equal(both.metadata.nodeCount, 120 + 32 - 3);

  const empty = new Reader(buildMmdb({ ...base, entries: [] }));
  t.equal(empty.metadata.nodeCount, 1);
  t.equal(empty.get('1.2.3.4'), null);
});

t.test('value types', async (t) => {
  const data = {
    u16: 65535, u32: 65536, neg: -5, dbl: 1.5, bool: true, no: false, arr: [1, 'two', [3]],
    u64: { type: 'uint64' as const, value: 2n ** 63n + 1n }, flt: { type: 'float' as const, value: 1.1 },
    forcedU32: { type: 'uint32' as const, value: 7 }, zero: 0, emptyMap: {}, emptyStr: '',
    s29: 'a'.repeat(29), s300: 'b'.repeat(300), s70000: 'c'.repeat(70_000), 'ünï': 'çödé ✓',
  };
  const reader = open<Record<string, unknown>>(buildMmdb({ databaseType: 'Types', ipVersion: 4, entries: [{ network: '0.0.0.0/0', data }] }));
  const got = reader.get('203.0.113.9');
  t.same(got, { ...data, u64: 2n ** 63n + 1n, flt: Math.fround(1.1), forcedU32: 7 });
  t.equal(got?.neg, -5);
  t.equal(got?.u64, 2n ** 63n + 1n);
  t.equal(reader.get('0.0.0.0')?.zero, 0, '/0 covers both halves');
});

t.test('wire encoding picks the GeoLite2 types', async (t) => {
  // Decoded values look the same for uint16/uint32, so check the exact data-section bytes.
  const buf = buildMmdb({ databaseType: 'x', ipVersion: 4, entries: [{ network: '0.0.0.0/1', data: { a: 1, b: 70000, c: -1, d: 0.5, e: true } }] });
  const dataStart = 1 * 7 + 16; // one 28-bit node, then the 16-byte separator
  const dataEnd = buf.indexOf(Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'));
  t.equal(buf.subarray(dataStart, dataEnd).toString('hex'), [
    'e5', // map, 5 pairs
    '4161', 'a101', // "a" → uint16 1
    '4162', 'c3011170', // "b" → uint32 70000 (3 bytes)
    '4163', '0401ffffffff', // "c" → int32 -1 (extended type 8, 4 bytes)
    '4164', '683fe0000000000000', // "d" → double 0.5
    '4165', '0107', // "e" → boolean true (extended type 14, size bits = value)
  ].join(''));
  // left = nodeCount + 16 + offset 0 = 17 (data), right = nodeCount = 1 (empty); middle byte = high nibbles.
  t.equal(buf.subarray(0, dataStart - 16).toString('hex'), '00001100000001', 'tree node records');
});

t.test('invalid input', async (t) => {
  t.throws(() => buildMmdb({ databaseType: 'x', ipVersion: 4, entries: [{ network: '2a02:1::/32', data: 'x' }] }),
    /IPv6 network '2a02:1::\/32' in an ipVersion 4 database/);
  t.throws(() => buildMmdb({ databaseType: 'x', ipVersion: 4, entries: [{ network: '10.0.0.1/8', data: 'x' }] }), /host bits/);
  t.throws(() => buildMmdb({ databaseType: 'x', ipVersion: 4, entries: [{ network: '10.0.0.0/33', data: 'x' }] }), /prefix/);
  t.throws(() => buildMmdb({ databaseType: 'x', ipVersion: 6, entries: [{ network: 'nope/8', data: 'x' }] }), /invalid IP/);
  t.throws(() => buildMmdb({ databaseType: 'x', ipVersion: 4, entries: [{ network: '10.0.0.0/8', data: { type: 'uint16', value: 70000 } }] }), RangeError);
});

t.test('writeMmdb writes the same bytes to disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mmdb-writer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const opts: MmdbOptions = { databaseType: 'GeoLite2-Country', ipVersion: 6, buildEpoch: 1, entries: [
    { network: '81.2.69.0/24', data: { country: { iso_code: 'GB', names: { en: 'United Kingdom' } } } },
  ] };
  const file = join(dir, 'country.mmdb');
  writeMmdb(file, opts);
  const bytes = readFileSync(file);
  t.ok(bytes.equals(buildMmdb(opts)));
  t.equal(open<{ country: { iso_code: string } }>(bytes).get('81.2.69.160')?.country.iso_code, 'GB');
});
