import type { JsonValue } from '../../core/source.js';
import { placeholders, type RestStreamConfig } from './config.js';
import type { CursorValue } from './cursor.js';
import type { RawRecord } from './paginate.js';
import type { ParentRow, ParentRows } from './parent-rows.js';
import { prependField, rawAt, splitPath, valueAt } from './raw-json.js';

export type { ParentRow } from './parent-rows.js';

/** The parent records one run read, and the checkpoint range they cover. */
export interface ParentRun {
  /** The parent's checkpoint when the run started (incremental parents). */
  start: CursorValue | undefined;
  /** Where the parent's next run starts: what its children's checkpoint becomes. */
  end: CursorValue | undefined;
  rows: ParentRows;
  /** The parent stream failed in this run: `rows` holds what was read before. */
  failed: boolean;
}

export const parentKeyColumn = (field: string): string => `_parent_${field}`;

/** Keeps of a parent record only what its child streams use, so memory stays small. */
export function parentRow(record: RawRecord, parent: RestStreamConfig, children: readonly RestStreamConfig[]): ParentRow {
  const vars: ParentRow['vars'] = {};
  for (const name of new Set(children.flatMap(placeholders))) {
    const v = valueAt(record.value, splitPath(name));
    vars[name] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  }
  const key = parent.primary_key.map((f): [string, string] => [f, rawAt(record.line, [f]) ?? 'null']);
  return { vars, key };
}

/** A parent record named for messages: `id=42`. */
export const describeParent = (row: ParentRow): string => row.key.map(([f, v]) => `${f}=${v}`).join(',');

/**
 * A child record carrying its parent's key as `_parent_<field>` in front; the rest of its text is
 * kept byte for byte. A child that already has such a field is re-serialised with ours in its place.
 */
export function withParentKey(record: RawRecord, row: ParentRow): string {
  const v = record.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return record.line; // not an object: rejected at load, visibly
  if (row.key.some(([f]) => Object.hasOwn(v, parentKeyColumn(f)))) {
    const own = Object.fromEntries(row.key.map(([f, text]) => [parentKeyColumn(f), JSON.parse(text) as JsonValue]));
    return JSON.stringify({ ...own, ...Object.fromEntries(Object.entries(v).filter(([k]) => !(k in own))) });
  }
  let line = record.line;
  for (const [f, text] of [...row.key].reverse()) line = prependField(line, parentKeyColumn(f), text);
  return line;
}
