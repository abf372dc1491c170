/**
 * A small zip writer (local headers + central directory + EOCD; STORED or DEFLATE entries, no
 * zip64) for the simulated Amplitude export, and the gzip member its zip-bomb answers carry.
 */
import zlib from 'node:zlib';

/** A zip entry ready to write: `body` is `size` bytes STORED (method 0) or DEFLATE-compressed (8). */
export interface ZipItem {
  name: string;
  body: Buffer;
  method: 0 | 8;
  crc: number;
  size: number;
  /** The hour a data file belongs to; hostile archives replace or add files by hour. */
  hour?: number;
}

const BOMB_BYTES = 2 ** 31 + 2 ** 20; // a little over 2 GiB once inflated

// CRC-32 with a table fallback for Node releases before zlib.crc32 (20.15).
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
export function crc32(data: Buffer, prev = 0): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data, prev);
  let c = ~prev;
  for (const b of data) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
// crc32(a ‖ b) from crc32(a), crc32(b) and |b| (zlib's crc32_combine), so the bomb's 2 GiB need no pass.
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  let v = b;
  for (;;) {
    if (a & m) {
      p ^= v;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    v = v & 1 ? (v >>> 1) ^ 0xedb88320 : v >>> 1;
  }
  return p >>> 0;
}
function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  let x2n = 0x40000000; // x^1, squared up to x^(2^k)
  let p = 0x80000000; // x^0
  for (let n = lenB * 8; n > 0; n = Math.floor(n / 2)) {
    if (n % 2 === 1) p = multModP(x2n, p);
    x2n = multModP(x2n, x2n);
  }
  return (multModP(p, crcA) ^ crcB) >>> 0;
}

/**
 * A gzip member that inflates to one JSON line of > 2 GiB. Built in milliseconds: a raw deflate
 * of 1 MiB of '0' ending in a sync flush is self-contained and byte-aligned, so it can be repeated.
 */
export function buildBomb(): Buffer {
  const head = Buffer.from('{"uuid":"00000000-0000-4000-8000-000000000000","event_type":"zip_bomb","event_properties":{"pad":"');
  const tail = Buffer.from('"}}\n');
  const block = Buffer.alloc(1 << 20, '0');
  const copies = Math.ceil(BOMB_BYTES / block.length);
  const sync = { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const repeated = zlib.deflateRawSync(block, sync);
  const blockCrc = crc32(block);
  let crc = crc32(head);
  for (let i = 0; i < copies; i++) crc = crc32Combine(crc, blockCrc, block.length);
  crc = crc32(tail, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc, 0);
  trailer.writeUInt32LE((head.length + copies * block.length + tail.length) % 2 ** 32, 4);
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  const parts = [gzipHeader, zlib.deflateRawSync(head, sync), ...Array<Buffer>(copies).fill(repeated), zlib.deflateRawSync(tail), trailer];
  return Buffer.concat(parts);
}

// ---- zip writing: local headers + central directory + EOCD, STORED or DEFLATE ----
const DOS_TIME = 0;
const DOS_DATE = ((2025 - 1980) << 9) | (1 << 5) | 1;

export function zipItem(name: string, data: Buffer, deflate = false, hour?: number): ZipItem {
  const body = deflate && data.length > 0 ? zlib.deflateRawSync(data) : data;
  return { name, body, method: body === data ? 0 : 8, crc: crc32(data), size: data.length, ...(hour === undefined ? {} : { hour }) };
}

/** The archive as a list of buffers (no copy of the entries' bytes). */
export function zipParts(items: ZipItem[]): Buffer[] {
  if (items.length > 0xffff) throw new Error('zip: more than 65535 entries needs zip64');
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const name = Buffer.from(it.name, 'utf8');
    const local = Buffer.alloc(30 + name.length);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(it.method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(it.crc, 14);
    local.writeUInt32LE(it.body.length, 18);
    local.writeUInt32LE(it.size, 22);
    local.writeUInt16LE(name.length, 26);
    name.copy(local, 30);
    const cd = Buffer.alloc(46 + name.length);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x031e, 4); // made by Unix, so the external attributes are mode bits
    local.copy(cd, 6, 4, 28);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(it.name.endsWith('/') ? 0x41ed0010 : 0x81a40000, 38);
    cd.writeUInt32LE(offset, 42);
    name.copy(cd, 46);
    out.push(local, it.body);
    central.push(cd);
    offset += local.length + it.body.length;
    if (offset > 0xffffffff) throw new Error('zip: archives over 4 GiB need zip64');
  }
  const cdSize = central.reduce((s, b) => s + b.length, 0);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(items.length, 8);
  eocd.writeUInt16LE(items.length, 10);
  eocd.writeUInt32LE(cdSize, 12);
  eocd.writeUInt32LE(offset, 16);
  return [...out, ...central, eocd];
}

/** Builds a zip (STORED or DEFLATE entries, local headers + central directory + EOCD). Exported for tests of hostile archives. */
export function makeZip(entries: Array<{ name: string; data: Buffer; deflate?: boolean }>): Buffer {
  return Buffer.concat(zipParts(entries.map((e) => zipItem(e.name, e.data, e.deflate))));
}
