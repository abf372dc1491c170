import path from 'node:path';
import { toSluiceError } from '../core/errors.js';
import type { StoredObject } from '../core/object-store.js';
import { mapPool } from '../core/pool.js';
import { checkpointKey, streamPrefix } from '../storage/layout.js';
import { sha256File } from '../storage/local/atomic.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';

const SYNC_CONCURRENCY = 8;

/**
 * Moves one stream's landed batches to storage (DESIGN §3.3): storage is listed once; a batch
 * already there with the same size and checksum is not sent again; every upload is verified
 * before the landed copy is deleted; the pending checkpoint is promoted only when every batch it
 * covers is in storage.
 */
export async function syncStream(project: Project, source: string, stream: string, report: StreamReport, signal: AbortSignal): Promise<void> {
  const storage = await project.storage();
  const log = project.log.child({ source, stream });
  const prefix = streamPrefix(source, stream);
  const landed: string[] = [];
  for await (const o of project.landing.list(prefix)) landed.push(o.key);
  const remote = new Map<string, StoredObject>();
  if (landed.length > 0) for await (const o of storage.list(prefix)) remote.set(o.key, o);

  let failed = 0;
  const results = mapPool(
    landed.sort(),
    SYNC_CONCURRENCY,
    async (key) => {
      const file = path.join(project.landing.root, ...key.split('/'));
      try {
        const local = await sha256File(file);
        const there = remote.get(key);
        const same = there !== undefined && there.size === local.size && (await storage.sha256(key)) === local.sha256;
        if (!same) await storage.putFile(key, file, local);
        await project.landing.delete(key);
        return { key, skipped: same, bytes: local.size };
      } catch (error) {
        return { key, error: toSluiceError(error, { source, stream, batch: key }) };
      }
    },
    signal,
  );
  for await (const r of results) {
    if ('error' in r && r.error) {
      failed++;
      report.errors.push(errorEntry(r.key, r.error));
      log.error({ batch: r.key, error: r.error.message }, 'sync.batch.failed');
    } else if (r.skipped) {
      report.sync_skipped++;
    } else {
      report.synced_batches++;
    }
  }

  const ckKey = checkpointKey(source, stream);
  const pending = await project.landing.getBytes(ckKey);
  if (pending && failed === 0) {
    await storage.putBytes(ckKey, pending);
    await project.landing.delete(ckKey);
    report.checkpoint_advanced = true;
  }
  log.info({ synced: report.synced_batches, skipped: report.sync_skipped, failed }, 'sync.stream.done');
}

/** Removes temp files that killed runs left in landing and local storage. */
export async function cleanupLeftovers(project: Project): Promise<void> {
  const removed = (await project.landing.cleanup()) + (await (await project.storage()).cleanup());
  if (removed > 0) project.log.info({ files: removed }, 'cleanup.temp_files_removed');
}
