import { isSluiceError, type SluiceError, toSluiceError } from '../../core/errors.js';
import type { SourceMessage, StreamReadContext } from '../../core/source.js';
import type { Requester } from './auth.js';
import type { RestConfig, RestStreamConfig } from './config.js';
import { type CursorValue, cursorFromState } from './cursor.js';
import { ParentRows } from './parent-rows.js';
import { type ParentRun, parentRow } from './parents.js';
import { scan } from './scan.js';

/** What the stream readers of one source share. */
export interface RestContext {
  config: RestConfig;
  requester: Requester;
  /** Where a stream sits in the config, for messages: `sources[0].streams[2]`. */
  at(stream: RestStreamConfig): string;
  concurrency: number;
  /** The parent records each parent stream read in this run, for its child streams. */
  parentRuns: Map<string, ParentRun>;
}

export const childrenOf = (c: RestContext, s: RestStreamConfig): RestStreamConfig[] => c.config.streams.filter((x) => x.parent === s.name);

/**
 * Reads a top-level stream, yielding records as pages arrive, so memory stays flat however big
 * the stream. Incremental streams end with the new checkpoint. A `full` stream that fails reports
 * the failure after the records it read: the pipeline discards that partial snapshot, which never
 * replaces the table. A stream with children remembers the parent records it read.
 */
export async function* readTopStream(s: RestStreamConfig, rc: StreamReadContext, c: RestContext): AsyncGenerator<SourceMessage> {
  const start = s.mode === 'incremental' ? cursorFromState(rc.checkpoint) : undefined;
  const children = childrenOf(c, s);
  const run: ParentRun = { start, end: start, rows: new ParentRows({ dir: rc.scratchDir, stream: s.name }), failed: false };
  let kept = false;
  try {
    let failure: SluiceError | undefined;
    try {
      for await (const ev of scan({ config: c.config, stream: s, at: c.at(s), requester: c.requester, start, limit: rc.limit, signal: rc.signal })) {
        if (ev.type === 'records') {
          if (children.length) for (const r of ev.records) await run.rows.push(parentRow(r, s, children));
          yield { type: 'records', records: ev.records.map((r) => ({ line: r.line, timeMs: undefined })) };
        } else {
          run.end = ev.end;
          rc.log.info({ records: ev.read, pages: ev.pages, limited: ev.limited, cursor: ev.end }, 'rest.stream.read');
        }
      }
    } catch (error) {
      failure = failureOf(error, c, s, rc);
    }
    if (children.length) {
      await c.parentRuns.get(s.name)?.rows.dispose();
      c.parentRuns.set(s.name, { ...run, end: failure ? start : run.end, failed: failure !== undefined });
      kept = true;
    }
    if (failure) {
      yield { type: 'failure', unit: s.name, error: failure };
      return;
    }
    if (s.mode === 'incremental' && run.end !== undefined) yield { type: 'checkpoint', state: { cursor: run.end } };
  } finally {
    if (!kept) await run.rows.dispose();
  }
}

/** Reads a parent stream again only for its records' keys (a child whose checkpoint lags its parent's). */
export async function collectParents(parent: RestStreamConfig, start: CursorValue | undefined, rc: StreamReadContext, c: RestContext): Promise<ParentRun> {
  const children = childrenOf(c, parent);
  const run: ParentRun = { start, end: start, rows: new ParentRows({ dir: rc.scratchDir, stream: parent.name }), failed: false };
  try {
    for await (const ev of scan({ config: c.config, stream: parent, at: c.at(parent), requester: c.requester, start, limit: rc.limit, signal: rc.signal })) {
      if (ev.type === 'records') for (const r of ev.records) await run.rows.push(parentRow(r, parent, children));
      else run.end = ev.end;
    }
  } catch (error) {
    await run.rows.dispose();
    throw error;
  }
  return run;
}

/** A stream's failure, or a rethrow for what must stop the run (credentials, bugs, interruption). */
export function failureOf(error: unknown, c: RestContext, s: RestStreamConfig, rc: StreamReadContext): SluiceError {
  const e = toSluiceError(error, { source: c.config.name, stream: s.name });
  if (e.fatal || !isSluiceError(error) || rc.signal.aborted) throw e;
  rc.log.error({ code: e.code, error: e.message }, 'rest.stream.failed');
  return e;
}
