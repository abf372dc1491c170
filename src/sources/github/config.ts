import * as z from 'zod';
import { secret, sourceBase } from '../../config/schema.js';

const repoName = z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name');
const login = z.string().regex(/^[\w.-]+$/, 'expected a login');

export const githubConfigSchema = z
  .strictObject({
    ...sourceBase,
    type: z.literal('github'),
    repos: z.array(repoName).default([]),
    orgs: z.array(login).default([]),
    users: z.array(login).default([]),
    token: secret.optional(),
    /** Re-read this margin of `created_at` behind the checkpoint: GitHub adds events up to 6 h late. */
    lookback_hours: z.number().min(0).max(720).default(6),
    per_page: z.int().min(1).max(100).default(100),
    /** Seconds we are willing to wait for an exhausted rate limit to reset. */
    rate_limit_max_wait: z.number().min(0).default(300),
  })
  .refine((c) => c.repos.length + c.orgs.length + c.users.length > 0, {
    path: ['repos'],
    message: 'required: list owner/name repositories (or give orgs or users)',
  });

export type GithubConfig = z.infer<typeof githubConfigSchema>;
