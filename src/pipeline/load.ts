import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { toSluiceError } from '../core/errors.js';
import type { ObjectStore } from '../core/object-store.js';
import type { StreamSpec } from '../core/source.js';
import { parseBatchKey, streamPrefix } from '../storage/layout.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';

/**
 * Loads the batches in storage that the ledger lacks (or that changed since they were loaded),
 * oldest first so that a later batch's version of a record wins the merge.
 */
export async function loadStream(project: Project, source: string, spec: StreamSpec, report: StreamReport, runId: string): Promise<void> {
  const storage = await project.storage();
  const warehouse = await project.warehouse();
  const log = project.log.child({ source, stream: spec.name });
  const ledger = await warehouse.ledger(source, spec.name);
  const todo = [];
  for await (const o of storage.list(streamPrefix(source, spec.name))) {
    const parsed = parseBatchKey(o.key);
    if (!parsed || parsed.source !== source || parsed.stream !== spec.name) continue;
    const done = ledger.get(o.key);
    if (done && done.version === o.version) continue;
    todo.push({ ...o, partitionMs: parsed.hourMs });
  }
  todo.sort((a, b) => a.partitionMs - b.partitionMs || a.key.localeCompare(b.key));
  const table = { source, stream: spec.name, mode: spec.mode, primaryKey: spec.primaryKey };
  for (const o of todo) {
    const started = Date.now();
    try {
      const { file, release } = await localCopy(storage, o.key);
      try {
        const r = await warehouse.load(table, { ...o, file }, runId);
        report.loaded_batches++;
        report.loaded_rows += r.rows;
        report.rejected += r.rejected;
        log.debug({ batch: o.key, rows: r.rows, rejected: r.rejected, ms: Date.now() - started }, 'load.batch.done');
      } finally {
        await release();
      }
    } catch (error) {
      const e = toSluiceError(error, { source, stream: spec.name, batch: o.key });
      if (e.fatal) throw e;
      report.errors.push(errorEntry(o.key, e));
      log.error({ batch: o.key, error: e.message }, 'load.batch.failed');
    }
  }
  log.info({ batches: report.loaded_batches, rows: report.loaded_rows, rejected: report.rejected }, 'load.stream.done');
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
