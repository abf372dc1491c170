import { isSluiceError, toSluiceError } from '../core/errors.js';
import { floorHour, HOUR_MS } from '../core/hours.js';
import type { JsonValue, Source } from '../core/source.js';
import { checkpointKey } from '../storage/layout.js';
import { BatchWriter } from './batch-writer.js';
import { noProgress, type ProgressReporter } from './progress.js';
import type { Project } from './project.js';
import { errorEntry, type StreamReport } from './run-record.js';
import { type HourRange, hoursIn, hoursToFetch } from './window.js';

export interface FetchOptions {
  runId: string;
  limit?: number;
  /** Window streams: an explicit range (`--start` / `--end`) instead of the source's window. */
  range?: Partial<HourRange>;
  signal: AbortSignal;
  progress?: ProgressReporter;
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
  const window = spec?.mode === 'window';
  const checkpoint = window ? undefined : await currentCheckpoint(project, source.name, stream);
  const hours = window ? await windowHours(project, source, stream, report, o) : undefined;
  const at = { source: source.name, stream, step: 'fetch' as const };
  const progress = o.progress ?? noProgress;
  progress.report({ type: 'step.started', ...at, ...(hours ? { unit: 'hours', total: hours.length } : { unit: 'records' }) });
  if (hours && hours.length === 0) {
    report.unchanged = true;
    log.info({ hours: 0 }, 'fetch.stream.complete');
    return;
  }
  const nowMs = Date.now();
  const writer = new BatchWriter({ landingRoot: project.landing.root, source: source.name, stream, part: window ? 'data' : o.runId, nowMs });
  const errorsBefore = report.errors.length;
  let next: JsonValue | undefined;
  const started = Date.now();
  try {
    for await (const msg of source.read(stream, { checkpoint, limit: o.limit, runId: o.runId, log, signal: o.signal, hours, scratchDir: project.tempDir })) {
      switch (msg.type) {
        case 'records':
          await writer.write(msg.records);
          report.fetched += msg.records.length;
          if (!window) progress.report({ type: 'step.advanced', ...at, units: msg.records.length });
          break;
        case 'raw':
          await writer.writeRaw(msg.hourMs, msg.gzip);
          progress.report({ type: 'step.advanced', ...at, bytes: msg.gzip.length });
          break;
        case 'complete': {
          const landed = await writer.commit(msg.hours);
          report.landed_batches += landed.length;
          report.fetched += msg.records ?? 0;
          progress.report({ type: 'step.advanced', ...at, units: msg.hours.length, rows: msg.records ?? 0 });
          break;
        }
        case 'discard':
          await writer.discard(msg.hours);
          progress.report({ type: 'step.advanced', ...at, failed: msg.hours.length });
          break;
        case 'checkpoint':
          next = msg.state;
          break;
        case 'warning':
          report.warnings.push({ code: msg.code, message: msg.message, ...(msg.detail ? { detail: msg.detail } : {}) });
          log.warn({ code: msg.code, ...msg.detail }, msg.message);
          break;
        case 'failure':
          report.errors.push(errorEntry(msg.unit, msg.error));
          break;
      }
    }
  } catch (error) {
    await writer.discard();
    throw isSluiceError(error) ? error : toSluiceError(error, { source: source.name, stream });
  } finally {
    progress.report({ type: 'step.finished', ...at });
  }
  const partialSnapshot = spec?.mode === 'full' && report.errors.length > errorsBefore;
  // Window hours are committed as their ranges complete; anything left open is unfinished.
  if (window) await writer.discard();
  else if (partialSnapshot) {
    // A full stream's records stream to a temp file as they are read; a read that failed would
    // replace the table with part of it, so none of it lands and the table stays as it was.
    await writer.discard();
    log.warn({ records: report.fetched }, 'fetch.snapshot.discarded');
  } else {
    // A full stream read to its end without a record is an empty snapshot: it lands as an empty
    // batch, so the load empties the table as it would replace it with any other snapshot.
    const emptySnapshot = spec?.mode === 'full' && report.fetched === 0;
    report.landed_batches += (await writer.commit(emptySnapshot ? [nowMs] : undefined)).length;
  }
  report.limited = o.limit !== undefined;
  if (!window && next !== undefined && JSON.stringify(next) !== JSON.stringify(checkpoint ?? null)) {
    await project.landing.putBytes(checkpointKey(source.name, stream), Buffer.from(JSON.stringify(next)));
    report.checkpoint_advanced = true;
  }
  report.unchanged = report.fetched === 0 && report.landed_batches === 0 && report.errors.length === 0;
  log.info({ records: report.fetched, batches: report.landed_batches, ms: Date.now() - started }, 'fetch.stream.done');
}

/** The hours a window stream must fetch now: storage is asked (listed once), then landing. */
async function windowHours(project: Project, source: Source, stream: string, report: StreamReport, o: FetchOptions): Promise<number[]> {
  const now = Date.now();
  const plan = source.window?.(stream, now);
  if (!plan) throw new Error(`${source.name}/${stream} is a window stream without a window`);
  const latest = plan.endMs;
  const range = { startMs: o.range?.startMs ?? plan.startMs, endMs: Math.min(o.range?.endMs ?? plan.endMs, latest) };
  if (o.range?.endMs !== undefined && o.range.endMs > latest) {
    report.warnings.push({
      code: 'window_capped',
      message: `--end is later than the newest complete hour (${new Date(latest).toISOString()}, lag_hours behind now): stopping there`,
    });
  }
  const present = await hoursIn(await project.storage(), source.name, stream);
  for (const h of await hoursIn(project.landing, source.name, stream)) present.add(h);
  const { missing, refresh, all } = hoursToFetch({ startMs: floorHour(range.startMs), endMs: range.endMs }, present, plan.refreshHours);
  report.window = {
    start: new Date(range.startMs).toISOString(),
    end: new Date(range.endMs + HOUR_MS - 1).toISOString(),
    hours_missing: missing.length,
    hours_refreshed: refresh.length,
  };
  project.log.info({ source: source.name, stream, missing: missing.length, refresh: refresh.length }, 'fetch.window.planned');
  return all;
}
