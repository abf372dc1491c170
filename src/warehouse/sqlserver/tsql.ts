import { rawTableName } from '../../core/tables.js';
import type { TableSpec } from '../../core/warehouse.js';

/** T-SQL text. A name in brackets, `]` doubled: `[it]]s]`. */
export const qid = (name: string): string => `[${name.replace(/]/g, ']]')}]`;

/** A Unicode string literal, `'` doubled: N'it''s'. Without the N, characters outside the code page are lost. */
export const nstr = (value: string): string => `N'${value.replace(/'/g, "''")}'`;

/**
 * Keys and storage keys compare byte for byte (code point order), as in every other warehouse:
 * the database's default collation is usually case-insensitive, which would make `abc` and `ABC`
 * one key.
 */
export const BIN2 = 'Latin1_General_100_BIN2';

/** Index keys hold at most 900 bytes: 450 UTF-16 code units. */
export const KEY_CHARS = 450;

export const rawTable = (t: TableSpec): string => `[raw].${qid(rawTableName(t.source, t.stream))}`;

export const LOADS = '[sluice].[_loads]';
export const REJECTS = '[sluice].[_rejects]';

/** A JSON path to a top-level field, quoted so that any name works: `$."user id"`. */
export const jsonPath = (fields: readonly string[]): string => `$${fields.map((f) => `.${JSON.stringify(f)}`).join('')}`;

/** ISO 8601 text of an epoch ms, read the same whatever the session's language and date format. */
export const datetime2 = (ms: number): string => `CAST('${new Date(ms).toISOString().slice(0, 19)}' AS DATETIME2(0))`;

/** `items` in slices of at most `size` (a VALUES list holds at most 1,000 rows). */
export function slices<T>(items: readonly T[], size = 1000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
