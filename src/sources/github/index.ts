import { contractOf } from '../../config/schema-contract.js';
import { isSluiceError, toSluiceError } from '../../core/errors.js';
import type { SourcePlugin } from '../../core/plugin.js';
import { mapPool } from '../../core/pool.js';
import type { Source, SourceMessage, StreamReadContext, StreamSpec } from '../../core/source.js';
import { httpClientFor } from '../../http/for-source.js';
import { type GithubConfig, githubConfigSchema } from './config.js';
import { readFeed } from './feed.js';
import { type GithubState, parseGithubState, pollDue } from './feed-state.js';

// An event lands in the hour of its created_at, which never changes.
const STREAMS: StreamSpec[] = [{ name: 'events', mode: 'cursor', primaryKey: ['id'], keyKeepsItsHour: true }];

/** GitHub events (DESIGN §8): one `events` stream over every configured repo, org and user feed. */
export const githubSource: SourcePlugin<GithubConfig> = {
  type: 'github',
  configSchema: githubConfigSchema,
  create(config, ctx): Source {
    const concurrency = config.concurrency ?? 4;
    const http = httpClientFor(config, {
      log: ctx.log,
      authHint: `${ctx.at}.token (a GitHub token with read access, or leave it empty for public data)`,
      maxRateLimitWaitMs: config.rate_limit_max_wait * 1000,
    });
    const baseUrl = (config.base_url ?? 'https://api.github.com').replace(/\/+$/, '');
    const headers: Record<string, string> = {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'sluice',
    };
    if (config.token && !config.token.empty) headers.authorization = `Bearer ${config.token.reveal()}`;
    const feeds = [...config.repos.map((r) => `repos/${r}`), ...config.orgs.map((o) => `orgs/${o}`), ...config.users.map((u) => `users/${u}`)];

    async function* read(stream: string, rc: StreamReadContext): AsyncGenerator<SourceMessage> {
      if (stream !== 'events') throw new Error(`github has no stream ${stream}`);
      const state = parseGithubState(rc.checkpoint);
      const next: GithubState = { version: 1, feeds: { ...state.feeds } };
      let remaining = rc.limit;
      const waiting: string[] = [];
      const results = mapPool(
        feeds,
        concurrency,
        async (feed, signal) => {
          // A scheduled run waits for GitHub's poll interval; a user's explicit command polls now.
          const prev = state.feeds[feed];
          if (ctx.scheduled && !pollDue(prev, Date.now())) return { feed, waitUntil: prev?.next_poll_at } as const;
          try {
            const got = await readFeed(feed, prev, {
              http,
              baseUrl,
              headers,
              perPage: config.per_page,
              lookbackMs: config.lookback_hours * 3_600_000,
              limit: rc.limit,
              log: rc.log,
              signal,
            });
            return { feed, got } as const;
          } catch (error) {
            const e = toSluiceError(error, { source: config.name, stream, feed });
            // An API that cannot be reached at all fails every feed the same way: stop at the first.
            if (e.fatal || e.code === 'network' || !isSluiceError(error) || signal.aborted) throw e;
            return { feed, error: e } as const;
          }
        },
        rc.signal,
      );
      for await (const r of results) {
        if ('error' in r && r.error) {
          rc.log.warn({ feed: r.feed, error: r.error.message }, 'github.feed.failed');
          yield { type: 'failure', unit: r.feed, error: r.error };
          continue;
        }
        if ('waitUntil' in r) {
          // Unchanged as far as this run knows; its state stays as it was.
          rc.log.debug({ feed: r.feed, next_poll_at: r.waitUntil }, 'github.feed.poll_later');
          waiting.push(r.feed);
          continue;
        }
        const { got } = r;
        let records = got.records;
        if (remaining !== undefined) {
          records = records.slice(0, remaining);
          remaining -= records.length;
        }
        rc.log.info({ feed: r.feed, records: records.length, requests: got.requests, not_modified: got.notModified }, 'github.feed.read');
        if (records.length > 0) yield { type: 'records', records };
        if (rc.limit === undefined) next.feeds[r.feed] = got.state;
        if (got.gap) {
          yield {
            type: 'warning',
            code: 'possible_gap',
            message: `${r.feed}: the feed's oldest reachable event (${got.gap.oldestReadAt ?? 'unknown'}) is newer than the checkpoint (${got.gap.checkpointAt ?? 'unknown'}); events between them may be lost (GitHub keeps only the newest 300 events of a feed) — run more often`,
            detail: { feed: r.feed, from: got.gap.checkpointAt, to: got.gap.oldestReadAt },
          };
        }
      }
      if (waiting.length > 0) {
        // Said once a run, so that a schedule more frequent than GitHub's interval explains its empty runs.
        const waits = waiting.flatMap((f) => state.feeds[f] ?? []);
        const nextPollAt = waits.flatMap((w) => w.next_poll_at ?? []).sort()[0];
        const pollIntervalS = Math.max(0, ...waits.flatMap((w) => w.poll_interval_s ?? []));
        rc.log.info({ feeds: waiting.length, next_poll_at: nextPollAt, poll_interval_s: pollIntervalS }, 'github.feeds.poll_later');
      }
      yield { type: 'checkpoint', state: next as unknown as import('../../core/source.js').JsonValue };
    }

    /** One event of the first feed: a 401/403 (bad token) or 404 (no such repo) throws. */
    async function check(signal?: AbortSignal): Promise<void> {
      const feed = feeds[0];
      if (feed) await http.request({ url: `${baseUrl}/${feed}/events?per_page=1`, headers, ...(signal ? { signal } : {}) });
    }

    return {
      name: config.name,
      type: 'github',
      streams: () => STREAMS.map((s) => ({ ...s, schema: contractOf(config.schema) })),
      read,
      check,
      close: () => http.close(),
    };
  },
};
