import pg from 'pg';
import type { Relation, RelationKind } from '../../core/sql-target.js';
import { quoteIdent } from '../sql.js';
import { StandardSqlTarget } from '../standard-sql.js';
import { connectError, type PgTarget } from './connection.js';

const CONCURRENCY = 4;
const INT8_OID = 20;

/** Counts (bigint) as plain numbers while they are exact, as text beyond: the same values DuckDB gives. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => (Number.isSafeInteger(Number(value)) ? Number(value) : value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** PostgreSQL has no TRY_CAST: these functions give the casts the models use one (DESIGN: bad rows are excluded, not fatal). */
const SAFE_CASTS: Record<string, string> = {
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  date: 'date',
  bigint: 'bigint',
  integer: 'integer',
  double: 'double precision',
  numeric: 'numeric',
  boolean: 'boolean',
};
const TYPE_ALIASES: Record<string, string> = {
  'timestamp with time zone': 'timestamptz',
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  'double precision': 'double',
  float8: 'double',
  decimal: 'numeric',
  bool: 'boolean',
};

const setupStatements = (): string[] => [
  `SELECT pg_advisory_xact_lock(hashtext('sluice.transform.setup'))`,
  'CREATE SCHEMA IF NOT EXISTS sluice',
  ...Object.entries(SAFE_CASTS).map(
    ([name, type]) =>
      `CREATE OR REPLACE FUNCTION sluice._try_${name}(value text) RETURNS ${type} LANGUAGE plpgsql IMMUTABLE AS $fn$
       BEGIN RETURN value::${type}; EXCEPTION WHEN others THEN RETURN NULL; END $fn$`,
  ),
];

/** The transform's view of PostgreSQL: a small pool over the warehouse's database, for models built in parallel. */
export class PostgresSqlTarget extends StandardSqlTarget {
  readonly dialect = 'postgres';
  readonly concurrency = CONCURRENCY;
  readonly rebuildDropsViews = true;
  readonly #pool: pg.Pool;
  readonly #target: PgTarget;
  readonly #onClose: (target: PostgresSqlTarget) => void;

  private constructor(pool: pg.Pool, target: PgTarget, onClose: (target: PostgresSqlTarget) => void) {
    super();
    this.#pool = pool;
    this.#target = target;
    this.#onClose = onClose;
  }

  /** `onClose`: told when the target closes. */
  static async open(target: PgTarget, onClose: (target: PostgresSqlTarget) => void = () => {}): Promise<PostgresSqlTarget> {
    const pool = new pg.Pool({
      connectionString: target.url.reveal(),
      max: CONCURRENCY,
      connectionTimeoutMillis: 15_000,
      application_name: 'sluice-transform',
      types,
    });
    // An idle client that the server drops emits 'error' on the pool: without a listener it crashes the process.
    pool.on('error', () => {});
    const t = new PostgresSqlTarget(pool, target, onClose);
    try {
      await t.atomic(setupStatements());
    } catch (error) {
      await pool.end().catch(() => {});
      throw connectError(error, target);
    }
    return t;
  }

  async run(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  async all(sql: string): Promise<Array<Record<string, unknown>>> {
    return (await this.#pool.query(sql)).rows as Array<Record<string, unknown>>;
  }

  async atomic(statements: readonly string[]): Promise<void> {
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw connectError(error, this.#target);
    });
    try {
      await client.query('BEGIN');
      for (const sql of statements) await client.query(sql);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  safeCast(expr: string, type: string): string {
    const key = type.trim().toLowerCase();
    const name = SAFE_CASTS[key] ? key : TYPE_ALIASES[key];
    return name ? `sluice._try_${name}((${expr})::text)` : `CAST(${expr} AS ${type})`;
  }

  // PostgreSQL binds views to the relation itself: the old one is renamed aside and dropped with
  // CASCADE, which also drops views over it (the transform rebuilds the model views downstream).
  swapStatements(built: Relation, builtKind: RelationKind, target: Relation, targetKind: RelationKind | undefined): string[] {
    const kw = (k: RelationKind) => (k === 'view' ? 'VIEW' : 'TABLE');
    const old = `${target.name.slice(0, 50)}__sluice_old`;
    return [
      ...(targetKind
        ? [
            `ALTER ${kw(targetKind)} ${this.relation(target)} RENAME TO ${quoteIdent(old)}`,
            `ALTER ${kw(builtKind)} ${this.relation(built)} RENAME TO ${quoteIdent(target.name)}`,
            `DROP ${kw(targetKind)} ${this.relation({ schema: target.schema, name: old })} CASCADE`,
          ]
        : [`ALTER ${kw(builtKind)} ${this.relation(built)} RENAME TO ${quoteIdent(target.name)}`]),
    ];
  }

  async close(): Promise<void> {
    this.#onClose(this);
    await this.#pool.end();
  }
}
