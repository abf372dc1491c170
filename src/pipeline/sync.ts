import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError, toSluiceError } from '../core/errors.js';
import { sha256File } from '../core/fs/sha256-file.js';
import { removeTempFiles } from '../core/fs/temp-files.js';
import type { Logger } from '../core/logger.js';
import type { ObjectStore, StoredObject } from '../core/object-store.js';
import { checkpointKey, streamPrefix } from '../storage/layout.js';
import { noProgress, type ProgressReporter } from './progress.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';

const DEFAULT_CONCURRENCY = 8;
const PROGRESS_EVERY_MS = 5_000;
const SMALL_BATCH_BYTES = 8 * 1024 * 1024;
/** The state dir's folders where sluice makes temp files: landing, scratch, locks, caches. */
const STATE_FOLDERS = ['landing', 'tmp', 'locks', 'cache'];

interface Moved {
  skipped: boolean;
  bytes: number;
}

/**
 * Moves one stream's landed batches to storage (DESIGN §3.3). Storage is listed once; a batch
 * already there with the same size and checksum is not sent again; every upload is confirmed
 * before the landed copy is deleted, so a failure at any point leaves the batch in landing for the
 * next run. The pending checkpoint is promoted only when no batch of the stream is left in landing.
 */
export async function syncStream(
  project: Project,
  source: string,
  stream: string,
  report: StreamReport,
  signal: AbortSignal,
  progress: ProgressReporter = noProgress,
): Promise<void> {
  const storage = await project.storage();
  const log = project.log.child({ source, stream });
  const prefix = streamPrefix(source, stream);
  const started = Date.now();
  const landed = await landedKeys(project, prefix);
  const at = { source, stream, step: 'sync' as const };

  let bytes = 0;
  if (landed.length > 0) {
    progress.report({ type: 'step.started', ...at, unit: 'batches', total: landed.length });
    const remote = await listRemote(storage, landed);
    const moved = await moveAll(landed, storage.uploadConcurrency ?? DEFAULT_CONCURRENCY, signal, log, async (key) => {
      const r = await moveBatch(project, storage, key, remote.get(key));
      bytes += r.bytes;
      progress.report({ type: 'step.advanced', ...at, units: 1, bytes: r.bytes });
      return r;
    });
    progress.report({ type: 'step.finished', ...at });
    for (const f of moved.failed) {
      const e = toSluiceError(f.error, { source, stream, batch: f.key });
      report.errors.push(errorEntry(f.key, e));
      log.error({ batch: f.key, code: e.code, error: e.message }, 'sync.batch.failed');
    }
    report.synced_batches += moved.synced;
    report.sync_skipped += moved.skipped;
    const left = landed.length - moved.synced - moved.skipped;
    log.info({ synced: moved.synced, skipped: moved.skipped, failed: moved.failed.length, left, bytes, ms: Date.now() - started }, 'sync.stream.done');
    if (moved.stoppedBy) {
      const cause = toSluiceError(moved.stoppedBy, { source, stream });
      if (cause.fatal) throw cause;
      throw new SluiceError(
        cause.code,
        `${cause.message}; ${moved.synced + moved.skipped} of ${landed.length} batches are in storage, ${left} stay in landing`,
        {
          hint: 'run sync again when storage answers: nothing was deleted locally that is not confirmed in storage',
          retryable: true,
          cause: moved.stoppedBy,
          context: { source, stream },
        },
      );
    }
    if (signal.aborted) {
      report.errors.push({ unit: prefix, code: 'internal', message: `interrupted: ${left} batches stay in landing for the next sync` });
      return;
    }
  }
  await promoteCheckpoint(project, storage, source, stream, prefix, report);
}

async function landedKeys(project: Project, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of project.landing.list(prefix)) keys.push(o.key);
  return keys.sort();
}

/** One listing of storage, narrowed to the longest folder prefix that holds every landed key. */
async function listRemote(storage: ObjectStore, sortedKeys: string[]): Promise<Map<string, StoredObject>> {
  const first = sortedKeys[0] as string;
  const last = sortedKeys.at(-1) as string;
  let common = 0;
  while (common < first.length && first[common] === last[common]) common++;
  const narrowed = first.slice(0, first.lastIndexOf('/', common - 1) + 1);
  const remote = new Map<string, StoredObject>();
  for await (const o of storage.list(narrowed)) remote.set(o.key, o);
  return remote;
}

async function moveBatch(project: Project, storage: ObjectStore, key: string, there: StoredObject | undefined): Promise<Moved> {
  const file = path.join(project.landing.root, ...key.split('/'));
  const { size } = await fs.promises.stat(file);
  // A batch storage does not hold yet, into a folder on landing's filesystem: renamed, which
  // stores it and removes it from landing in one step.
  if (there === undefined && (await storage.moveFile?.(key, file))) return { skipped: false, bytes: size };
  const local = await hashLanded(file);
  const same = there !== undefined && there.size === local.size && (await storage.sha256(key)) === local.sha256;
  if (same) {
    await fs.promises.unlink(file);
    return { skipped: true, bytes: 0 };
  }
  // A new version of a stored batch (a window hour fetched again) replaces it the same way.
  if (await storage.moveFile?.(key, file)) return { skipped: false, bytes: local.size };
  await storage.putFile(key, file, local);
  // Only now, with the copy in storage confirmed, may the landed one go.
  await fs.promises.unlink(file);
  return { skipped: false, bytes: local.size };
}

/** Small batches (the usual) are hashed from one read; large ones are streamed. */
async function hashLanded(file: string): Promise<{ size: number; sha256: string }> {
  const { size } = await fs.promises.stat(file);
  if (size > SMALL_BATCH_BYTES) return sha256File(file);
  const bytes = await fs.promises.readFile(file);
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

interface MoveOutcome {
  synced: number;
  skipped: number;
  failed: Array<{ key: string; error: unknown }>;
  /** The error that made storage unusable for the rest of this sync, if any. */
  stoppedBy: unknown;
}

/**
 * Runs `move` over the keys, `limit` at a time. A batch's failure is recorded and the others go
 * on, unless storage itself is gone (unreachable, denied): then nothing new is started.
 */
async function moveAll(keys: string[], limit: number, signal: AbortSignal, log: Logger, move: (key: string) => Promise<Moved>): Promise<MoveOutcome> {
  const out: MoveOutcome = { synced: 0, skipped: 0, failed: [], stoppedBy: undefined };
  let next = 0;
  let lastProgress = Date.now();
  const worker = async () => {
    while (out.stoppedBy === undefined && !signal.aborted && next < keys.length) {
      const key = keys[next++] as string;
      try {
        const r = await move(key);
        if (r.skipped) out.skipped++;
        else out.synced++;
      } catch (error) {
        out.failed.push({ key, error });
        const e = toSluiceError(error);
        if (e.fatal || e.code === 'network') out.stoppedBy ??= error;
      }
      if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        log.info({ done: out.synced + out.skipped + out.failed.length, total: keys.length }, 'sync.progress');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, keys.length) }, worker));
  return out;
}

/** The checkpoint covers the batches fetched before it: it goes to storage once none is left behind. */
async function promoteCheckpoint(project: Project, storage: ObjectStore, source: string, stream: string, prefix: string, report: StreamReport): Promise<void> {
  const key = checkpointKey(source, stream);
  const pending = await project.landing.getBytes(key);
  if (!pending) return;
  if ((await landedKeys(project, prefix)).length > 0) {
    project.log.info({ source, stream }, 'sync.checkpoint.held');
    return;
  }
  await storage.putBytes(key, pending);
  await project.landing.delete(key);
  report.checkpoint_advanced = true;
}

/**
 * Removes the temp files and folders that killed runs left in the state dir (landing, scratch,
 * locks being taken) and in storage. Those of live runs stay: each names its owner (DESIGN §3.3).
 */
export async function cleanupLeftovers(project: Project): Promise<void> {
  let removed = await (await project.storage()).cleanup();
  // The folders sluice writes in, not the whole state dir: it may be shared with other files.
  for (const sub of STATE_FOLDERS) removed += await removeTempFiles(path.join(project.config.stateDir, sub));
  if (removed > 0) project.log.info({ files: removed }, 'cleanup.temp_files_removed');
}
