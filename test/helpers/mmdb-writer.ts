// Minimal MaxMind DB (.mmdb) writer for tests, written from the public format spec
// (https://maxmind.github.io/MaxMind-DB/). Layout of the file:
//   [search tree][16 zero bytes][data section]["\xAB\xCD\xEFMaxMind.com"][metadata map]
import { writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';

export interface MmdbEntry { network: string /* CIDR like '81.2.69.0/24' or '2a02:1::/32' */; data: MmdbValue }
export type MmdbValue =
  | string | number | boolean | MmdbValue[] | { [k: string]: MmdbValue }
  | { type: 'uint16' | 'uint32' | 'uint64' | 'int32' | 'double' | 'float'; value: number | bigint };
export interface MmdbOptions {
  databaseType: string; ipVersion: 4 | 6; entries: MmdbEntry[]; description?: string;
  languages?: string[]; buildEpoch?: number; recordSize?: 24 | 28 | 32;
}
type TypedValue = Extract<MmdbValue, { type: string; value: number | bigint }>;

const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'); // "\xAB\xCD\xEFMaxMind.com"
const TYPED = new Set(['uint16', 'uint32', 'uint64', 'int32', 'double', 'float']);
// Data-section type numbers from the spec.
const T = { string: 2, double: 3, uint16: 5, uint32: 6, map: 7, int32: 8, uint64: 9, array: 11, boolean: 14, float: 15 } as const;

// ---------- data section encoding ----------

/** Control byte(s): 3 type bits + 5 size bits; types > 7 are "extended" (type bits 0, next byte = type - 7). */
function control(type: number, size: number): Buffer {
  let sizeBits: number;
  let extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 29 + 256) { sizeBits = 29; extra = [size - 29]; }
  else if (size < 285 + 65536) { sizeBits = 30; extra = [(size - 285) >> 8, (size - 285) & 0xff]; }
  else { const s = size - 65821; sizeBits = 31; extra = [(s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff]; }
  const head = type <= 7 ? [(type << 5) | sizeBits] : [sizeBits, type - 7];
  return Buffer.from([...head, ...extra]);
}

/** Unsigned ints are stored big-endian with leading zero bytes dropped (0 has size 0). */
function encodeUint(type: number, value: number | bigint, maxBytes: number): Buffer {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(maxBytes * 8)) throw new RangeError(`mmdb: ${value} does not fit in ${maxBytes * 8}-bit unsigned int`);
  const bytes: number[] = [];
  for (; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

function isTyped(v: object): v is TypedValue {
  const keys = Object.keys(v);
  const t = (v as { type?: unknown }).type;
  const val = (v as { value?: unknown }).value;
  return keys.length === 2 && typeof t === 'string' && TYPED.has(t) && (typeof val === 'number' || typeof val === 'bigint');
}

function encodeTyped({ type, value }: TypedValue): Buffer {
  switch (type) {
    case 'uint16': return encodeUint(T.uint16, value, 2);
    case 'uint32': return encodeUint(T.uint32, value, 4);
    case 'uint64': return encodeUint(T.uint64, value, 8);
    case 'int32': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new RangeError(`mmdb: ${value} is not an int32`);
      const b = Buffer.alloc(4);
      b.writeInt32BE(n); // always 4 bytes: shorter int32 fields are read as unsigned
      return Buffer.concat([control(T.int32, 4), b]);
    }
    case 'double': { const b = Buffer.alloc(8); b.writeDoubleBE(Number(value)); return Buffer.concat([control(T.double, 8), b]); }
    case 'float': { const b = Buffer.alloc(4); b.writeFloatBE(Number(value)); return Buffer.concat([control(T.float, 4), b]); }
  }
}

function encodeValue(v: MmdbValue): Buffer {
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([control(T.string, b.length), b]); }
  if (typeof v === 'boolean') return control(T.boolean, v ? 1 : 0); // the size bits *are* the value
  if (typeof v === 'number') {
    // Pick the type GeoLite2 uses for such values (uint32 geoname_id, double latitude, ...).
    if (!Number.isInteger(v)) return encodeTyped({ type: 'double', value: v });
    if (v >= 0 && v <= 0xffff) return encodeTyped({ type: 'uint16', value: v });
    if (v >= 0 && v < 2 ** 32) return encodeTyped({ type: 'uint32', value: v });
    if (v < 0 && v >= -(2 ** 31)) return encodeTyped({ type: 'int32', value: v });
    return encodeTyped(v > 0 && Number.isSafeInteger(v) ? { type: 'uint64', value: v } : { type: 'double', value: v });
  }
  if (Array.isArray(v)) return Buffer.concat([control(T.array, v.length), ...v.map(encodeValue)]);
  if (isTyped(v)) return encodeTyped(v);
  const pairs = Object.entries(v as { [k: string]: MmdbValue });
  return Buffer.concat([control(T.map, pairs.length), ...pairs.flatMap(([k, val]) => [encodeValue(k), encodeValue(val)])]);
}

// ---------- networks ----------

function parseAddress(addr: string): { bits: 32 | 128; value: bigint } {
  if (isIPv4(addr)) return { bits: 32, value: addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) };
  if (!isIPv6(addr)) throw new Error(`mmdb: invalid IP address '${addr}'`);
  let s = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s); // embedded IPv4 tail, e.g. ::ffff:1.2.3.4
  if (v4?.[1]) {
    const n = parseAddress(v4[1]).value;
    s = s.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { bits: 128, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n) };
}

/** Returns the network as (address, prefix) in the database's own address width. */
function parseNetwork(cidr: string, ipVersion: 4 | 6): { value: bigint; prefix: number } {
  const [addr = '', len] = cidr.split('/');
  const { bits, value } = parseAddress(addr);
  const prefix = len === undefined ? bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw new Error(`mmdb: invalid prefix length in '${cidr}'`);
  if (prefix < bits && (value & ((1n << BigInt(bits - prefix)) - 1n)) !== 0n) throw new Error(`mmdb: '${cidr}' has host bits set`);
  if (bits === 128 && ipVersion === 4) throw new Error(`mmdb: cannot store IPv6 network '${cidr}' in an ipVersion 4 database`);
  // IPv4 in an IPv6 tree lives in ::/96, i.e. 96 leading zero bits.
  return bits === 32 && ipVersion === 6 ? { value, prefix: prefix + 96 } : { value, prefix };
}

// ---------- search tree ----------

type Child = TreeNode | number /* index into data records */ | null /* empty */;
interface TreeNode { children: [Child, Child] }

export function buildMmdb(opts: MmdbOptions): Buffer {
  const { ipVersion, recordSize = 28 } = opts;
  const width = ipVersion === 4 ? 32 : 128;

  // Serialize each distinct record once; many tree leaves may point at the same offset.
  const records: Buffer[] = [];
  const cache = new Map<string, number>();
  const recordIndex = (data: MmdbValue): number => {
    const key = JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    let idx = cache.get(key);
    if (idx === undefined) { idx = records.push(encodeValue(data)) - 1; cache.set(key, idx); }
    return idx;
  };

  // Insert less specific networks first so more specific ones carve holes into them.
  const nets = opts.entries
    .map((e) => ({ ...parseNetwork(e.network, ipVersion), idx: recordIndex(e.data) }))
    .sort((a, b) => a.prefix - b.prefix);
  const root: TreeNode = { children: [null, null] };
  for (const { value, prefix, idx } of nets) {
    if (prefix === 0) { root.children = [idx, idx]; continue; } // the root itself must stay a node
    let node = root;
    for (let depth = 0; depth < prefix - 1; depth++) {
      const bit = Number((value >> BigInt(width - 1 - depth)) & 1n);
      let child = node.children[bit] ?? null;
      // Splitting a leaf: both halves inherit the leaf's data (or emptiness).
      if (child === null || typeof child === 'number') node.children[bit] = child = { children: [child, child] };
      node = child;
    }
    node.children[Number((value >> BigInt(width - prefix)) & 1n)] = idx;
  }

  // Number nodes breadth-first; the root must be node 0.
  const nodes: TreeNode[] = [root];
  const ids = new Map<TreeNode, number>([[root, 0]]);
  for (let i = 0; i < nodes.length; i++) {
    for (const c of nodes[i]!.children) if (c !== null && typeof c === 'object') { ids.set(c, nodes.length); nodes.push(c); }
  }
  const nodeCount = nodes.length;

  const offsets: number[] = [];
  let pos = 0;
  for (const r of records) { offsets.push(pos); pos += r.length; }
  // Record values: < nodeCount → node, == nodeCount → empty, > nodeCount → data at (value - nodeCount - 16).
  const recordValue = (c: Child): number =>
    c === null ? nodeCount : typeof c === 'number' ? nodeCount + 16 + offsets[c]! : ids.get(c)!;

  const nodeBytes = recordSize / 4; // two records per node
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  nodes.forEach((n, i) => {
    const [l, r] = n.children.map(recordValue) as [number, number];
    if (Math.max(l, r) >= 2 ** recordSize) throw new RangeError(`mmdb: record value too large for record size ${recordSize}`);
    const o = i * nodeBytes;
    if (recordSize === 24) { tree.writeUIntBE(l, o, 3); tree.writeUIntBE(r, o + 3, 3); }
    else if (recordSize === 32) { tree.writeUInt32BE(l, o); tree.writeUInt32BE(r, o + 4); }
    else {
      // 28 bits: the middle byte holds the high nibble of the left record, then of the right one.
      tree.writeUIntBE(l & 0xffffff, o, 3);
      tree[o + 3] = ((l >>> 24) << 4) | (r >>> 24);
      tree.writeUIntBE(r & 0xffffff, o + 4, 3);
    }
  });

  const metadata = encodeValue({
    binary_format_major_version: { type: 'uint16', value: 2 },
    binary_format_minor_version: { type: 'uint16', value: 0 },
    build_epoch: { type: 'uint64', value: opts.buildEpoch ?? Math.floor(Date.now() / 1000) },
    database_type: opts.databaseType,
    description: { en: opts.description ?? `${opts.databaseType} test database` },
    ip_version: { type: 'uint16', value: ipVersion },
    languages: opts.languages ?? ['en'],
    node_count: { type: 'uint32', value: nodeCount },
    record_size: { type: 'uint16', value: recordSize },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...records, METADATA_MARKER, metadata]);
}

export function writeMmdb(path: string, opts: MmdbOptions): void {
  writeFileSync(path, buildMmdb(opts));
}
