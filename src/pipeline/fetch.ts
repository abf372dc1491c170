import { isSluiceError, toSluiceError } from '../core/errors.js';
import type { JsonValue, Source } from '../core/source.js';
import { checkpointKey } from '../storage/layout.js';
import { BatchWriter } from './batch-writer.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';

export interface FetchOptions {
  runId: string;
  limit?: number;
  signal: AbortSignal;
}

/** The checkpoint a fetch starts from: landing's pending one (newer, not yet synced), else storage's. */
export async function currentCheckpoint(project: Project, source: string, stream: string): Promise<JsonValue | undefined> {
  const key = checkpointKey(source, stream);
  const bytes = (await project.landing.getBytes(key)) ?? (await (await project.storage()).getBytes(key));
  return bytes ? (JSON.parse(bytes.toString('utf8')) as JsonValue) : undefined;
}

/**
 * Pulls what is new for one stream into landing: the batches first, then the pending checkpoint
 * that covers them. A crash before the checkpoint leaves only batches, which sync and the merge on
 * the key make harmless; a crash before the batches' rename leaves temp files that cleanup removes.
 */
export async function fetchStream(project: Project, source: Source, stream: string, report: StreamReport, o: FetchOptions): Promise<void> {
  const spec = source.streams().find((s) => s.name === stream);
  const log = project.log.child({ source: source.name, stream });
  const checkpoint = await currentCheckpoint(project, source.name, stream);
  const writer = new BatchWriter({ landingRoot: project.landing.root, source: source.name, stream, part: o.runId, nowMs: Date.now() });
  let next: JsonValue | undefined;
  const started = Date.now();
  try {
    for await (const msg of source.read(stream, { checkpoint, limit: o.limit, runId: o.runId, log, signal: o.signal })) {
      if (msg.type === 'records') {
        await writer.write(msg.records);
        report.fetched += msg.records.length;
      } else if (msg.type === 'checkpoint') {
        next = msg.state;
      } else if (msg.type === 'warning') {
        report.warnings.push({ code: msg.code, message: msg.message, ...(msg.detail ? { detail: msg.detail } : {}) });
        log.warn({ code: msg.code, ...msg.detail }, msg.message);
      } else {
        report.errors.push(errorEntry(msg.unit, msg.error));
      }
    }
  } catch (error) {
    await writer.abort();
    throw isSluiceError(error) ? error : toSluiceError(error, { source: source.name, stream });
  }
  const landed = await writer.commit();
  report.landed_batches += landed.length;
  report.limited = o.limit !== undefined;
  if (spec?.mode !== 'window' && next !== undefined && JSON.stringify(next) !== JSON.stringify(checkpoint ?? null)) {
    await project.landing.putBytes(checkpointKey(source.name, stream), Buffer.from(JSON.stringify(next)));
    report.checkpoint_advanced = true;
  }
  report.unchanged = report.fetched === 0 && report.errors.length === 0;
  log.info({ records: report.fetched, batches: landed.length, ms: Date.now() - started }, 'fetch.stream.done');
}
