import { contractOf } from '../../config/schema-contract.js';
import type { SourcePlugin } from '../../core/plugin.js';
import type { Source, SourceMessage, StreamReadContext, StreamSpec } from '../../core/source.js';
import { httpClientFor } from '../../http/for-source.js';
import { authHint, RestAuth } from './auth.js';
import { readChildStream } from './child-stream.js';
import { type RestConfig, restConfigSchema } from './config.js';
import { type ParentRun, parentKeyColumn } from './parents.js';
import { scan } from './scan.js';
import { type RestContext, readTopStream } from './top-stream.js';

// An exhausted rate limit that resets later than this fails the stream instead of waiting.
const MAX_RATE_LIMIT_WAIT_MS = 300_000;

/**
 * Any paginated JSON API, declared in config (DESIGN §5): each stream is a path with a mode
 * (`full` snapshots replace, `incremental` streams merge after a cursor), a paginator, and
 * optionally a parent stream whose records it is fetched for.
 */
export const restSource: SourcePlugin<RestConfig> = {
  type: 'rest',
  configSchema: restConfigSchema,
  create(config, ctx): Source {
    const concurrency = config.concurrency ?? 4;
    const http = httpClientFor(config, { log: ctx.log, authHint: authHint(config.auth, ctx.at), maxRateLimitWaitMs: MAX_RATE_LIMIT_WAIT_MS });
    const c: RestContext = {
      config,
      requester: new RestAuth({ http, config, at: ctx.at, log: ctx.log }),
      at: (s) => `${ctx.at}.streams[${config.streams.indexOf(s)}]`,
      concurrency,
      parentRuns: new Map<string, ParentRun>(),
    };
    // Parents are read before their children, whatever the order in the config.
    const ordered = [...config.streams.filter((s) => !s.parent), ...config.streams.filter((s) => s.parent)];
    const specs: StreamSpec[] = ordered.map((s) => {
      const parent = s.parent ? config.streams.find((p) => p.name === s.parent) : undefined;
      return {
        name: s.name,
        mode: s.mode === 'incremental' ? 'cursor' : 'full',
        // Children of different parents never collide: their key starts with the parent's.
        primaryKey: [...(parent?.primary_key.map(parentKeyColumn) ?? []), ...s.primary_key],
        schema: contractOf(config.schema, s.schema),
      };
    });

    async function* read(stream: string, rc: StreamReadContext): AsyncGenerator<SourceMessage> {
      const s = config.streams.find((x) => x.name === stream);
      if (!s) throw new Error(`source ${config.name} has no stream ${stream}`);
      yield* s.parent ? readChildStream(s, rc, c) : readTopStream(s, rc, c);
    }

    /** The first page of the first top-level stream (logging in first, when the API wants it). */
    async function check(signal?: AbortSignal): Promise<void> {
      const first = ordered[0];
      if (!first) return;
      const pages = scan({
        config,
        stream: first,
        at: c.at(first),
        requester: c.requester,
        start: undefined,
        limit: 1,
        signal: signal ?? new AbortController().signal,
      });
      for await (const ev of pages) if (ev.type === 'records') break;
    }

    return {
      name: config.name,
      type: 'rest',
      streams: () => specs,
      read,
      check,
      async close() {
        // Parent records kept for child streams may sit in a scratch file.
        for (const run of c.parentRuns.values()) await run.rows.dispose();
        c.parentRuns.clear();
        await http.close();
      },
    };
  },
};
