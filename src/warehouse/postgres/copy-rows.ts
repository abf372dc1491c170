import { isUtf8 } from 'node:buffer';
import { isBlank } from '../../core/gzip-lines.js';
import { gunzipChunks, LineSplitter, unreadableBatch } from '../lines.js';
import { REJECT } from '../reject-reasons.js';
import type { StructureScanner } from './structure-scan.js';

export interface StageFile {
  /** The batch's number within its group: a small key into the group's batch table. */
  b: number;
  key: string;
  file: string;
}

/**
 * `jsonb`: rows `b, n, line` in COPY's binary format, where PostgreSQL parses the line as jsonb
 * during the COPY (the fast path; any bad line fails the COPY). `text`: rows `b, n, line, note` in
 * the text format, where nothing can fail the COPY: a line PostgreSQL cannot hold as text (bad
 * UTF-8, a NUL byte) is made storable and noted as a reject.
 */
export type StageFormat = 'jsonb' | 'text';

const FLUSH_AT = 512 * 1024;
const NL = 0x0a;
const TAB = 0x09;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/**
 * The COPY rows of a group of gzip JSON Lines batches, streamed: one file chunk at a time, so
 * memory stays flat whatever the batch size. Lines keep their numbers in the file; blank lines are
 * counted but not sent. `sent` receives how many rows each batch sent; `scan` reads the structure
 * of each row sent.
 */
export async function* copyRows(files: readonly StageFile[], format: StageFormat, sent?: Map<number, number>, scan?: StructureScanner): AsyncGenerator<Buffer> {
  const out = new RowWriter();
  const binary = format === 'jsonb';
  if (binary) out.bytes(BINARY_HEADER);
  yield* fileRows(
    files,
    out,
    (f, n, line) => {
      if (!(binary ? out.binaryLine(f.b, n, line) : out.textLine(f.b, n, line))) return false;
      scan?.line(f.b, n, line);
      return true;
    },
    sent,
  );
  if (!binary) return;
  out.bytes(BINARY_TRAILER);
  yield out.take();
}

/** A batch for a COPY straight into the raw table, with its partition hour. */
export interface RawFile extends StageFile {
  partitionMs: number;
}

/**
 * The COPY rows of the raw table itself (`data`, `_sluice_partition`, `_sluice_batch`,
 * `_sluice_loaded_at`, then the key columns), in COPY's binary format, the keys read by the scan.
 * Binary because every row's bytes then go in as they are: PostgreSQL no longer splits and
 * unescapes 170 MB of text to find the columns, nor parses two timestamps a row (a fifth of the
 * COPY's time); each line is still parsed as jsonb. It stops at the first line the scan cannot
 * key (`stop.reason` says why), and the load then takes the group through its stage instead.
 * `loadedAtUs`: the load's time, in microseconds since 1970.
 */
export async function* copyRawRows(
  files: readonly RawFile[],
  scan: StructureScanner,
  loadedAtUs: bigint,
  sent: Map<number, number>,
  stop: { reason?: string },
): AsyncGenerator<Buffer> {
  const out = new RowWriter();
  const keys = scan.keyCount;
  const columns = new Map(files.map((f) => [f, binaryBatchColumns(f, loadedAtUs)]));
  out.bytes(BINARY_HEADER);
  yield* fileRows(
    files,
    out,
    (f, n, line) => {
      if (isBlank(line)) return false;
      scan.line(f.b, n, line);
      if (out.binaryRow(line, columns.get(f)!, scan, keys)) return true;
      stop.reason = scan.declined ?? `line ${n} of ${f.key} has no plain key`;
      return 'stop';
    },
    sent,
  );
  if (stop.reason !== undefined) return;
  out.bytes(BINARY_TRAILER);
  yield out.take();
}

/** COPY's binary format: its signature, no flags, no header extension; and the end of the rows. */
const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);
/** PostgreSQL's timestamps count microseconds from 2000-01-01. */
const PG_EPOCH_US = 946_684_800_000_000n;
/** jsonb's binary input: a version byte, then the JSON text. */
const JSONB_VERSION = 1;

/** A batch's own columns in binary, each with its length: partition hour, batch key, load time. */
function binaryBatchColumns(f: RawFile, loadedAtUs: bigint): Buffer {
  const key = Buffer.from(f.key, 'utf8');
  const out = Buffer.alloc(12 + 4 + key.length + 12);
  let at = out.writeInt32BE(8, 0);
  at = out.writeBigInt64BE(BigInt(f.partitionMs) * 1000n - PG_EPOCH_US, at);
  at = out.writeInt32BE(key.length, at);
  at += key.copy(out, at);
  at = out.writeInt32BE(8, at);
  out.writeBigInt64BE(loadedAtUs - PG_EPOCH_US, at);
  return out;
}

/**
 * Each file's lines through `row`, which writes a line's row into `out` (true when it wrote one,
 * `stop` to read no further), with the buffer yielded as it fills.
 */
async function* fileRows<F extends StageFile>(
  files: readonly F[],
  out: RowWriter,
  row: (f: F, n: number, line: Buffer) => boolean | 'stop',
  sent: Map<number, number> | undefined,
): AsyncGenerator<Buffer> {
  for (const f of files) {
    const lines = new LineSplitter();
    let rows = 0;
    let stopped = false;
    const onLine = (n: number, line: Buffer) => {
      if (stopped) return;
      const wrote = row(f, n, line);
      if (wrote === 'stop') stopped = true;
      else if (wrote) rows++;
    };
    try {
      for await (const chunk of gunzipChunks(f.file)) {
        lines.push(chunk, onLine);
        if (stopped) return;
        if (out.size >= FLUSH_AT) yield out.take();
      }
    } catch (error) {
      throw unreadableBatch(f.key, error);
    }
    lines.end(onLine);
    if (stopped) return;
    sent?.set(f.b, rows);
    if (out.size > 0) yield out.take();
  }
}

class RowWriter {
  #buf = Buffer.allocUnsafe(FLUSH_AT * 2);
  #pos = 0;

  get size(): number {
    return this.#pos;
  }

  /** The rows written so far; the writer starts a new buffer, since COPY still holds this one. */
  take(): Buffer {
    const out = this.#buf.subarray(0, this.#pos);
    this.#buf = Buffer.allocUnsafe(Math.max(FLUSH_AT * 2, this.#buf.length));
    this.#pos = 0;
    return out;
  }

  /** Writes a line's row in the text format, with its note; false for a blank line, which has none. */
  textLine(b: number, n: number, raw: Buffer): boolean {
    if (isBlank(raw)) return false;
    let line = raw;
    let note: string | undefined;
    if (!isUtf8(line)) {
      note = REJECT.notUtf8;
      line = Buffer.from(line.toString('utf8'));
    }
    if (line.includes(0)) {
      note ??= REJECT.notObject; // a raw control character is never valid JSON
      line = Buffer.from(line.toString('utf8').replaceAll('\0', '\uFFFD'));
    }
    this.#ensure(line.length * 2 + 64);
    this.#pos += this.#buf.write(`${b}\t${n}\t`, this.#pos, 'latin1');
    this.#escaped(line);
    this.#pos += this.#buf.write(note === undefined ? '\t\\N' : `\t${note}`, this.#pos, 'utf8');
    this.#buf[this.#pos++] = NL;
    return true;
  }

  /** Writes a line's row `b, n, line` in the binary format; false for a blank line, which has none. */
  binaryLine(b: number, n: number, line: Buffer): boolean {
    if (isBlank(line)) return false;
    this.#ensure(line.length + 32);
    const buf = this.#buf;
    this.#pos = buf.writeInt16BE(3, this.#pos);
    this.#pos = buf.writeInt32BE(4, this.#pos);
    this.#pos = buf.writeInt32BE(b, this.#pos);
    // A bigint in two halves: no BigInt allocated per line.
    this.#pos = buf.writeInt32BE(8, this.#pos);
    this.#pos = buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), this.#pos);
    this.#pos = buf.writeUInt32BE(n >>> 0, this.#pos);
    this.#jsonb(line);
    return true;
  }

  /** Bytes as they are (the binary format's header and trailer). */
  bytes(b: Buffer): void {
    this.#ensure(b.length);
    this.#pos += b.copy(this.#buf, this.#pos);
  }

  /**
   * Writes a raw table's row in COPY's binary format: the line as jsonb, the batch's columns, then
   * the scan's key texts, copied from the line. False, with nothing written, when a key cannot be
   * read.
   */
  binaryRow(line: Buffer, batch: Buffer, scan: StructureScanner, keys: number): boolean {
    const start = this.#pos;
    this.#ensure(line.length + batch.length + 16);
    this.#pos = this.#buf.writeInt16BE(4 + keys, this.#pos);
    this.#jsonb(line);
    this.#pos += batch.copy(this.#buf, this.#pos);
    for (let k = 0; k < keys; k++) {
      const text = scan.keyText(line, k);
      if (text === false) {
        this.#pos = start;
        return false;
      }
      const value = text === true ? line.subarray(scan.keyFrom, scan.keyTo) : Buffer.from(text, 'utf8');
      this.#ensure(value.length + 4);
      this.#pos = this.#buf.writeInt32BE(value.length, this.#pos);
      this.#pos += value.copy(this.#buf, this.#pos);
    }
    return true;
  }

  /** A jsonb field in the binary format: its length, jsonb's version byte, then the line as it is. */
  #jsonb(line: Buffer): void {
    this.#pos = this.#buf.writeInt32BE(line.length + 1, this.#pos);
    this.#buf[this.#pos++] = JSONB_VERSION;
    this.#pos += line.copy(this.#buf, this.#pos);
  }

  /** COPY text format: a backslash, tab or CR in the data is written as an escape. */
  #escaped(line: Buffer): void {
    const buf = this.#buf;
    if (line.indexOf(TAB) === -1 && line.indexOf(CR) === -1) {
      let from = 0;
      for (let i = line.indexOf(BACKSLASH); i !== -1; i = line.indexOf(BACKSLASH, i + 1)) {
        this.#pos += line.copy(buf, this.#pos, from, i + 1);
        buf[this.#pos++] = BACKSLASH;
        from = i + 1;
      }
      this.#pos += line.copy(buf, this.#pos, from);
      return;
    }
    for (const c of line) {
      if (c === BACKSLASH) {
        buf[this.#pos++] = BACKSLASH;
        buf[this.#pos++] = BACKSLASH;
      } else if (c === TAB || c === CR) {
        buf[this.#pos++] = BACKSLASH;
        buf[this.#pos++] = c === TAB ? 0x74 : 0x72;
      } else {
        buf[this.#pos++] = c;
      }
    }
  }

  #ensure(extra: number): void {
    if (this.#pos + extra <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + extra));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
  }
}
