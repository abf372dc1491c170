import * as z from 'zod';
import { secret } from '../../config/schema.js';
import type { WarehouseCapabilities } from '../../core/warehouse.js';

/** PostgreSQL: the URL holds the password, so it is a Secret as a whole. */
export const postgresConfigSchema = z.strictObject({
  type: z.literal('postgres'),
  url: secret,
});

export type PostgresConfig = z.infer<typeof postgresConfigSchema>;

/** Batches stream from their gzip files through COPY, so the pipeline hands PostgreSQL local files. */
export const POSTGRES_CAPABILITIES: WarehouseCapabilities = { readsFrom: 'local-file', groupBytes: 5 * 1024 * 1024, groupBatches: 64 };
