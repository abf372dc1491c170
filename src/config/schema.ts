import { z } from 'zod';
import { Secret } from '../core/redact.js';

/** A secret setting: a string in YAML, a self-redacting Secret once parsed. */
export const secret = z.string().transform((value) => new Secret(value));

export const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected lower-case letters, digits and _ (it becomes part of table names)');

export const localStorageSchema = z.strictObject({
  type: z.literal('local'),
  path: z.string().min(1).default('./lake'),
});

export const duckdbWarehouseSchema = z.strictObject({
  type: z.literal('duckdb'),
  path: z.string().min(1).default('./warehouse.duckdb'),
});

/** Settings every source accepts; a plug-in's schema extends these. */
export const sourceBase = {
  name: identifier,
  type: z.string(),
  base_url: z.url().optional(),
  concurrency: z.int().min(1).max(64).optional(),
  schedule: z.string().optional(),
  timeout_seconds: z.number().positive().default(30),
  max_retries: z.int().min(0).max(20).default(5),
  /** The first backoff step; tests and impatient users can lower it. */
  retry_base_ms: z.int().min(1).default(500),
};

/** A source entry before its plug-in checks its own keys. */
export const sourceEntrySchema = z.looseObject({ name: identifier, type: z.string() });

export const configSchema = z.strictObject({
  state_dir: z.string().min(1).default('.sluice'),
  storage: z.discriminatedUnion('type', [localStorageSchema]).default({ type: 'local', path: './lake' }),
  warehouse: z.discriminatedUnion('type', [duckdbWarehouseSchema]).default({ type: 'duckdb', path: './warehouse.duckdb' }),
  sources: z.array(sourceEntrySchema).default([]),
  transform: z.strictObject({ models: z.string().default('./models') }).default({ models: './models' }),
  envs: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export type StorageConfig = z.infer<typeof configSchema>['storage'];
export type WarehouseConfig = z.infer<typeof configSchema>['warehouse'];
export type SourceEntry = z.infer<typeof sourceEntrySchema>;
