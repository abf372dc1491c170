import { isSluiceError, SluiceError, toSluiceError } from '../../core/errors.js';
import { mapPool } from '../../core/pool.js';
import type { JsonValue, SourceMessage, StreamReadContext } from '../../core/source.js';
import { placeholders, type RestStreamConfig } from './config.js';
import { type CursorValue, sameCursor } from './cursor.js';
import { pages } from './paginate.js';
import { describeParent, type ParentRow, type ParentRun, withParentKey } from './parents.js';
import { collectParents, failureOf, type RestContext } from './top-stream.js';
import { fill, joinUrl } from './url.js';

const MAX_FAILURES_LISTED = 10;

/** A child's checkpoint: the parent's checkpoint that its children are complete up to. */
const parentCursorOf = (state: JsonValue | undefined): CursorValue | undefined =>
  state && typeof state === 'object' && !Array.isArray(state) && (typeof state.parent_cursor === 'string' || typeof state.parent_cursor === 'number')
    ? state.parent_cursor
    : undefined;

/**
 * Reads a child stream: its endpoint once per parent record read in this run (DESIGN §5).
 *
 * The parent's records come from the parent stream's read earlier in this run (streams are read
 * parents first), so the parent endpoint is not read twice. The child keeps its own checkpoint,
 * the parent checkpoint its children are complete up to: when that differs from where the
 * parent's read started (a run stopped between the two, or the child is new), the child reads
 * the parent again from its own checkpoint, so no parent's children are skipped.
 */
export async function* readChildStream(s: RestStreamConfig, rc: StreamReadContext, c: RestContext): AsyncGenerator<SourceMessage> {
  const parent = c.config.streams.find((x) => x.name === s.parent) as RestStreamConfig;
  const tracksParent = parent.mode === 'incremental';
  const from = tracksParent ? parentCursorOf(rc.checkpoint) : undefined;
  let run: ParentRun | undefined = c.parentRuns.get(parent.name);
  if (run && tracksParent && !sameCursor(run.start, from)) run = undefined;
  if (run?.failed && !tracksParent) {
    const error = new SluiceError('http', `${s.name}: not fetched because its parent stream ${parent.name} failed in this run`, {
      hint: `fix the failure of ${parent.name} reported above`,
      context: { source: c.config.name, stream: s.name },
    });
    yield { type: 'failure', unit: s.name, error };
    return;
  }
  let own = false; // parents read again for this child alone: it disposes of them
  if (!run) {
    rc.log.info({ parent: parent.name, from }, 'rest.child.reading_parent');
    try {
      run = await collectParents(parent, from, rc, c);
      own = true;
    } catch (error) {
      yield { type: 'failure', unit: s.name, error: failureOf(error, c, s, rc) };
      return;
    }
  }
  try {
    yield* readChildren(s, parent, run, rc, c);
  } finally {
    if (own) await run.rows.dispose();
  }
}

/**
 * Fetches the children of every parent record of `run`, yielding them as they arrive. A failed
 * parent is reported after the records: a `full` child's snapshot is then discarded whole.
 */
async function* readChildren(
  s: RestStreamConfig,
  parent: RestStreamConfig,
  run: ParentRun,
  rc: StreamReadContext,
  c: RestContext,
): AsyncGenerator<SourceMessage> {
  const failures: Array<{ row: ParentRow; error: SluiceError }> = [];
  let notFound = 0;
  let count = 0;
  const parents = run.rows.length;
  for await (const chunk of run.rows.chunks()) {
    const results = mapPool(
      chunk,
      c.concurrency,
      async (row, signal): Promise<{ row: ParentRow; lines: string[] | undefined } | { row: ParentRow; error: SluiceError }> => {
        try {
          return { row, lines: await fetchChildren(s, row, c, signal) };
        } catch (error) {
          const e = toSluiceError(error, { source: c.config.name, stream: s.name, parent: describeParent(row) });
          // An API that cannot be reached fails every parent the same way: stop at the first.
          if (e.fatal || e.code === 'network' || !isSluiceError(error) || signal.aborted) throw e;
          return { row, error: e };
        }
      },
      rc.signal,
    );
    for await (const r of results) {
      if ('error' in r) failures.push({ row: r.row, error: r.error });
      else if (r.lines === undefined) notFound++;
      else if (r.lines.length) {
        count += r.lines.length;
        yield { type: 'records', records: r.lines.map((line) => ({ line, timeMs: undefined })) };
      }
    }
  }
  rc.log.info({ parents, records: count, failed: failures.length, not_found: notFound }, 'rest.children.read');
  if (notFound) {
    yield {
      type: 'warning',
      code: 'parent_not_found',
      message: `${s.name}: ${notFound} of ${parents} ${parent.name} records answered 404 at ${s.path} (deleted upstream?); skipped`,
      detail: { parents, not_found: notFound },
    };
  }
  if (failures.length) {
    for (const f of failures.slice(0, MAX_FAILURES_LISTED))
      yield { type: 'failure', unit: `${s.name} of ${parent.name} ${describeParent(f.row)}`, error: f.error };
    if (failures.length > MAX_FAILURES_LISTED) {
      const more = new SluiceError('http', `${s.name}: ${failures.length - MAX_FAILURES_LISTED} more ${parent.name} records failed`, {
        hint: 'see the failures above; the next run fetches them again',
      });
      yield { type: 'failure', unit: s.name, error: more };
    }
    return; // no checkpoint: the next run reads these parents again
  }
  if (parent.mode === 'incremental' && !run.failed) yield { type: 'checkpoint', state: { parent_cursor: run.end ?? null } };
}

/** One parent's children with its key, or undefined when the endpoint answers 404. */
async function fetchChildren(s: RestStreamConfig, row: ParentRow, c: RestContext, signal: AbortSignal): Promise<string[] | undefined> {
  const missing = placeholders(s).filter((name) => row.vars[name] === undefined);
  if (missing.length) {
    throw new SluiceError(
      'data',
      `${s.name}: the ${s.parent} record ${describeParent(row)} has no ${missing.map((m) => `"${m}"`).join(', ')} to fill ${s.path}`,
      {
        hint: `check ${c.at(s)}.path: {field} must name a field of every ${s.parent} record`,
      },
    );
  }
  const params = Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, fill(v, row.vars, false)]));
  const lines: string[] = [];
  for await (const page of pages({
    stream: s.name,
    at: c.at(s),
    url: joinUrl(c.config.base_url, fill(s.path, row.vars, true), params),
    paginate: s.paginate,
    recordsPath: s.records_path,
    requester: c.requester,
    notFoundIsEmpty: true,
    signal,
  })) {
    if (page.notFound) return undefined;
    for (const r of page.records) lines.push(withParentKey(r, row));
  }
  return lines;
}
