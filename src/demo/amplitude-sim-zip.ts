/**
 * A small zip writer (local headers + central directory + EOCD; STORED or DEFLATE entries, no
 * zip64) for the simulated Amplitude export.
 */
import zlib from 'node:zlib';

/** A zip entry ready to write: `body` is `size` bytes STORED (method 0) or DEFLATE-compressed (8). */
export interface ZipItem {
  name: string;
  body: Buffer;
  method: 0 | 8;
  crc: number;
  size: number;
  /** The hour a data file belongs to (tests replace or add files by hour). */
  hour?: number;
}

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
