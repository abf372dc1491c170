import type { DuckDBConnection } from '@duckdb/node-api';
import { settle, unwrap } from '../../core/pool.js';
import { DEFAULT_CONTRACT } from '../../core/schema.js';
import type { BatchToLoad, LoadResult, TableSpec } from '../../core/warehouse.js';
import { localFile, pendingBatches } from '../ledger-rules.js';
import { learnSchema, schemaResults } from '../schema-learn.js';
import { readDuckLedgerOf } from './ledger.js';
import { type BatchSource, type GroupBatch, groupLoadSql, NOTES, STAGE } from './load-sql.js';
import type { Note } from './sanitize.js';
import { duckSchemaSession, writeDuckSchema } from './schema-sql.js';

/**
 * A DuckDB load's two connections: the one whose transaction writes each group, and the one that
 * reads the group's stage for the schema check meanwhile (see `stageAndLoad`).
 */
export interface Connections {
  conn: DuckDBConnection;
  side: DuckDBConnection;
}

/** A batch DuckDB's line reader refuses (bad UTF-8, a CR): the load cleans a copy and tries again. */
export const isUnreadable = (error: unknown) => /Invalid Input Error|CSV Error|unicode/i.test((error as Error).message);
/** Rows too dense with values for the cap: the load tries narrower passes, then a larger cap. */
export const isOutOfMemory = (error: unknown) => /Out of Memory Error/i.test((error as Error).message);

/**
 * Passes the schema check takes over the stage at least. It shares the memory cap with the load's
 * insert, which runs at the same time: in one pass, the check's JSON working memory (in 16 MiB
 * blocks) did not fit beside the insert under the default cap; in two, each pass holds half as
 * many parsed rows (see `sliceOf`).
 */
const SIDE_SLICES = 2;

/** Batches cleaned of what DuckDB's line reader refuses (sanitize.ts), by key: their copy, and the lines judged. */
export type Cleaned = ReadonlyMap<string, { source: BatchSource; notes: Note[] }>;

/**
 * One attempt at the group in one transaction. The group is staged before the transaction
 * (a transaction writes to one database, and the stage is in the scratch one), so the ledger is
 * read again inside it: a batch it holds by now with the same content would be loaded twice, so
 * the attempt starts over without it.
 */
export async function loadGroup(
  c: Connections,
  table: string,
  t: TableSpec,
  batches: readonly BatchToLoad[],
  runId: string,
  cleaned: Cleaned,
  slices: number,
): Promise<LoadResult[] | { unreadable: Error }> {
  const keys = batches.map((b) => b.key);
  for (;;) {
    const todo = pendingBatches(t.mode, batches, await readDuckLedgerOf(c.conn, keys));
    if (todo.length === 0) return batches.map(() => ({ rows: 0, rejected: 0, skipped: true }));
    try {
      const done = await stageAndLoad(c, table, t, todo, runId, cleaned, slices);
      if (!done) continue;
      if ('unreadable' in done) return done;
      return batches.map((b) => done.get(b.key) ?? { rows: 0, rejected: 0, skipped: true });
    } finally {
      // Scratch only: the next group replaces it anyway, so a failure here must not hide the load's.
      await c.conn.run(`DROP TABLE IF EXISTS ${STAGE}`).catch(() => {});
    }
  }
}

/**
 * Stages `todo` and loads it in one transaction; undefined when the ledger changed meanwhile.
 * DESIGN §9: the schema learns from the staged rows on the side connection, while the load's
 * transaction writes them on the main one, each on a core of its own; its result is written in
 * the transaction before the commit. A frozen contract moves lines out of the stage first, so
 * then the transaction waits for it.
 */
async function stageAndLoad(
  c: Connections,
  table: string,
  t: TableSpec,
  todo: readonly BatchToLoad[],
  runId: string,
  cleaned: Cleaned,
  slices: number,
): Promise<Map<string, LoadResult> | { unreadable: Error } | undefined> {
  const todoKeys = todo.map((b) => b.key);
  const group = todo.map((batch) => ({
    batch,
    source: cleaned.get(batch.key)?.source ?? { file: localFile(batch), compression: 'gzip' as const, notes: false },
  }));
  const sql = groupLoadSql({ table, spec: t, group, runId, replace: t.mode === 'full', slices });
  const contract = t.schema ?? DEFAULT_CONTRACT;
  const schema = contract.track ? duckSchemaSession(c.side, t.source, t.stream, Math.max(slices, SIDE_SLICES)) : undefined;
  await schema?.guide((group[0] as GroupBatch).source, contract.maxDepth);
  await writeNotes(
    c.conn,
    group.map((g) => cleaned.get(g.batch.key)?.notes ?? []),
  );
  try {
    for (const statement of sql.stage) await c.conn.run(statement);
  } catch (error) {
    if (isUnreadable(error)) return { unreadable: error as Error };
    throw error;
  }
  const learning = schema
    ? settle(learnSchema(schema, { source: t.source, stream: t.stream, contract, batches: todoKeys, runId, now: new Date() }))
    : undefined;
  if (learning && (contract.newFields === 'freeze' || contract.typeChanges === 'freeze')) unwrap(await learning);
  let open = false;
  try {
    await c.conn.run('BEGIN TRANSACTION');
    open = true;
    const again = pendingBatches(t.mode, todo, await readDuckLedgerOf(c.conn, todoKeys));
    if (again.length !== todo.length) {
      await c.conn.run('ROLLBACK');
      open = false;
      await learning;
      return undefined;
    }
    if (t.mode === 'full') await c.conn.run(`DELETE FROM ${table}`);
    const perFile = new Map<number, { rows: number; rejected: number }>();
    let distinct = 0;
    // Lines a frozen contract rejected are rejects by now: they are counted as such.
    for (const [f, good, bad, keys] of (await c.conn.runAndReadAll(sql.counts)).getRows()) {
      perFile.set(Number(f), { rows: Number(good), rejected: Number(bad) });
      distinct = Number(keys);
    }
    for (const statement of sql.apply({ perFile, distinct })) await c.conn.run(statement);
    const learnt = learning ? unwrap(await learning) : undefined;
    if (learnt) await writeDuckSchema(c.conn, t.source, t.stream, learnt.fields, learnt.changes);
    await c.conn.run('COMMIT');
    open = false;
    return new Map(todo.map((b, f) => [b.key, { ...(perFile.get(f) ?? { rows: 0, rejected: 0 }), ...schemaResults(learnt, b.key, f) }]));
  } catch (error) {
    if (open) await c.conn.run('ROLLBACK').catch(() => {});
    // The side connection is done before anything else runs; out of memory on either side means narrower passes (see load).
    const side = await learning;
    if (side && !side.ok && isOutOfMemory(side.error) && !isOutOfMemory(error)) throw side.error;
    throw error;
  }
}

/** The lines the cleaning judged (sanitize.ts), where the stage reads them. */
async function writeNotes(conn: DuckDBConnection, perBatch: ReadonlyArray<readonly Note[]>): Promise<void> {
  if (perBatch.every((notes) => notes.length === 0)) return;
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${NOTES} (f INTEGER, line_no BIGINT, reason VARCHAR, line VARCHAR)`);
  for (const [f, notes] of perBatch.entries()) {
    for (const n of notes) await conn.run(`INSERT INTO ${NOTES} VALUES ($1, $2, $3, $4)`, [f, n.lineNo, n.reason, n.line]);
  }
}
