import * as z from 'zod';
import { DEFAULT_CONTRACT, type SchemaContract } from '../core/schema.js';

const rule = z.enum(['evolve', 'freeze']);

/**
 * DESIGN §9: a stream's schema contract. `evolve` (the default) records drift and loads it;
 * `freeze` sends the lines that bring it to `sluice._rejects`. Set on a source (for all its
 * streams) or on a REST stream (over the source's keys).
 */
export const schemaContractSchema = z.strictObject({
  new_fields: rule.optional(),
  type_changes: rule.optional(),
  /** Levels of nested objects whose fields are tracked (a deeper field counts as its ancestor, an object). */
  max_depth: z.int().min(1).max(10).optional(),
  /** false: learn nothing and enforce nothing (the load skips the work). */
  track: z.boolean().optional(),
});

export type SchemaContractConfig = z.infer<typeof schemaContractSchema>;

/** The contract of a stream: the defaults, then the source's keys, then the stream's. */
export function contractOf(...layers: Array<SchemaContractConfig | undefined>): SchemaContract {
  const c = { ...DEFAULT_CONTRACT };
  for (const l of layers) {
    if (!l) continue;
    if (l.new_fields) c.newFields = l.new_fields;
    if (l.type_changes) c.typeChanges = l.type_changes;
    if (l.max_depth !== undefined) c.maxDepth = l.max_depth;
    if (l.track !== undefined) c.track = l.track;
  }
  return c;
}
