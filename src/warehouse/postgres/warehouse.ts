import type pg from 'pg';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SqlTarget } from '../../core/sql-target.js';
import type { BatchToLoad, LedgerEntry, LoadResult, SameContent, TableSpec, TableStats, Warehouse } from '../../core/warehouse.js';
import { describeGroup } from '../ledger-rules.js';
import { POSTGRES_CAPABILITIES, type PostgresConfig } from './config.js';
import { PgSession, parseTarget } from './connection.js';
import { type LoadHints, loadGroup, lockKey } from './load-group.js';
import { RECORD_VERSIONS_SQL, rawTable, SETUP_IF_MISSING, SETUP_MISSING_SQL, SETUP_SQL } from './load-sql.js';
import { readPgSchema, readPgSchemaChanges, readPgTimeFields, SCHEMA_SETUP_SQL } from './schema-sql.js';
import { PostgresSqlTarget } from './sql-target.js';

/**
 * PostgreSQL: `raw.<source>_<stream>` with `data jsonb`. Batches stream from their gzip files
 * through `COPY … FROM STDIN` inside the load's transaction: straight into the table for a group of
 * new keys, else into an unlogged stage merged with one insert (load-group.ts).
 */
export class PostgresWarehouse implements Warehouse {
  readonly type = 'postgres';
  readonly capabilities = POSTGRES_CAPABILITIES;
  readonly #session: PgSession;
  readonly #targets = new Set<SqlTarget>();
  readonly #log: Logger;
  readonly #hints: LoadHints = { conflicted: new Set() };

  private constructor(session: PgSession, log: Logger) {
    this.#session = session;
    this.#log = log;
  }

  static async open(config: PostgresConfig, log: Logger): Promise<PostgresWarehouse> {
    const session = new PgSession(parseTarget(config.url), log);
    await session.connect();
    try {
      await session.run('setup', setup);
    } catch (error) {
      await session.close();
      throw wrap(error, 'preparing the sluice and raw schemas');
    }
    return new PostgresWarehouse(session, log);
  }

  async ledger(source: string, stream: string): Promise<Map<string, LedgerEntry>> {
    const result = await this.#session.run('reading the ledger', (c) =>
      c.query<{ batch_key: string; version: string | null; size: string | null; checksum: string | null }>(
        'SELECT batch_key, version, size, checksum FROM sluice._loads WHERE source = $1 AND stream = $2',
        [source, stream],
      ),
    );
    return new Map(
      result.rows.map((r) => [r.batch_key, { key: r.batch_key, version: r.version ?? '', size: Number(r.size ?? 0), checksum: r.checksum ?? undefined }]),
    );
  }

  async recordVersions(source: string, stream: string, batches: readonly SameContent[]): Promise<void> {
    if (batches.length === 0) return;
    try {
      await this.#session.run('recording batch versions', (c) =>
        c.query(RECORD_VERSIONS_SQL, [source, stream, batches.map((b) => b.key), batches.map((b) => b.version), batches.map((b) => b.checksum)]),
      );
    } catch (error) {
      throw wrap(error, 'recording the versions of unchanged batches in sluice._loads');
    }
  }

  async load(t: TableSpec, batches: readonly BatchToLoad[], runId: string): Promise<LoadResult[]> {
    if (batches.length === 0) return [];
    try {
      return await this.#session.run('a load', (c) => loadGroup(c, t, batches, { runId, log: this.#log, hints: this.#hints }));
    } catch (error) {
      const group = describeGroup(batches);
      throw wrap(error, `loading ${group.name} into ${rawTable(t)}`, group.context);
    }
  }

  async stats(t: TableSpec): Promise<TableStats> {
    return this.#session.run('reading stats', async (c) => {
      const exists = await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [rawTable(t)]);
      const rows = exists.rows[0]?.ok ? Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${rawTable(t)}`)).rows[0]?.n ?? 0) : 0;
      const ledger = await c.query<{ batches: string; rejected: string; last: Date | null }>(
        'SELECT count(*) AS batches, coalesce(sum(rejected), 0) AS rejected, max(loaded_at) AS last FROM sluice._loads WHERE source = $1 AND stream = $2',
        [t.source, t.stream],
      );
      const l = ledger.rows[0];
      return { rows, batches: Number(l?.batches ?? 0), rejected: Number(l?.rejected ?? 0), lastLoadedAt: l?.last ? l.last.toISOString() : undefined };
    });
  }

  /** Models build over a small pool of connections to the same server, as the same user. */
  async sqlTarget(): Promise<SqlTarget> {
    const target = await PostgresSqlTarget.open(this.#session.target, (closed) => this.#targets.delete(closed));
    this.#targets.add(target);
    return target;
  }

  schema(source: string, stream: string) {
    return this.#session.run('reading the schema', (c) => readPgSchema(c, source, stream));
  }

  schemaChanges(source: string, stream: string, limit?: number) {
    return this.#session.run('reading the schema changes', (c) => readPgSchemaChanges(c, source, stream, limit));
  }

  timeFields(t: TableSpec, names: readonly string[]) {
    return this.#session.run('reading time fields', async (c) => {
      const exists = await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [rawTable(t)]);
      return exists.rows[0]?.ok ? readPgTimeFields(c, rawTable(t), names) : new Map<string, { iso: boolean; offsets: boolean }>();
    });
  }

  async close(): Promise<void> {
    for (const target of [...this.#targets]) await target.close();
    await this.#session.close();
  }
}

/** Schemas, ledger tables and their indexes, created on first use; a lock keeps two first runs from racing. */
async function setup(c: pg.Client): Promise<void> {
  await c.query('BEGIN');
  try {
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey('setup')]);
    for (const sql of [...SETUP_SQL, ...SCHEMA_SETUP_SQL]) await c.query(sql);
    const missing = (await c.query<Record<keyof typeof SETUP_IF_MISSING, boolean>>(SETUP_MISSING_SQL)).rows[0];
    for (const [what, sql] of Object.entries(SETUP_IF_MISSING)) if (missing?.[what as keyof typeof SETUP_IF_MISSING] !== false) await c.query(sql);
    await c.query('COMMIT');
  } catch (error) {
    await c.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Third-party errors are wrapped once, here; a SluiceError passes through with its own words. */
function wrap(error: unknown, doing: string, context: Record<string, unknown> = {}): SluiceError {
  if (error instanceof SluiceError) {
    Object.assign(error.context, { ...context, ...error.context });
    return error;
  }
  const e = error as { code?: string; message?: string };
  const message = `${doing} failed: ${(e.message ?? String(error)).split('\n')[0]}`;
  if (e.code === '42501') {
    return new SluiceError('warehouse_unreachable', message, {
      hint: 'the user in warehouse.url needs CREATE on the database and on the raw and sluice schemas',
      cause: error,
    });
  }
  const data = typeof e.code === 'string' && (e.code.startsWith('22') || e.code.startsWith('23'));
  return new SluiceError(data ? 'data' : 'internal', message, { retryable: !data, context, cause: error });
}
