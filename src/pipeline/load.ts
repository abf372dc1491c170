import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toSluiceError } from '../core/errors.js';
import { sha256File } from '../core/fs/sha256-file.js';
import { makeTempDir } from '../core/fs/temp-files.js';
import type { ObjectStore } from '../core/object-store.js';
import { mapPool, type Settled, settle, unwrap } from '../core/pool.js';
import type { StreamSpec } from '../core/source.js';
import type { BatchToLoad, Warehouse, WarehouseCapabilities } from '../core/warehouse.js';
import { parseBatchKey, streamPrefix } from '../storage/layout.js';
import { type PlannedBatch, planLoad, type StoredBatch } from './load-plan.js';
import { noProgress, type ProgressReporter } from './progress.js';
import type { Project } from './project.js';
import { errorEntry, noteLoadGroup, type StreamReport } from './run-record.js';
import { assertContract, noteSchema } from './schema.js';

/**
 * Loads the batches in storage that the ledger lacks, or whose content changed since they were
 * loaded (load-plan.ts), oldest first so that a later batch's version of a record wins the merge.
 */
export async function loadStream(
  project: Project,
  source: string,
  spec: StreamSpec,
  report: StreamReport,
  runId: string,
  progress: ProgressReporter = noProgress,
): Promise<void> {
  const storage = await project.storage();
  // Storage is listed while the warehouse opens and reads its ledger: neither waits for the other,
  // and the plan is the same in either order (a batch a concurrent load commits meanwhile is
  // skipped by the ledger read again in each group's transaction).
  const listing = settle(storedBatches(storage, source, spec.name));
  const warehouse = await project.warehouse();
  const log = project.log.child({ source, stream: spec.name });
  const ledger = await warehouse.ledger(source, spec.name);
  const stored = unwrap(await listing);
  // A warehouse that reads storage itself gets each checksum from the store; one that reads a
  // local file gets the checksum of that file, taken as it is read.
  const plan = await planLoad(storage, ledger, stored, { mode: spec.mode, checksums: warehouse.capabilities.readsFrom === 'storage' });
  if (plan.superseded > 0) log.info({ batches: plan.superseded, newest: plan.newest }, 'load.snapshots.superseded');
  if (plan.same.length > 0) {
    try {
      await warehouse.recordVersions(source, spec.name, plan.same);
      log.info({ batches: plan.same.length }, 'load.unchanged.recorded');
    } catch (error) {
      const e = toSluiceError(error, { source, stream: spec.name });
      if (e.fatal) throw e;
      report.errors.push(errorEntry(`ledger versions of ${plan.same.length} unchanged batches`, e));
      log.error({ batches: plan.same.length, error: e.message }, 'load.unchanged.failed');
    }
  }

  const table = { source, stream: spec.name, mode: spec.mode, primaryKey: spec.primaryKey, keyKeepsItsHour: spec.keyKeepsItsHour, schema: spec.schema };
  assertContract(warehouse, source, spec);
  const at = { source, stream: spec.name, step: 'load' as const };
  if (plan.todo.length > 0) progress.report({ type: 'step.started', ...at, unit: 'batches', total: plan.todo.length });
  const groups = transactions(plan.todo, spec.mode, warehouse.capabilities);
  // The next group's files are hashed (or copied from storage) while this one loads: the load
  // mostly waits on the warehouse, and the group after it then starts at once.
  const ahead = (i: number) => (i < groups.length ? settle(prepareGroup(storage, warehouse, groups[i]!, project.tempDir)) : undefined);
  let upcoming = ahead(0);
  try {
    for (const [i, group] of groups.entries()) {
      const started = Date.now();
      const ready = (await upcoming)!;
      upcoming = ahead(i + 1);
      await loadGroup(group, ready, started);
    }
  } finally {
    // A fatal error leaves the next group prepared: its copies go too.
    const left = await upcoming;
    if (left?.ok) for (const p of left.value) await p.release();
  }
  if (plan.todo.length > 0) progress.report({ type: 'step.finished', ...at });
  log.info({ batches: report.loaded_batches, rows: report.loaded_rows, rejected: report.rejected }, 'load.stream.done');

  async function loadGroup(group: PlannedBatch[], ready: Settled<Prepared[]>, started: number): Promise<void> {
    const prepared = ready.ok ? ready.value : [];
    try {
      if (!ready.ok) throw ready.error;
      const results = await warehouse.load(
        table,
        prepared.map((p) => p.batch),
        runId,
      );
      let rows = 0;
      for (const r of results) {
        if (r.skipped) continue; // a concurrent load committed it first
        report.loaded_batches++;
        report.loaded_rows += r.rows;
        report.rejected += r.rejected;
        noteSchema(report, r, log);
        rows += r.rows;
      }
      const raised = results.find((r) => r.memoryRaisedTo)?.memoryRaisedTo;
      if (raised) {
        const detail = { batches: group.length, first: group[0]!.key, memory_limit: raised };
        log.warn(detail, 'load.memory.raised');
        report.warnings.push({
          code: 'load_memory_raised',
          message: `${groupLabel(group)}: rows too dense with values for the warehouse's memory_limit; loaded with ${raised}`,
          detail,
        });
      }
      progress.report({ type: 'step.advanced', ...at, units: group.length, rows });
      const ms = Date.now() - started;
      noteLoadGroup(report, { batches: group.length, bytes: group.reduce((n, o) => n + o.size, 0), rows, ms });
      log.debug({ batches: group.length, ms }, 'load.transaction.done');
    } catch (error) {
      const e = toSluiceError(error, { source, stream: spec.name });
      if (e.fatal) throw e;
      report.errors.push(errorEntry(groupLabel(group), e));
      progress.report({ type: 'step.advanced', ...at, failed: group.length });
      log.error({ batches: group.map((g) => g.key).slice(0, 5), error: e.message }, 'load.batch.failed');
    } finally {
      for (const p of prepared) await p.release();
    }
  }
}

/** The stream's batches in storage, with the hour and part their keys name. */
async function storedBatches(storage: ObjectStore, source: string, stream: string): Promise<StoredBatch[]> {
  const stored: StoredBatch[] = [];
  for await (const o of storage.list(streamPrefix(source, stream))) {
    const parsed = parseBatchKey(o.key);
    if (!parsed || parsed.source !== source || parsed.stream !== stream) continue;
    stored.push({ ...o, partitionMs: parsed.hourMs, part: parsed.part });
  }
  return stored;
}

/**
 * Groups batches into transactions: many small batches per transaction for merge streams, as many
 * as the warehouse takes at once; for a `full` stream, one snapshot (the batches of one run, named
 * by their part) per transaction.
 */
function transactions<T extends { key: string; part: string; size: number }>(todo: T[], mode: StreamSpec['mode'], fit: WarehouseCapabilities): T[][] {
  const groups: T[][] = [];
  let bytes = 0;
  for (const o of todo) {
    const last = groups.at(-1);
    const fits = last && (mode === 'full' ? last[0]!.part === o.part : last.length < fit.groupBatches && bytes + o.size <= fit.groupBytes);
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

interface Prepared {
  batch: BatchToLoad;
  release: () => Promise<void>;
}

const nothing = async () => {};

const PREPARED_AT_ONCE = 4;

/** A group in the run record: its first batch, and how many more. */
const groupLabel = (group: readonly PlannedBatch[]): string => (group.length === 1 ? group[0]!.key : `${group[0]!.key} (+${group.length - 1})`);
/**
 * Every batch of a group prepared, in the group's order, or none: what was prepared before a
 * failure is released. A few at once, since each is mostly a wait on a disk or a bucket.
 */
async function prepareGroup(storage: ObjectStore, warehouse: Warehouse, group: readonly PlannedBatch[], tempDir: string): Promise<Prepared[]> {
  const prepared: (Prepared | undefined)[] = new Array(group.length);
  const work = async (i: number) => {
    prepared[i] = await prepare(storage, warehouse, group[i]!, tempDir);
  };
  try {
    for await (const _ of mapPool([...group.keys()], PREPARED_AT_ONCE, work));
    return prepared as Prepared[];
  } catch (error) {
    for (const p of prepared) await p?.release();
    throw error;
  }
}

/** A batch as the warehouse reads it: from storage with the store's checksum, or from a local file hashed as it is read. */
async function prepare(storage: ObjectStore, warehouse: Warehouse, o: PlannedBatch, tempDir: string): Promise<Prepared> {
  const batch = { key: o.key, version: o.version, size: o.size, partitionMs: o.partitionMs };
  if (warehouse.capabilities.readsFrom === 'storage') return { batch: { ...batch, checksum: o.checksum ?? (await storage.sha256(o.key)) }, release: nothing };
  const copy = await localCopy(storage, o.key, tempDir);
  return { batch: { ...batch, file: copy.file, checksum: copy.checksum }, release: copy.release };
}

/**
 * A local file with the object's bytes and their sha256: the object itself when the store is
 * local (batches are replaced by rename, never rewritten in place, and a source's sync waits for
 * its load), else a streamed copy hashed on the way.
 */
async function localCopy(storage: ObjectStore, key: string, tempDir: string): Promise<{ file: string; checksum: string; release: () => Promise<void> }> {
  const direct = storage.localPath?.(key);
  if (direct) return { file: direct, checksum: (await sha256File(direct)).sha256, release: nothing };
  const dir = await makeTempDir(tempDir, 'load');
  const release = () => fs.promises.rm(dir, { recursive: true, force: true });
  const file = path.join(dir, path.posix.basename(key));
  const hash = createHash('sha256');
  try {
    await pipeline(storage.openRead(key), hashing(hash), fs.createWriteStream(file));
  } catch (error) {
    await release();
    throw error;
  }
  return { file, checksum: hash.digest('hex'), release };
}

/** Passes bytes through, adding them to the hash. */
function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}
