import * as z from 'zod';
import { secret } from '../../config/schema.js';

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
