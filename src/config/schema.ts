import { z } from 'zod';
import { Secret } from '../core/redact.js';
import { schemaContractSchema } from './schema-contract.js';

/** A secret setting: a string in YAML, a self-redacting Secret once parsed. */
export const secret = z.string().transform((value) => new Secret(value));

export const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected lower-case letters, digits and _ (it becomes part of table names)');

export const localStorageSchema = z.strictObject({
  type: z.literal('local'),
  path: z.string().min(1).default('./lake'),
});

/** S3 or any S3-compatible service (DESIGN §5); credentials come from the AWS default chain unless named. */
export const s3StorageSchema = z
  .strictObject({
    type: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lower-case letters, digits, . and -)'),
    /** Every key starts with it; a trailing `/` is added when missing. */
    prefix: z.string().default(''),
    region: z.string().min(1).optional(),
    endpoint: z.url().optional(),
    force_path_style: z.boolean().default(false),
    sse: z.enum(['AES256', 'aws:kms']).optional(),
    kms_key_id: z.string().min(1).optional(),
    access_key_id: secret.optional(),
    secret_access_key: secret.optional(),
    /** Batches uploaded at once by sync. */
    upload_concurrency: z.int().min(1).max(256).default(32),
    /** Files at least this large go up in parts (S3 parts are at least 5 MiB). */
    multipart_threshold_mb: z.int().min(5).max(5120).default(64),
    part_size_mb: z.int().min(5).max(5120).default(16),
  })
  .refine((s) => (s.access_key_id === undefined) === (s.secret_access_key === undefined), {
    message: 'set both access_key_id and secret_access_key, or neither (to use the AWS default credential chain)',
    path: ['secret_access_key'],
  })
  .refine((s) => s.kms_key_id === undefined || s.sse === 'aws:kms', { message: 'kms_key_id needs sse: aws:kms', path: ['kms_key_id'] });

export type S3StorageConfig = z.infer<typeof s3StorageSchema>;

export const duckdbWarehouseSchema = z.strictObject({
  type: z.literal('duckdb'),
  path: z.string().min(1).default('./warehouse.duckdb'),
  /** DuckDB's memory cap while loading, e.g. `512MB`, `2GB` (default 64MB). */
  memory_limit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 256MB or 2GB')
    .optional(),
});

/** PostgreSQL: the URL holds the password, so it is a Secret as a whole. */
export const postgresWarehouseSchema = z.strictObject({
  type: z.literal('postgres'),
  url: secret,
});

/** Snowflake loads batches from an external stage over the storage bucket (DESIGN §3, §7). */
export const snowflakeWarehouseSchema = z
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

/** Settings every source accepts; a plug-in's schema extends these. */
export const sourceBase = {
  name: identifier,
  type: z.string(),
  base_url: z.url().optional(),
  concurrency: z.int().min(1).max(64).optional(),
  schedule: z.string().optional(),
  /** `serve`: build the models after a scheduled run's load (when the models folder exists). */
  schedule_transform: z.boolean().default(true),
  timeout_seconds: z.number().positive().default(30),
  max_retries: z.int().min(0).max(20).default(5),
  /** The first backoff step; tests and impatient users can lower it. */
  retry_base_ms: z.int().min(1).default(500),
  /** DESIGN §9: the schema contract of the source's streams. */
  schema: schemaContractSchema.optional(),
};

/** A source entry before its plug-in checks its own keys. */
export const sourceEntrySchema = z.looseObject({ name: identifier, type: z.string() });

export const configSchema = z.strictObject({
  state_dir: z.string().min(1).default('.sluice'),
  storage: z.discriminatedUnion('type', [localStorageSchema, s3StorageSchema]).default({ type: 'local', path: './lake' }),
  warehouse: z
    .discriminatedUnion('type', [duckdbWarehouseSchema, postgresWarehouseSchema, snowflakeWarehouseSchema])
    .default({ type: 'duckdb', path: './warehouse.duckdb' }),
  sources: z.array(sourceEntrySchema).default([]),
  transform: z.strictObject({ models: z.string().default('./models') }).default({ models: './models' }),
  envs: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export type StorageConfig = z.infer<typeof configSchema>['storage'];
export type WarehouseConfig = z.infer<typeof configSchema>['warehouse'];
export type SourceEntry = z.infer<typeof sourceEntrySchema>;
