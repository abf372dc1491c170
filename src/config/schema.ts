import * as z from 'zod';
import { Secret } from '../core/redact.js';
import { schemaContractSchema } from './schema-contract.js';

/** A secret setting: a string in YAML, a self-redacting Secret once parsed. */
export const secret = z.string().transform((value) => new Secret(value));

export const identifier = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected lower-case letters, digits and _ (it becomes part of table names)');

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

/** A storage or warehouse entry before its plug-in checks its own keys (src/plugins.ts). */
export const pluginEntrySchema = z.looseObject({ type: z.string() });

export const configSchema = z.strictObject({
  state_dir: z.string().min(1).default('.sluice'),
  storage: pluginEntrySchema.default({ type: 'local' }),
  warehouse: pluginEntrySchema.default({ type: 'duckdb' }),
  sources: z.array(sourceEntrySchema).default([]),
  transform: z.strictObject({ models: z.string().default('./models') }).default({ models: './models' }),
  envs: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

export type PluginEntry = z.infer<typeof pluginEntrySchema>;
export type SourceEntry = z.infer<typeof sourceEntrySchema>;
