import { isUtf8 } from 'node:buffer';
import { isBlank } from '../../core/gzip-lines.js';
import { gunzipChunks, LineSplitter, unreadableBatch } from '../lines.js';
import { REJECT } from '../reject-reasons.js';
import type { BulkColumn, TdsExec } from './exec.js';

export interface LinesFile {
  /** The batch's number within its group. */
  b: number;
  key: string;
  file: string;
}

export const LINE_COLUMNS: readonly BulkColumn[] = [
  { name: 'b', type: 'int', nullable: false },
  { name: 'n', type: 'bigint', nullable: false },
  { name: 'line', type: 'nvarchar', nullable: false },
  { name: 'note', type: 'nvarchar', length: 400, nullable: true },
];

/** A bulk load per this many rows or characters: memory stays flat whatever the batch size. */
const CHUNK_ROWS = 5_000;
const CHUNK_CHARS = 4 * 1024 * 1024;
const SLICE = 64 * 1024;

const OPEN_BRACE = 0x7b;
const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Streams the group's lines into `table` through TDS bulk load, never one INSERT per row. Each
 * line keeps its number in its file; blank lines are counted but not sent. What can be told from
 * the bytes alone is noted here (not UTF-8; not starting with `{`, so no object); SQL Server
 * judges the rest.
 */
export async function bulkLines(tx: TdsExec, table: string, files: readonly LinesFile[]): Promise<void> {
  let rows: unknown[][] = [];
  let chars = 0;
  const flush = async () => {
    const sending = rows;
    rows = [];
    chars = 0;
    for (let i = 0; i < sending.length; i += CHUNK_ROWS) await tx.bulk(table, LINE_COLUMNS, sending.slice(i, i + CHUNK_ROWS));
  };
  for (const f of files) {
    const lines = new LineSplitter();
    const onLine = (n: number, raw: Buffer) => {
      const row = lineRow(f.b, n, raw);
      if (!row) return;
      rows.push(row);
      chars += (row[2] as string).length;
    };
    const chunks = gunzipChunks(f.file);
    try {
      for (;;) {
        // Only a read or gunzip error says the file is damaged; a bulk load error is the server's.
        const next = await chunks.next().catch((error: unknown) => {
          throw unreadableBatch(f.key, error);
        });
        if (next.done) break;
        // A small file comes decompressed whole: split it, so that rows are sent as they pile up.
        for (let at = 0; at < next.value.length; at += SLICE) {
          lines.push(next.value.subarray(at, at + SLICE), onLine);
          if (rows.length >= CHUNK_ROWS || chars >= CHUNK_CHARS) await flush();
        }
      }
    } finally {
      await chunks.return(undefined).catch(() => {});
    }
    lines.end(onLine);
  }
  await flush();
}

/** `[b, n, line, note]`, or undefined for a blank line. */
export function lineRow(b: number, n: number, raw: Buffer): unknown[] | undefined {
  if (isBlank(raw)) return undefined;
  if (!isUtf8(raw)) return [b, n, raw.toString('utf8'), REJECT.notUtf8];
  let i = 0;
  while (i < raw.length && JSON_SPACE.has(raw[i] as number)) i++;
  return [b, n, raw.toString('utf8'), raw[i] === OPEN_BRACE ? null : REJECT.notObject];
}
