import * as z from 'zod';
import { secret, sourceBase } from '../../config/schema.js';

export const AMPLITUDE_REGIONS = { us: 'https://amplitude.com', eu: 'https://analytics.eu.amplitude.com' } as const;

export const amplitudeConfigSchema = z.strictObject({
  ...sourceBase,
  type: z.literal('amplitude'),
  region: z.enum(['us', 'eu']).default('us'),
  api_key: secret,
  secret_key: secret,
  /** The window is [now - lookback_days, now - lag_hours] in whole UTC hours. */
  lookback_days: z.number().min(0).max(3650).default(1),
  /** Export data is complete some hours after the hour ends. */
  lag_hours: z
    .int()
    .min(0)
    .max(24 * 30)
    .default(12),
  /** Consecutive missing hours are asked for in ranges of at most this many hours. */
  max_hours_per_request: z
    .int()
    .min(1)
    .max(365 * 24)
    .default(24),
  /** Fetch the newest N hours of the window again even when present (late data). */
  refresh_hours: z.int().min(0).default(0),
  /** Refuse an archive entry that inflates to more than this many bytes (zip bombs). */
  max_entry_bytes: z
    .number()
    .positive()
    .default(16 * 2 ** 30),
  /** …or that inflates more than this many times its compressed size (past the first 64 MiB). */
  max_compression_ratio: z.number().positive().default(200),
});

export type AmplitudeConfig = z.infer<typeof amplitudeConfigSchema>;
