import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import fs from 'node:fs';
import { gunzipChunks, LineSplitter, unreadableBatch } from '../lines.js';
import { REJECT } from '../reject-reasons.js';
import { MAX_LINE } from './load-sql.js';

export interface Note {
  lineNo: number;
  reason: string;
  /** The line as it was (bad bytes shown as U+FFFD), for `_rejects`. */
  line: string;
}

const CR = 0x0d;

/**
 * DuckDB's line reader stops at bytes that are not UTF-8, at a CR inside a line and at a line
 * longer than its buffer. For a batch that holds them, this writes a plain copy with the same
 * lines in the same places, where such a line is made readable: a CR becomes a space (the same
 * JSON when it stood between tokens), bad bytes become U+FFFD, and a line too long to read becomes
 * `null` (its text is kept in the note). The lines that are rejects for it are returned as notes.
 */
export async function sanitizeBatch(key: string, src: string, dest: string): Promise<Note[]> {
  const notes: Note[] = [];
  const out = fs.createWriteStream(dest);
  const closed = once(out, 'close');
  const lines = new LineSplitter();
  let parts: Buffer[] = [];
  const onLine = (n: number, raw: Buffer) => {
    if (raw.length > LONGEST) {
      notes.push({ lineNo: n, reason: REJECT.tooLong(MAX_LINE), line: raw.toString('utf8') });
      parts.push(PLACEHOLDER, NEWLINE);
      return;
    }
    if (isUtf8(raw) && !raw.includes(CR)) {
      parts.push(raw, NEWLINE);
      return;
    }
    const text = raw.toString('utf8');
    let reason: string | undefined;
    if (!isUtf8(raw)) reason = REJECT.notUtf8;
    else if (!parses(text)) reason = REJECT.notObject;
    if (reason) notes.push({ lineNo: n, reason, line: text });
    parts.push(Buffer.from(text.replaceAll('\r', ' ')), NEWLINE);
  };
  const flush = async () => {
    if (parts.length === 0) return;
    const ok = out.write(Buffer.concat(parts));
    parts = [];
    if (!ok) await once(out, 'drain');
  };
  try {
    for await (const chunk of gunzipChunks(src)) {
      lines.push(chunk, onLine);
      await flush();
    }
    lines.end(onLine);
    await flush();
  } catch (error) {
    out.destroy();
    throw unreadableBatch(key, error);
  } finally {
    out.end();
    await closed;
  }
  return notes;
}

const NEWLINE = Buffer.from('\n');
/** A line and its newline must fit DuckDB's read buffer, with room to spare. */
const LONGEST = MAX_LINE - 1024;
/** Stands in for a line too long to read: not blank, not an object, so the note's reason applies. */
const PLACEHOLDER = Buffer.from('null');

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
