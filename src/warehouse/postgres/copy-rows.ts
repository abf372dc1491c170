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
 * `jsonb`: rows `b, n, line` where PostgreSQL parses the line as jsonb during the COPY (the fast
 * path; any bad line fails the COPY). `text`: rows `b, n, line, note` where nothing can fail the
 * COPY: a line PostgreSQL cannot hold as text (bad UTF-8, a NUL byte) is made storable and noted
 * as a reject.
 */
export type StageFormat = 'jsonb' | 'text';

const FLUSH_AT = 512 * 1024;
const NL = 0x0a;
const TAB = 0x09;
const CR = 0x0d;
const BACKSLASH = 0x5c;

/**
 * The COPY text-format rows of a group of gzip JSON Lines batches, streamed: one file chunk at a
 * time, so memory stays flat whatever the batch size. Lines keep their numbers in the file;
 * blank lines are counted but not sent. `sent` receives how many rows each batch sent; `scan`
 * reads the structure of each row sent.
 */
export function copyRows(files: readonly StageFile[], format: StageFormat, sent?: Map<number, number>, scan?: StructureScanner): AsyncGenerator<Buffer> {
  const out = new RowWriter(format);
  return fileRows(
    files,
    out,
    (f, n, line) => {
      if (!out.line(f.b, n, line)) return false;
      scan?.line(f.b, n, line);
      return true;
    },
    sent,
  );
}

/** A batch for a COPY straight into the raw table: its partition hour as timestamp text. */
export interface RawFile extends StageFile {
  partition: string;
}

/**
 * The COPY text-format rows of the raw table itself (`data`, `_sluice_partition`, `_sluice_batch`,
 * `_sluice_loaded_at`, then the key columns), the keys read by the scan. It stops at the first
 * line the scan cannot key (`stop.reason` says why), and the load then takes the group through
 * its stage instead.
 */
export function copyRawRows(
  files: readonly RawFile[],
  scan: StructureScanner,
  loadedAt: string,
  sent: Map<number, number>,
  stop: { reason?: string },
): AsyncGenerator<Buffer> {
  const out = new RowWriter('jsonb');
  const keys = scan.keyCount;
  const columns = new Map(files.map((f) => [f, Buffer.from(`\t${copyText(f.partition)}\t${copyText(f.key)}\t${copyText(loadedAt)}`)]));
  return fileRows(
    files,
    out,
    (f, n, line) => {
      if (isBlank(line)) return false;
      scan.line(f.b, n, line);
      if (out.keyedRow(line, columns.get(f)!, scan, keys)) return true;
      stop.reason = scan.declined ?? `line ${n} of ${f.key} has no plain key`;
      return 'stop';
    },
    sent,
  );
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

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped. */
const copyText = (value: string): string => (/[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value);
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

class RowWriter {
  readonly #format: StageFormat;
  #buf = Buffer.allocUnsafe(FLUSH_AT * 2);
  #pos = 0;

  constructor(format: StageFormat) {
    this.#format = format;
  }

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

  /** Writes a line's row; false for a blank line, which has none. */
  line(b: number, n: number, raw: Buffer): boolean {
    if (isBlank(raw)) return false;
    let line = raw;
    let note: string | undefined;
    if (this.#format === 'text') {
      if (!isUtf8(line)) {
        note = REJECT.notUtf8;
        line = Buffer.from(line.toString('utf8'));
      }
      if (line.includes(0)) {
        note ??= REJECT.notObject; // a raw control character is never valid JSON
        line = Buffer.from(line.toString('utf8').replaceAll('\0', '\uFFFD'));
      }
    }
    this.#ensure(line.length * 2 + 64);
    this.#pos += this.#buf.write(`${b}\t${n}\t`, this.#pos, 'latin1');
    this.#escaped(line);
    if (this.#format === 'text') this.#pos += this.#buf.write(note === undefined ? '\t\\N' : `\t${note}`, this.#pos, 'utf8');
    this.#buf[this.#pos++] = NL;
    return true;
  }

  /**
   * Writes a raw table's row: the line, the batch's columns (in COPY's text format), then the
   * scan's key texts, copied from the line. False, with nothing written, when a key cannot be read.
   */
  keyedRow(line: Buffer, batch: Buffer, scan: StructureScanner, keys: number): boolean {
    const start = this.#pos;
    this.#ensure(line.length * 3 + batch.length + keys + 8);
    this.#escaped(line);
    this.#pos += batch.copy(this.#buf, this.#pos);
    for (let k = 0; k < keys; k++) {
      const text = scan.keyText(line, k);
      if (text === false) {
        this.#pos = start;
        return false;
      }
      this.#buf[this.#pos++] = TAB;
      if (text === true) this.#pos += line.copy(this.#buf, this.#pos, scan.keyFrom, scan.keyTo);
      else {
        this.#ensure(text.length * 6);
        this.#pos += this.#buf.write(copyText(text), this.#pos, 'utf8');
      }
    }
    this.#buf[this.#pos++] = NL;
    return true;
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
