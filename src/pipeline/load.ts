import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { toSluiceError } from '../core/errors.js';
import { collectGarbage } from '../core/memory.js';
import type { ObjectStore } from '../core/object-store.js';
import type { StreamSpec } from '../core/source.js';
import { newestSnapshot, parseBatchKey, streamPrefix } from '../storage/layout.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';

/**
 * Loads the batches in storage that the ledger lacks (or that changed since they were loaded),
 * oldest first so that a later batch's version of a record wins the merge.
 */
export async function loadStream(project: Project, source: string, spec: StreamSpec, report: StreamReport, runId: string): Promise<void> {
  // What a fetch left behind (dead buffers V8 has not collected yet) goes before the warehouse
  // opens: it holds the most memory of a run.
  collectGarbage();
  const storage = await project.storage();
  const warehouse = await project.warehouse();
  const log = project.log.child({ source, stream: spec.name });
  const ledger = await warehouse.ledger(source, spec.name);
  let todo = [];
  const snapshots: string[] = []; // a full stream's stored keys, to find its newest snapshot
  for await (const o of storage.list(streamPrefix(source, spec.name))) {
    const parsed = parseBatchKey(o.key);
    if (!parsed || parsed.source !== source || parsed.stream !== spec.name) continue;
    if (spec.mode === 'full') snapshots.push(o.key);
    const done = ledger.get(o.key);
    if (done && done.version === o.version) continue;
    todo.push({ ...o, partitionMs: parsed.hourMs, part: parsed.part });
  }
  if (spec.mode === 'full') {
    // Only the newest snapshot is loaded: an older one would replace newer rows with older ones.
    const newest = newestSnapshot(snapshots);
    const kept = todo.filter((o) => o.part === newest);
    if (kept.length < todo.length) log.info({ batches: todo.length - kept.length, newest }, 'load.snapshots.superseded');
    todo = kept;
  }
  // Merge streams load hour by hour, so a later batch wins.
  todo.sort((a, b) => a.partitionMs - b.partitionMs || a.key.localeCompare(b.key));
  const table = { source, stream: spec.name, mode: spec.mode, primaryKey: spec.primaryKey };
  for (const group of transactions(todo, spec.mode)) {
    const started = Date.now();
    const copies = [];
    try {
      for (const o of group) copies.push({ o, ...(await localCopy(storage, o.key)) });
      const results = await warehouse.load(
        table,
        copies.map((c) => ({ ...c.o, file: c.file })),
        runId,
      );
      for (const r of results) {
        if (r.skipped) continue; // a concurrent load committed it first
        report.loaded_batches++;
        report.loaded_rows += r.rows;
        report.rejected += r.rejected;
      }
      log.debug({ batches: group.length, ms: Date.now() - started }, 'load.transaction.done');
    } catch (error) {
      const e = toSluiceError(error, { source, stream: spec.name });
      if (e.fatal) throw e;
      report.errors.push(errorEntry(group.length === 1 ? group[0]!.key : `${group[0]!.key} (+${group.length - 1})`, e));
      log.error({ batches: group.map((g) => g.key).slice(0, 5), error: e.message }, 'load.batch.failed');
    } finally {
      for (const c of copies) await c.release();
    }
  }
  log.info({ batches: report.loaded_batches, rows: report.loaded_rows, rejected: report.rejected }, 'load.stream.done');
}

const BATCHES_PER_TRANSACTION = 64;
/**
 * Compressed bytes per transaction: bounds what a warehouse stages at once (about 8× this as
 * JSON). DuckDB keeps a group's rows in memory while it checks them, beside its read buffer, all
 * under its cap (64MB): a group must fit, or the stage spills to disk and the load slows.
 */
const BYTES_PER_TRANSACTION = 5 * 1024 * 1024;

/**
 * Groups batches into transactions: many small batches per transaction for merge streams; for a
 * `full` stream, one snapshot (the batches of one run, named by their part) per transaction.
 */
function transactions<T extends { key: string; part: string; size: number }>(todo: T[], mode: StreamSpec['mode']): T[][] {
  const groups: T[][] = [];
  let bytes = 0;
  for (const o of todo) {
    const last = groups.at(-1);
    const fits = last && (mode === 'full' ? last[0]!.part === o.part : last.length < BATCHES_PER_TRANSACTION && bytes + o.size <= BYTES_PER_TRANSACTION);
    if (fits) {
      last.push(o);
      bytes += o.size;
    } else {
      groups.push([o]);
      bytes = o.size;
    }
  }
  return groups;
}

/** A local file with the object's bytes: the object itself when the store is local, else a streamed copy. */
async function localCopy(storage: ObjectStore, key: string): Promise<{ file: string; release: () => Promise<void> }> {
  const direct = storage.localPath?.(key);
  if (direct) return { file: direct, release: async () => {} };
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'sluice-load-'));
  const file = path.join(dir, path.posix.basename(key));
  await pipeline(storage.openRead(key), fs.createWriteStream(file));
  return { file, release: () => fs.promises.rm(dir, { recursive: true, force: true }) };
}
