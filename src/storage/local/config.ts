import * as z from 'zod';

export const localConfigSchema = z.strictObject({
  type: z.literal('local'),
  /** Relative to the config file's folder. */
  path: z.string().min(1).default('./lake'),
});

export type LocalConfig = z.infer<typeof localConfigSchema>;
