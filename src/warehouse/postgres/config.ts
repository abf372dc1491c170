import { z } from 'zod';
import { secret } from '../../config/schema.js';

/** PostgreSQL: the URL holds the password, so it is a Secret as a whole. */
export const postgresConfigSchema = z.strictObject({
  type: z.literal('postgres'),
  url: secret,
});

export type PostgresConfig = z.infer<typeof postgresConfigSchema>;
