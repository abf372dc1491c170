import * as z from 'zod';
import type { JsonValue } from '../../core/source.js';

/** What one feed (`repos/o/r`, `orgs/o`, `users/u`) remembers between runs. */
const feedStateSchema = z.object({
  /** Highest event id stored, as a decimal string. */
  newest_id: z.string().regex(/^\d+$/).optional(),
  /** Newest `created_at` stored (ISO). */
  newest_at: z.string().optional(),
  /** Events already stored inside the lookback margin: key → created_at (ms). */
  recent: z.record(z.string(), z.number()).default({}),
  /** The pages read last time, with their ETags, so an unchanged feed costs only 304s. */
  pages: z.array(z.object({ url: z.string(), etag: z.string() })).default([]),
  /** GitHub's `X-Poll-Interval` after the last poll: not asked again before this time (ISO). */
  next_poll_at: z.string().optional(),
  /** The `X-Poll-Interval` it came from, in seconds. */
  poll_interval_s: z.number().positive().optional(),
});

export type FeedState = z.infer<typeof feedStateSchema>;

export interface GithubState {
  version: 1;
  feeds: Record<string, FeedState>;
}

/**
 * The checkpoint as the source wrote it. A feed whose state does not parse (a checkpoint edited by
 * hand, or from another version) starts again: its events are read anew and the merge on `id`
 * absorbs what was already stored.
 */
export function parseGithubState(value: JsonValue | undefined): GithubState {
  const state: GithubState = { version: 1, feeds: {} };
  const top = z.object({ version: z.literal(1), feeds: z.record(z.string(), z.unknown()) }).safeParse(value);
  if (!top.success) return state;
  for (const [feed, raw] of Object.entries(top.data.feeds)) {
    const parsed = feedStateSchema.safeParse(raw);
    if (parsed.success) state.feeds[feed] = parsed.data;
  }
  return state;
}

/** Event ids are decimal strings; compare them as integers. */
export function idAbove(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** The longest `X-Poll-Interval` honoured: a bogus header must not stop a feed for days. */
const MAX_POLL_INTERVAL_S = 3600;

/** The time a feed may be polled again, from the `X-Poll-Interval` of a poll sent at `sentMs`. */
export function pollWindow(header: string | undefined, sentMs: number): Pick<FeedState, 'next_poll_at' | 'poll_interval_s'> {
  const seconds = header === undefined ? Number.NaN : Number(header.trim());
  if (!Number.isFinite(seconds) || seconds <= 0) return {};
  const s = Math.min(seconds, MAX_POLL_INTERVAL_S);
  return { next_poll_at: new Date(sentMs + s * 1000).toISOString(), poll_interval_s: s };
}

/**
 * Whether GitHub lets the feed be polled at `nowMs`. The slack (a tenth of the interval, at most
 * a second) absorbs the start-up jitter of a schedule whose period equals the interval, which
 * would otherwise skip every other tick.
 */
export function pollDue(state: FeedState | undefined, nowMs: number): boolean {
  if (!state?.next_poll_at) return true;
  const at = Date.parse(state.next_poll_at);
  if (Number.isNaN(at)) return true;
  const slackMs = Math.min(1000, (state.poll_interval_s ?? 0) * 100);
  return nowMs >= at - slackMs;
}
