import * as z from 'zod';
import { secret } from '../../config/schema.js';
import type { WarehouseCapabilities } from '../../core/warehouse.js';
import { resolveTarget } from './target.js';

/**
 * SQL Server: `url: mssql://user:password@host:1433/database?encrypt=true&trustServerCertificate=false`
 * (a Secret as a whole), or the same as separate keys. Parsed here, so a wrong URL stops the
 * command before any work, and the password is a Secret in every spelling.
 */
export const sqlserverConfigSchema = z
  .strictObject({
    type: z.literal('sqlserver'),
    url: secret.optional(),
    host: z.string().min(1).optional(),
    port: z.int().min(1).max(65535).optional(),
    database: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    password: secret.optional(),
    encrypt: z.boolean().optional(),
    trust_server_certificate: z.boolean().optional(),
  })
  .transform((settings, ctx) => {
    const resolved = resolveTarget(settings);
    if ('target' in resolved) return resolved.target;
    for (const issue of resolved.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [issue.key] });
    return z.NEVER;
  });

export type SqlServerConfig = z.infer<typeof sqlserverConfigSchema>;

/** Batches stream from their gzip files through TDS bulk load, so the pipeline hands SQL Server local files. */
export const SQLSERVER_CAPABILITIES: WarehouseCapabilities = { readsFrom: 'local-file', groupBytes: 5 * 1024 * 1024, groupBatches: 64 };
