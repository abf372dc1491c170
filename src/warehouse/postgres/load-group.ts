import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { DEFAULT_CONTRACT, type SchemaContract } from '../../core/schema.js';
import type { BatchToLoad, LoadResult, TableSpec } from '../../core/warehouse.js';
import { localFile, pendingBatches } from '../ledger-rules.js';
import { type Observed, schemaResults, trackSchema } from '../schema-learn.js';
import { timestampText } from '../sql.js';
import { copyRawRows, copyRows, type RawFile, type StageFile, type StageFormat } from './copy-rows.js';
import {
  BATCHES_SQL,
  CHECKED_COUNTS_SQL,
  COPY_TEXT_SQL,
  classifySql,
  copyJsonbSql,
  copyRawSql,
  createTableSql,
  DELETE_REJECTS_SQL,
  groupDupsSql,
  INSERT_BATCHES_SQL,
  INSERT_LEDGER_SQL,
  INSERT_REJECTS_SQL,
  LEDGER_RECHECK_SQL,
  LINES_SQL,
  mergeSql,
  rawTable,
  stageName,
  stageSql,
} from './load-sql.js';
import { FROZEN, pgSchemaSession } from './schema-sql.js';
import { StructureScanner } from './structure-scan.js';

type Counts = Map<number, { rows: number; rejected: number }>;

const LOCK_WAIT = '1h';

/** A stable 64-bit advisory lock key for a name (PostgreSQL's hashtext is internal). */
export function lockKey(name: string): string {
  return createHash('sha256').update(`sluice:${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * Loads one group of batches in one transaction: the table's lock, the ledger re-read under it,
 * the rows, the rejects and the ledger rows commit together or not at all.
 */
export async function loadGroup(c: pg.Client, t: TableSpec, batches: readonly BatchToLoad[], job: LoadJob): Promise<LoadResult[]> {
  const stage = stageName();
  await c.query('BEGIN');
  try {
    const results = await inTransaction(c, t, batches, job, stage);
    await c.query(`DROP TABLE IF EXISTS ${stage}`);
    await c.query('COMMIT');
    return results;
  } catch (error) {
    await c.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** The run a group loads for, and what the warehouse connection has learnt about its tables. */
export interface LoadJob {
  runId: string;
  log: Logger;
  hints: LoadHints;
}

async function inTransaction(c: pg.Client, t: TableSpec, batches: readonly BatchToLoad[], job: LoadJob, stage: string): Promise<LoadResult[]> {
  const { runId, log, hints } = job;
  const table = rawTable(t);
  const key = lockKey(table);
  const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [key]);
  if (!got.rows[0]?.ok) await waitForLock(c, table, key, log);
  await c.query(createTableSql(t));
  const ledger = await c.query<{ batch_key: string; version: string | null; checksum: string | null }>(LEDGER_RECHECK_SQL, [batches.map((b) => b.key)]);
  const loaded = new Map(ledger.rows.map((r) => [r.batch_key, { version: r.version ?? '', checksum: r.checksum ?? undefined }]));
  const todo = pendingBatches(t.mode, batches, loaded);
  if (todo.length === 0) return batches.map(() => ({ rows: 0, rejected: 0, skipped: true }));

  await c.query("SET LOCAL work_mem = '256MB'"); // the merge sorts the group's rows by key
  // Compiling the group's few statements costs more than it saves (measured: about 1 s per 200,000 rows).
  await c.query('SET LOCAL jit = off');
  if (t.mode === 'full') await c.query(`DELETE FROM ${table}`);
  await c.query(BATCHES_SQL);
  const partitions = todo.map((b) => timestampText(b.partitionMs));
  await c.query(INSERT_BATCHES_SQL, [todo.map((_, i) => i), todo.map((b) => b.key), partitions]);
  const files: RawFile[] = todo.map((b, i) => ({ b: i, key: b.key, file: localFile(b), partitionMs: b.partitionMs }));

  const contract = t.schema ?? DEFAULT_CONTRACT;
  const landed =
    (hints.conflicted.has(table) ? undefined : await straightIn(c, t, files, contract, hints, log)) ?? (await throughStage(c, t, files, stage, contract, log));
  const counts = landed.counts;
  // DESIGN §9: the schema learns from the group's rows (as the COPY's scan read them, when it
  // read every one); a frozen contract moves lines out of the stage first.
  const schema = contract.track
    ? await trackSchema(pgSchemaSession(c, t.source, t.stream, stage, landed.scanned), {
        source: t.source,
        stream: t.stream,
        contract,
        batches: todo.map((b) => b.key),
        runId,
        now: new Date(),
      })
    : undefined;
  for (const [b, n] of schema?.frozen ?? []) {
    const x = counts.get(b) ?? { rows: n, rejected: 0 };
    counts.set(b, { rows: x.rows - n, rejected: x.rejected + n });
  }
  const rows = [...counts.values()].reduce((n, x) => n + x.rows, 0);
  if (landed.staged && rows > 0) await merge(c, t, stage);
  await c.query(DELETE_REJECTS_SQL);
  if (landed.checked) await c.query(INSERT_REJECTS_SQL, [runId]);
  if (schema && schema.frozen.size > 0) await c.query(INSERT_FROZEN_SQL, [runId]);

  const countOf = (i: number) => counts.get(i) ?? { rows: 0, rejected: 0 };
  await c.query(INSERT_LEDGER_SQL, [
    t.source,
    t.stream,
    runId,
    todo.map((b) => b.key),
    todo.map((b) => b.version),
    todo.map((b) => b.checksum),
    todo.map((b) => b.size),
    todo.map((_, i) => countOf(i).rows),
    todo.map((_, i) => countOf(i).rejected),
  ]);
  const byKey = new Map(todo.map((b, i) => [b.key, { ...countOf(i), ...schemaResults(schema, b.key, i) }]));
  return batches.map((b) => byKey.get(b.key) ?? { rows: 0, rejected: 0, skipped: true });
}

const INSERT_FROZEN_SQL = `INSERT INTO sluice._rejects (batch_key, line_number, reason, line, run_id, rejected_at)
  SELECT t.batch_key, f.n, f.reason, f.line, $1, now() FROM ${FROZEN} f JOIN pg_temp._sluice_batches t USING (b)`;

/** Another load of the table is running: wait for it (it may load our batches), but not forever. */
async function waitForLock(c: pg.Client, table: string, key: string, log: Logger): Promise<void> {
  log.info({ table }, 'load.lock.waiting');
  await c.query(`SET LOCAL lock_timeout = '${LOCK_WAIT}'`);
  try {
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error;
    throw new SluiceError('internal', `another load of ${table} has held its lock for ${LOCK_WAIT}`, {
      hint: "look for a stuck load (pg_stat_activity where application_name = 'sluice'), stop it, and run load again",
      retryable: true,
      cause: error,
    });
  }
  await c.query('SET LOCAL lock_timeout = 0');
}

/**
 * The cheapest statement that merges the group correctly. A plain insert, markedly cheaper than
 * `ON CONFLICT`, does for the usual group: keys the table lacks, each once. It stops at the first
 * key the table holds or the group repeats; the group is then merged as it needs, from the
 * savepoint. Asking first would cost every group a probe of each key (a fifth of a load).
 */
async function merge(c: pg.Client, t: TableSpec, stage: string): Promise<void> {
  await c.query('SAVEPOINT sluice_insert');
  try {
    await c.query(mergeSql(t, 'insert', stage));
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await c.query('ROLLBACK TO SAVEPOINT sluice_insert');
  }
  const dups = (await c.query<{ dups: boolean }>(groupDupsSql(t, stage))).rows[0]?.dups;
  await c.query(mergeSql(t, dups ? 'dedupe' : 'upsert', stage));
}

/** How the group's rows reached the table (or its stage), and what the COPY's scan read of them. */
interface Landed {
  counts: Counts;
  /** The rows are in the stage, to be merged. */
  staged: boolean;
  /** Some lines were rejects, sorted out in SQL (`pg_temp._sluice_checked`). */
  checked: boolean;
  scanned: Observed | undefined;
}

/** What loads of one warehouse connection learn about its tables. */
export interface LoadHints {
  /** Tables whose groups repeat keys (an overlapping feed, a batch loaded again): they go through the stage. */
  conflicted: Set<string>;
}

/**
 * The usual group, every line a new key: COPY straight into the table, keyed by the scan, so the
 * rows are written once instead of staged and inserted. A key the table holds or the group
 * repeats, a bad line, or a line the scan cannot key sends the group back to the savepoint and
 * through the stage. A frozen contract, which may have to reject lines, always goes through it.
 */
async function straightIn(c: pg.Client, t: TableSpec, files: RawFile[], contract: SchemaContract, hints: LoadHints, log: Logger): Promise<Landed | undefined> {
  if (contract.track && (contract.newFields === 'freeze' || contract.typeChanges === 'freeze')) return undefined;
  const table = rawTable(t);
  const scan = new StructureScanner(contract.track ? contract.maxDepth : 1, t.primaryKey);
  const sent = new Map<number, number>();
  const stop: { reason?: string } = {};
  await c.query('SAVEPOINT sluice_direct');
  // The transaction's now(), as the merge writes it, to the microsecond (EXTRACT gives numeric).
  const loadedAt = (await c.query<{ us: string }>('SELECT (EXTRACT(EPOCH FROM now()) * 1000000)::bigint::text AS us')).rows[0]!.us;
  try {
    await pipeline(copyRawRows(files, scan, BigInt(loadedAt), sent, stop), c.query(copyFrom(copyRawSql(t))));
  } catch (error) {
    if (!isBadInput(error) && !isConflict(error)) throw error;
    if (isConflict(error)) hints.conflicted.add(table);
    stop.reason = (error as Error).message;
  }
  if (stop.reason === undefined) return { counts: countsOf(sent), staged: false, checked: false, scanned: contract.track ? scan.observed() : undefined };
  log.debug({ table, reason: stop.reason }, 'load.direct.declined');
  await c.query('ROLLBACK TO SAVEPOINT sluice_direct');
  return undefined;
}

/** The group through the stage: COPY, parsed and keyed by PostgreSQL, or line by line when some are rejects. */
async function throughStage(c: pg.Client, t: TableSpec, files: StageFile[], stage: string, contract: SchemaContract, log: Logger): Promise<Landed> {
  await c.query(stageSql(t, stage));
  const scan = contract.track ? new StructureScanner(contract.maxDepth) : undefined;
  await c.query('SAVEPOINT sluice_fast');
  const counts = await fastPath(c, files, stage, scan);
  if (scan?.declined) log.debug({ table: rawTable(t), reason: scan.declined }, 'load.schema.scan_declined');
  if (counts) return { counts, staged: true, checked: false, scanned: scan?.observed() };
  log.debug({ table: rawTable(t), batches: files.length }, 'load.checked_path');
  await c.query('ROLLBACK TO SAVEPOINT sluice_fast');
  return { counts: await checkedPath(c, t, files, stage), staged: true, checked: true, scanned: undefined };
}

const countsOf = (sent: Map<number, number>): Counts => new Map([...sent].map(([b, rows]) => [b, { rows, rejected: 0 }]));

/** Every line parsed and keyed by the COPY itself; undefined when some line is a reject (or cannot be copied). */
async function fastPath(c: pg.Client, files: StageFile[], stage: string, scan: StructureScanner | undefined): Promise<Counts | undefined> {
  const sent = new Map<number, number>();
  try {
    await copy(c, copyJsonbSql(stage), files, 'jsonb', sent, scan);
  } catch (error) {
    if (isBadInput(error)) return undefined;
    throw error;
  }
  return countsOf(sent);
}

async function checkedPath(c: pg.Client, t: TableSpec, files: StageFile[], stage: string): Promise<Counts> {
  await c.query(LINES_SQL);
  await copy(c, COPY_TEXT_SQL, files, 'text');
  for (const sql of classifySql(t, stage)) await c.query(sql);
  const counts = await c.query<{ b: number; rows: number; rejected: number }>(CHECKED_COUNTS_SQL);
  return new Map(counts.rows.map((r) => [r.b, { rows: r.rows, rejected: r.rejected }]));
}

async function copy(c: pg.Client, sql: string, files: StageFile[], format: StageFormat, sent?: Map<number, number>, scan?: StructureScanner): Promise<void> {
  await pipeline(copyRows(files, format, sent, scan), c.query(copyFrom(sql)));
}

/** A key the table holds, or one the group repeats. */
const isConflict = (error: unknown): boolean => (error as { code?: unknown })?.code === '23505';

/**
 * A line the COPY could not take: bad JSON or encoding (SQLSTATE class 22), a value too large
 * (54), not an object (23514, the stage's check) or without its key (23502).
 */
function isBadInput(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54') || code === '23514' || code === '23502');
}
