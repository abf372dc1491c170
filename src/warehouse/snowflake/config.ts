import * as z from 'zod';
import { secret } from '../../config/schema.js';
import type { WarehouseCapabilities } from '../../core/warehouse.js';

/** Snowflake loads batches from an external stage over the storage bucket (DESIGN §3, §7). */
export const snowflakeConfigSchema = z
  .strictObject({
    type: z.literal('snowflake'),
    account: z.string().min(1),
    user: z.string().min(1),
    password: secret.optional(),
    /** PEM text of an unencrypted PKCS#8 private key (key-pair authentication). */
    private_key: secret.optional(),
    database: z.string().min(1),
    /** Where the stage and file format live; raw tables go to RAW and the ledger to SLUICE. */
    schema: z.string().min(1).default('sluice'),
    warehouse: z.string().min(1),
    role: z.string().min(1).optional(),
    stage: z.string().min(1).default('sluice_stage'),
  })
  .refine((s) => (s.password === undefined) !== (s.private_key === undefined), {
    message: 'set exactly one of password or private_key',
    path: ['password'],
  });

export type SnowflakeWarehouseConfig = z.infer<typeof snowflakeConfigSchema>;

/** What the stage needs of the storage settings: Snowflake reads the batches in an S3 bucket. */
export const stageStorageSchema = z.looseObject({
  type: z.literal('s3', { error: 'Snowflake loads from an external stage over S3, and storage.type is not s3' }),
  bucket: z.string(),
  prefix: z.string().default(''),
  sse: z.enum(['AES256', 'aws:kms']).optional(),
  kms_key_id: z.string().optional(),
});

/** Snowflake reads batches from its stage over the storage bucket: the pipeline copies nothing. */
export const SNOWFLAKE_CAPABILITIES: WarehouseCapabilities = { readsFrom: 'storage', groupBytes: 5 * 1024 * 1024, groupBatches: 64 };
