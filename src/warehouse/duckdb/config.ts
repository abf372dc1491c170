import { z } from 'zod';
import type { WarehouseCapabilities } from '../../core/warehouse.js';

/**
 * DuckDB's memory cap while loading; `memory_limit` in the config changes it. A load streams, so a
 * small cap holds; but DuckDB's JSON functions each keep working memory of their own while a group
 * is staged (the cast, the key, and the schema's fingerprint: four at once), which 64MB could not
 * hold beside the stage for records of ~1 KB with a few dozen fields. Models (joins, aggregates over whole tables) get DuckDB's own default, 80 % of
 * the machine's memory, unless `memory_limit` is set, which then applies to them too.
 */
export const DEFAULT_LOAD_MEMORY_LIMIT = '96MB';

export const duckdbConfigSchema = z.strictObject({
  type: z.literal('duckdb'),
  /** Relative to the config file's folder. */
  path: z.string().min(1).default('./warehouse.duckdb'),
  /** DuckDB's memory cap, e.g. `512MB`, `2GB` (default: 96MB for loads, DuckDB's default for models). */
  memory_limit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 256MB or 2GB')
    .optional(),
});

export type DuckdbConfig = z.infer<typeof duckdbConfigSchema>;

/**
 * DuckDB reads each batch file itself, so the pipeline hands it local files. A group is about 8×
 * its compressed size as JSON while it is checked, beside the read buffer, all under the memory
 * cap (96MB): 5 MB groups fit without spilling.
 */
export const DUCKDB_CAPABILITIES: WarehouseCapabilities = { readsFrom: 'local-file', groupBytes: 5 * 1024 * 1024, groupBatches: 64 };
