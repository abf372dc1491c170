import * as z from 'zod';
import type { WarehouseCapabilities } from '../../core/warehouse.js';

/**
 * DuckDB's memory cap while loading; `memory_limit` in the config changes it. A load streams, so a
 * small cap holds: what the stage does not fit spills to disk. DuckDB's JSON functions keep working
 * memory of their own: two at once while a group is staged (the cast and the key), and two more
 * for the schema check, which runs beside the insert in two passes. Rows too dense with values for
 * the cap are parsed in narrower passes or with a larger cap for their group (warehouse.ts).
 * Models (joins, aggregates over whole tables) get DuckDB's own default, 80 % of the machine's
 * memory, unless `memory_limit` is set, which then applies to them too.
 */
export const DEFAULT_LOAD_MEMORY_LIMIT = '64MB';

/** A DuckDB size: `64MB`, `1.5GB`, `512MiB` (KB… are powers of 1000, KiB… of 1024). */
const DUCKDB_SIZE = /^(\d+(?:\.\d+)?)\s*([KMGT])(i?)B$/i;

/** A DuckDB size in bytes; undefined for anything else. */
export function sizeInBytes(size: string): number | undefined {
  const m = DUCKDB_SIZE.exec(size.trim());
  if (!m) return undefined;
  const power = 'KMGT'.indexOf((m[2] as string).toUpperCase()) + 1;
  return Number(m[1]) * (m[3] ? 1024 : 1000) ** power;
}

export const duckdbConfigSchema = z.strictObject({
  type: z.literal('duckdb'),
  /** Relative to the config file's folder. */
  path: z.string().min(1).default('./warehouse.duckdb'),
  /** DuckDB's memory cap, e.g. `512MB`, `2GB` (default: 64MB for loads, DuckDB's default for models). */
  memory_limit: z.string().regex(DUCKDB_SIZE, 'a size such as 256MB or 2GB').optional(),
});

export type DuckdbConfig = z.infer<typeof duckdbConfigSchema>;

/**
 * DuckDB reads each batch file itself, so the pipeline hands it local files. A group is about 8×
 * its compressed size as JSON while it is checked: what of a 5 MB group does not fit under the cap
 * (64MB) beside the read buffer spills to disk, which costs less than more, smaller transactions.
 */
export const DUCKDB_CAPABILITIES: WarehouseCapabilities = { readsFrom: 'local-file', groupBytes: 5 * 1024 * 1024, groupBatches: 64 };
