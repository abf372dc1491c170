import type { Requester } from './auth.js';
import type { RestConfig, RestStreamConfig } from './config.js';
import { CursorTracker, type CursorValue, cursorOf, cursorParam, nextCursor } from './cursor.js';
import { pages, type RawRecord } from './paginate.js';
import { joinUrl } from './url.js';

export type ScanEvent =
  | { type: 'records'; records: RawRecord[] }
  /** `end`: where the next run starts (incremental streams); `limited`: records were left unread. */
  | { type: 'done'; end: CursorValue | undefined; limited: boolean; pages: number; read: number };

export interface ScanOptions {
  config: RestConfig;
  stream: RestStreamConfig;
  at: string;
  requester: Requester;
  /** The checkpoint to read after (incremental streams). */
  start: CursorValue | undefined;
  limit: number | undefined;
  signal: AbortSignal;
}

/**
 * Reads a top-level stream: every page from the checkpoint on (minus the lookback), at most
 * `limit` records, then where the next run may start. Errors are thrown; the caller decides
 * whether they fail the stream or the run.
 */
export async function* scan(o: ScanOptions): AsyncGenerator<ScanEvent> {
  const s = o.stream;
  const params = { ...s.params };
  if (s.mode === 'incremental' && s.cursor && o.start !== undefined) params[s.cursor.param] = cursorParam(o.start, s.cursor, o.at);
  const seen = new CursorTracker();
  let read = 0;
  let pageCount = 0;
  let limited: { firstUnread: CursorValue | undefined } | undefined;
  for await (const page of pages({
    stream: s.name,
    at: o.at,
    url: joinUrl(o.config.base_url, s.path, params),
    paginate: s.paginate,
    recordsPath: s.records_path,
    requester: o.requester,
    signal: o.signal,
  })) {
    pageCount++;
    let records = page.records;
    if (o.limit !== undefined && read + records.length > o.limit) {
      const firstUnread = records[o.limit - read];
      limited = { firstUnread: s.cursor && firstUnread ? cursorOf(firstUnread.value, s.cursor.field) : undefined };
      records = records.slice(0, o.limit - read);
    }
    read += records.length;
    if (s.cursor) for (const r of records) seen.see(cursorOf(r.value, s.cursor.field));
    if (records.length > 0) yield { type: 'records', records };
    if (limited) break;
  }
  const end = s.mode === 'incremental' ? nextCursor(o.start, seen, limited) : undefined;
  yield { type: 'done', end, limited: limited !== undefined, pages: pageCount, read };
}
