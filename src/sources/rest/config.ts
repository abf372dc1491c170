import * as z from 'zod';
import { identifier, secret, sourceBase } from '../../config/schema.js';
import { schemaContractSchema } from '../../config/schema-contract.js';

/** A field of a JSON response: a name, or a dotted path such as `meta.next_cursor`. */
const fieldPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a field name or a dotted path such as data.items');
const param = z.string().min(1);
/** How far behind the checkpoint to re-read: a number (seconds for timestamps), or `30m`, `6h`, `1d`. */
const lookback = z.union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'expected a number, or a duration such as 30m, 6h or 1d')]);

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: secret }),
  z.strictObject({ type: z.literal('bearer'), token: secret }),
  z.strictObject({ type: z.literal('api_key'), name: param, value: secret, in: z.enum(['header', 'query']).default('header') }),
  z.strictObject({
    type: z.literal('login'),
    /** POSTed with `body` as JSON: appended to base_url like a stream path, or a full URL. */
    path: z.string().min(1),
    body: z.record(z.string(), z.union([secret, z.number(), z.boolean()])),
    token_field: fieldPath,
    /** A header that takes the bare token; default `Authorization: Bearer <token>`. */
    header: param.optional(),
    /** Seconds the token lives; default `expires_in` when the response has it. */
    expires_in_field: fieldPath.optional(),
  }),
]);

const paginateSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('offset'),
    limit_param: param.default('limit'),
    offset_param: param.default('offset'),
    page_size: z.int().min(1),
    total_path: fieldPath.optional(),
  }),
  z.strictObject({
    type: z.literal('page'),
    page_param: param.default('page'),
    size_param: param.optional(),
    page_size: z.int().min(1),
    start: z.int().min(0).default(1),
  }),
  z.strictObject({ type: z.literal('cursor'), cursor_path: fieldPath, cursor_param: param }),
  z.strictObject({ type: z.literal('link_header') }),
]);

const streamSchema = z.strictObject({
  name: identifier,
  path: z.string().min(1),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
  /** Where the array of records sits in the response; the root by default. */
  records_path: fieldPath.optional(),
  primary_key: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((k) => (typeof k === 'string' ? [k] : k)),
  mode: z.enum(['full', 'incremental']).default('full'),
  cursor: z.strictObject({ field: fieldPath, param, lookback: lookback.optional() }).optional(),
  paginate: paginateSchema.default({ type: 'none' }),
  /** Another stream of this source: this one is fetched once per record of it, `{field}` filled from it. */
  parent: identifier.optional(),
  /** DESIGN §9: this stream's schema contract, over the source's `schema:`. */
  schema: schemaContractSchema.optional(),
});

const PLACEHOLDER = /\{([^{}]+)\}/g;

/** The `{field}` names a child stream fills from its parent record (in the path and the params). */
export function placeholders(stream: Pick<RestStreamConfig, 'path' | 'params'>): string[] {
  const texts = [stream.path, ...Object.values(stream.params)];
  return [...new Set(texts.flatMap((t) => [...t.matchAll(PLACEHOLDER)].map((m) => m[1] as string)))];
}

export const restConfigSchema = z
  .strictObject({
    ...sourceBase,
    type: z.literal('rest'),
    base_url: z.url(),
    auth: authSchema.default({ type: 'none' }),
    /** Sent with every request (not secret: put credentials under auth). */
    headers: z.record(z.string(), z.string()).default({}),
    streams: z.array(streamSchema).min(1),
  })
  .superRefine((config, ctx) => {
    const byName = new Map(config.streams.map((s) => [s.name, s]));
    const names = config.streams.map((s) => s.name).join(', ');
    for (const [i, s] of config.streams.entries()) {
      const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: ['streams', i, key], message });
      if (config.streams.findIndex((o) => o.name === s.name) !== i) issue('name', `"${s.name}" is declared twice in this source`);
      if (!s.parent) {
        if (s.mode === 'full' && s.cursor) issue('cursor', 'applies to mode: incremental only (a full stream reads everything each run)');
        if (placeholders(s).length) issue('path', '{field} placeholders need a parent stream to fill them (add parent: <stream>)');
        if (s.mode === 'incremental' && !s.cursor) issue('cursor', 'required for mode: incremental: { field: <record field>, param: <query parameter> }');
        continue;
      }
      const parent = byName.get(s.parent);
      if (!parent || parent === s) {
        issue('parent', parent ? 'a stream cannot be its own parent' : `no stream named "${s.parent}" in this source (its streams: ${names})`);
        continue;
      }
      if (parent.parent) issue('parent', `"${s.parent}" is itself a child stream; a parent must be a top-level stream`);
      if (s.cursor) issue('cursor', 'a child stream has no cursor of its own: it is fetched for the parent records that each run reads');
      if (parent.mode === 'incremental' && s.mode === 'full') {
        issue('mode', `must be incremental: its parent "${s.parent}" is incremental, so a run reads only the parents that changed`);
      }
      if (!placeholders(s).length) issue('path', 'a child stream needs a {field} of its parent record in its path or params, e.g. /sessions/{id}/scores');
    }
  });

export type RestConfig = z.infer<typeof restConfigSchema>;
export type RestStreamConfig = RestConfig['streams'][number];
export type AuthConfig = RestConfig['auth'];
export type PaginateConfig = RestStreamConfig['paginate'];
export type CursorConfig = NonNullable<RestStreamConfig['cursor']>;
