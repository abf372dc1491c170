import { createHash } from 'node:crypto';
import { SluiceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { SourceRecord } from '../../core/source.js';
import type { HttpClient } from '../../http/client.js';
import { nextLink } from '../../http/link.js';
import { asLine, scanJsonArray } from '../json-array.js';
import { type FeedState, idAbove, pollWindow } from './feed-state.js';

export interface FeedRead {
  records: SourceRecord[];
  /** The state to save once the records are stored. */
  state: FeedState;
  requests: number;
  notModified: boolean;
  /** The end of the reachable feed came before the checkpoint: events may have been lost. */
  gap: { oldestReadAt: string | undefined; checkpointAt: string | undefined } | undefined;
}

export interface FeedOptions {
  http: HttpClient;
  baseUrl: string;
  headers: Record<string, string>;
  perPage: number;
  lookbackMs: number;
  limit: number | undefined;
  log: Logger;
  signal: AbortSignal;
}

interface Event {
  key: string;
  id: string | undefined;
  createdMs: number | undefined;
}

/**
 * Reads one events feed newest first, down to the lookback margin behind the checkpoint. Events
 * already stored (their keys are remembered for the margin) are skipped, so overlap never lands
 * twice; the merge on `id` in the warehouse absorbs anything that does.
 */
export async function readFeed(feed: string, prev: FeedState | undefined, o: FeedOptions): Promise<FeedRead> {
  const cutoff = prev?.newest_at ? Date.parse(prev.newest_at) - o.lookbackMs : undefined;
  const records: SourceRecord[] = [];
  const seen: Record<string, number> = {};
  const pages: FeedState['pages'] = [];
  let newestId = prev?.newest_id;
  let newestMs = prev?.newest_at ? Date.parse(prev.newest_at) : undefined;
  let oldestReadMs: number | undefined;
  let metCheckpoint = false;
  let reachedEnd = false;
  let limited = false;
  let requests = 0;
  let allNotModified = true;
  let poll: ReturnType<typeof pollWindow> = {};

  let url: string | undefined = `${o.baseUrl}/${feed}/events?per_page=${o.perPage}`;
  for (let pageNo = 0; url; pageNo++) {
    const known = prev?.pages[pageNo];
    const etag = known && (pageNo === 0 || allNotModified) && known.url === url ? known.etag : undefined;
    const sentMs = Date.now();
    const res = await o.http.request({
      url,
      headers: etag ? { ...o.headers, 'if-none-match': etag } : o.headers,
      accept: [304, 422],
      signal: o.signal,
    });
    requests++;
    // GitHub's `X-Poll-Interval` counts from the poll: the first page's request.
    if (pageNo === 0) poll = pollWindow(res.headers['x-poll-interval'], sentMs);
    if (res.status === 304 && known) {
      // Unchanged page: its events are stored. Check the next stored page the same way (free).
      pages.push(known);
      url = prev?.pages[pageNo + 1]?.url;
      continue;
    }
    allNotModified = false;
    if (res.status === 422) {
      reachedEnd = true; // past the newest 300 events: the end of what GitHub keeps
      break;
    }
    const events = parsePage(res.body, feed, url);
    if (res.headers.etag) pages.push({ url, etag: res.headers.etag });
    let pastCutoff = false;
    for (const { raw, event } of events) {
      if (event.createdMs !== undefined) oldestReadMs = Math.min(oldestReadMs ?? event.createdMs, event.createdMs);
      const old = event.id === undefined || !idAbove(event.id, prev?.newest_id);
      if (prev && event.id !== undefined && old) metCheckpoint = true;
      const beforeCutoff = cutoff !== undefined && event.createdMs !== undefined && event.createdMs < cutoff;
      if (beforeCutoff) pastCutoff = true;
      if (prev?.recent[event.key] !== undefined || seen[event.key] !== undefined) continue; // stored already
      if (beforeCutoff && old) continue; // older than the margin: stored by an earlier run
      if (o.limit !== undefined && records.length >= o.limit) {
        limited = true;
        break;
      }
      records.push({ line: asLine(raw), timeMs: event.createdMs });
      seen[event.key] = event.createdMs ?? Date.now();
      if (event.id !== undefined && idAbove(event.id, newestId)) newestId = event.id;
      if (event.createdMs !== undefined && (newestMs === undefined || event.createdMs > newestMs)) newestMs = event.createdMs;
    }
    if (limited || pastCutoff) break;
    url = nextLink(res.headers.link);
    if (!url) reachedEnd = true;
  }

  if (allNotModified && prev) {
    return { records: [], state: withPoll(prev, poll), requests, notModified: true, gap: undefined };
  }
  // A limited read covers only the newest events: keeping the old state makes the next full run
  // read everything it skipped (DESIGN: a limited run never advances a checkpoint past what it read).
  if (limited) return { records, state: prev ?? emptyState(), requests, notModified: false, gap: undefined };

  const newestAt = newestMs === undefined ? undefined : new Date(newestMs).toISOString();
  const keepFrom = newestMs === undefined ? 0 : newestMs - o.lookbackMs;
  const recent: Record<string, number> = {};
  for (const [k, ms] of Object.entries({ ...prev?.recent, ...seen })) if (ms >= keepFrom) recent[k] = ms;
  const gap =
    prev?.newest_id !== undefined && reachedEnd && !metCheckpoint
      ? { oldestReadAt: oldestReadMs === undefined ? undefined : new Date(oldestReadMs).toISOString(), checkpointAt: prev.newest_at }
      : undefined;
  return { records, state: withPoll({ newest_id: newestId, newest_at: newestAt, recent, pages }, poll), requests, notModified: false, gap };
}

function withPoll(state: FeedState, poll: ReturnType<typeof pollWindow>): FeedState {
  const { next_poll_at: _at, poll_interval_s: _s, ...rest } = state;
  return { ...rest, ...poll };
}

function emptyState(): FeedState {
  return { newest_id: undefined, newest_at: undefined, recent: {}, pages: [] };
}

function parsePage(body: Buffer, feed: string, url: string): Array<{ raw: Buffer; event: Event }> {
  const elements = scanJsonArray(body, ['id', 'created_at']);
  if (!elements) {
    throw new SluiceError('data', `${feed}: the events page ${url} is not a JSON array of events`, { retryable: true, context: { url } });
  }
  return elements.map(({ raw, fields: [id, created] }) => {
    const ms = created === undefined ? Number.NaN : Date.parse(created);
    // An event without an id is still landed (and rejected at load); it is remembered by its bytes.
    const key = id ?? `sha1:${createHash('sha1').update(raw).digest('hex')}`;
    return { raw, event: { key, id, createdMs: Number.isNaN(ms) ? undefined : ms } };
  });
}
