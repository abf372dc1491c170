import type { JsonValue } from '../../core/source.js';

/** What one feed (`repos/o/r`, `orgs/o`, `users/u`) remembers between runs. */
export interface FeedState {
  /** Highest event id stored, as a decimal string. */
  newest_id: string | undefined;
  /** Newest `created_at` stored (ISO). */
  newest_at: string | undefined;
  /** Events already stored inside the lookback margin: key → created_at (ms). */
  recent: Record<string, number>;
  /** The pages read last time, with their ETags, so an unchanged feed costs only 304s. */
  pages: Array<{ url: string; etag: string }>;
}

export interface GithubState {
  version: 1;
  feeds: Record<string, FeedState>;
}

export function parseGithubState(value: JsonValue | undefined): GithubState {
  if (value && typeof value === 'object' && !Array.isArray(value) && value.version === 1 && value.feeds && typeof value.feeds === 'object') {
    return value as unknown as GithubState;
  }
  return { version: 1, feeds: {} };
}

/** Event ids are decimal strings; compare them as integers. */
export function idAbove(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}
