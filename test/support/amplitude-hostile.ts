import zlib from 'node:zlib';
import { type AmplitudeSim, type AmplitudeSimOptions, type SimAnswer, startAmplitudeSim, zipAnswer } from '../../src/demo/amplitude-sim.js';
import { HOUR } from '../../src/demo/amplitude-sim-data.js';
import { exportFileName, type HourArchives, isoHour } from '../../src/demo/amplitude-sim-hours.js';
import { crc32, zipItem, zipParts } from '../../src/demo/amplitude-sim-zip.js';

/**
 * Hostile archives for the simulated Amplitude export: what a broken or malicious server could
 * send. `startHostileAmplitudeSim` is the demo's simulator plus `setHostile`.
 */
export type AmplitudeHostileKind = 'zip-slip' | 'absolute-path' | 'bad-name' | 'corrupt-zip' | 'corrupt-gzip' | 'zip-bomb' | 'out-of-range' | 'bad-lines';

export interface HostileAmplitudeSim extends AmplitudeSim {
  /** The next `times` (default 1) requests that pass auth, validation and faults get a hostile archive (200) instead of their answer. */
  setHostile(kind: AmplitudeHostileKind, times?: number): void;
}

export async function startHostileAmplitudeSim(o: AmplitudeSimOptions = {}): Promise<HostileAmplitudeSim> {
  const queue: AmplitudeHostileKind[] = [];
  const sim = await startAmplitudeSim({
    ...o,
    intercept: (range, hours) => {
      const kind = queue.shift();
      return kind ? hostileAnswer(kind, range.startMs, range.endMs, hours) : undefined;
    },
  });
  return Object.assign(sim, {
    setHostile: (kind: AmplitudeHostileKind, times = 1) => {
      for (let i = 0; i < times; i++) queue.push(kind);
    },
  });
}

const JUNK_BASE = 3_000_000; // event indexes of the extra files of hostile archives
const BOMB_BYTES = 2 ** 31 + 2 ** 20; // a little over 2 GiB once inflated
let bomb: Buffer | undefined;

async function hostileAnswer(kind: AmplitudeHostileKind, s: number, e: number, hours: HourArchives): Promise<SimAnswer> {
  const { projectId: pid, partStart = 0 } = hours.layout;
  const rangeHours = Array.from({ length: (e - s) / HOUR + 1 }, (_, i) => s + i * HOUR);
  const junk = (ms: number, n: number): Buffer => zlib.gzipSync(Array.from({ length: n }, (_, i) => hours.line(ms, JUNK_BASE + i)).join(''));
  let items = (await Promise.all(rangeHours.map((ms) => hours.built(ms)))).flatMap((b) => b.files);
  const first = exportFileName(pid, s, partStart);
  const replaceHour = (ms: number, data: Buffer): void => {
    items = [zipItem(`${pid}/${exportFileName(pid, ms, partStart)}`, data, false, ms), ...items.filter((it) => it.hour !== ms)];
    items.sort((a, b) => (a.hour ?? 0) - (b.hour ?? 0));
  };
  if (kind === 'zip-slip') items.push(zipItem(`${pid}/../../../../../../../../tmp/sluice-zip-slip/${first}`, junk(s, 3)));
  if (kind === 'absolute-path') items.push(zipItem(`/etc/sluice-absolute-path/${first}`, junk(s, 3)));
  if (kind === 'bad-name') items.push(zipItem(`${pid}/export-${new Date(s).toISOString().slice(0, 13)}.json.gz`, junk(s, 3)));
  if (kind === 'out-of-range') items.push(zipItem(`${pid}/${exportFileName(pid, e + HOUR, partStart)}`, junk(e + HOUR, 4)));
  if (kind === 'zip-bomb') {
    bomb ??= buildBomb();
    replaceHour(s, bomb);
  }
  if (kind === 'corrupt-gzip') {
    const good = junk(s, 5); // a real gzip header, then bytes that are no deflate stream
    replaceHour(s, Buffer.concat([good.subarray(0, 10), Buffer.from('\x07 corrupt deflate data, not a gzip stream'), good.subarray(10, 40)]));
  }
  if (kind === 'bad-lines') {
    // The first hour with events becomes one file with three bad lines among its events.
    const ms = rangeHours.find((h) => hours.hasEvents(h)) ?? s;
    const lines = hours.indexes(ms).map((i) => hours.line(ms, i));
    lines.splice(Math.min(1, lines.length), 0, 'this line is not JSON\n');
    lines.splice(
      lines.length >> 1,
      0,
      `${JSON.stringify({ event_type: 'no_uuid', server_upload_time: `${isoHour(ms).slice(0, 10)} ${isoHour(ms).slice(11, 13)}:00:01.000000` })}\n`,
    );
    lines.push('{"uuid":"truncated-json","event_type":\n');
    replaceHour(ms, (await hours.gzipLines(lines, false)).data);
  }
  const parts = zipParts([...hours.dirItems(), ...items]);
  if (kind !== 'corrupt-zip') return zipAnswer(parts, pid, s, e);
  const whole = Buffer.concat(parts); // cut at 60%: no central directory, the last entry cut short
  return zipAnswer([whole.subarray(0, Math.floor(whole.length * 0.6))], pid, s, e);
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
function buildBomb(): Buffer {
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
