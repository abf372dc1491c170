import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { contractOf } from '../../config/schema-contract.js';
import { SluiceError } from '../../core/errors.js';
import { tempPathFor } from '../../core/fs/temp-files.js';
import { floorHour, HOUR_MS } from '../../core/hours.js';
import type { SourcePlugin } from '../../core/plugin.js';
import { mapPool } from '../../core/pool.js';
import type { Source, SourceMessage, StreamReadContext, StreamSpec, WindowPlan } from '../../core/source.js';
import { basicAuthorization } from '../../http/basic-auth.js';
import { httpClientFor } from '../../http/for-source.js';
import { checkArchive, type GzipCheck, type OpenArchive, openArchive } from './archive.js';
import { AMPLITUDE_REGIONS, type AmplitudeConfig, amplitudeConfigSchema } from './config.js';
import { downloadRange, type RangeResult } from './export.js';
import { describeRange, exportHour, groupHours, rangeHours } from './ranges.js';

// An event is filed under the hour of its server_upload_time, which never changes (DESIGN §8).
const STREAMS: StreamSpec[] = [{ name: 'events', mode: 'window', primaryKey: ['uuid'], keyKeepsItsHour: true }];
const NEWLINE_MEMBER = gzipSync('\n');

/** Amplitude's Export API (DESIGN §8): one `events` stream, one batch per hour of `server_upload_time`. */
export const amplitudeSource: SourcePlugin<AmplitudeConfig> = {
  type: 'amplitude',
  configSchema: amplitudeConfigSchema,
  create(config, ctx): Source {
    // Amplitude counts about 5 concurrent requests per project: stay at or below that by default.
    const concurrency = config.concurrency ?? 4;
    const http = httpClientFor(config, {
      log: ctx.log,
      authHint: `${ctx.at}.api_key and ${ctx.at}.secret_key (the project's API key and secret key)`,
      maxRateLimitWaitMs: 15 * 60_000,
    });
    const baseUrl = (config.base_url ?? AMPLITUDE_REGIONS[config.region]).replace(/\/+$/, '');
    const authorization = basicAuthorization(config.api_key.reveal(), config.secret_key.reveal());

    function window(_stream: string, nowMs: number): WindowPlan {
      return {
        startMs: floorHour(nowMs - config.lookback_days * 24 * HOUR_MS),
        endMs: floorHour(nowMs) - config.lag_hours * HOUR_MS,
        refreshHours: config.refresh_hours,
      };
    }

    async function* read(stream: string, rc: StreamReadContext): AsyncGenerator<SourceMessage> {
      if (stream !== 'events') throw new Error(`amplitude has no stream ${stream}`);
      const ranges = groupHours(rc.hours ?? [], config.max_hours_per_request);
      const scratchDir = rc.scratchDir ?? ctx.tempDir;
      await fs.promises.mkdir(scratchDir, { recursive: true });
      const client = { http, baseUrl, authorization, scratchDir, signal: rc.signal };
      const total = ranges.reduce((n, r) => n + rangeHours(r).length, 0);
      let done = 0;
      // Checked archives not landed yet: closed and deleted if the read ends early.
      const waiting = new Set<Extract<Checked, { kind: 'checked' }>>();
      const downloads = mapPool(
        ranges,
        concurrency,
        async (range, signal): Promise<Checked[]> => {
          let results: RangeResult[];
          try {
            results = await downloadRange({ ...client, signal }, range);
          } catch (error) {
            if ((error instanceof SluiceError && error.fatal) || signal.aborted) throw error;
            return [{ kind: 'failed', range, status: 0, message: `${describeRange(range)}: ${(error as Error).message}` }];
          }
          // Archives are checked here, several at once, so landing them is a plain copy.
          const checked = await Promise.all(results.map((r) => (r.kind === 'zip' ? checkRange(r, config) : r)));
          for (const r of checked) {
            if (r.kind !== 'checked') continue;
            if (signal.aborted)
              await release(r); // the read ended while this range was being checked
            else waiting.add(r);
          }
          return checked;
        },
        rc.signal,
      );
      try {
        for await (const results of downloads) {
          for (const r of results) {
            yield* landRange(r, rc);
            if (r.kind === 'checked') waiting.delete(r);
            done += rangeHours(r.range).length;
          }
          rc.log.info({ hours_done: done, hours_total: total }, 'amplitude.progress');
        }
      } finally {
        for (const r of waiting) await release(r);
      }
    }

    /** One export hour, long past (a 404 "no data" is an answer too): a 401/403 throws. */
    async function check(signal?: AbortSignal): Promise<void> {
      const hour = exportHour(floorHour(Date.now()) - 400 * 24 * HOUR_MS);
      await fs.promises.mkdir(ctx.tempDir, { recursive: true });
      const file = tempPathFor(path.join(ctx.tempDir, 'check.zip'));
      try {
        await http.request({
          url: `${baseUrl}/api/2/export?start=${hour}&end=${hour}`,
          headers: { authorization },
          accept: [400, 404],
          toFile: file,
          ...(signal ? { signal } : {}),
        });
      } finally {
        await fs.promises.rm(file, { force: true });
      }
    }

    return {
      name: config.name,
      type: 'amplitude',
      streams: () => STREAMS.map((s) => ({ ...s, schema: contractOf(config.schema) })),
      read,
      window,
      check,
      close: () => http.close(),
    };
  },
};

/** A downloaded range after its archive was checked: ready to land, or refused with the reason. */
type Checked =
  | Exclude<RangeResult, { kind: 'zip' }>
  | { kind: 'checked'; range: RangeResult['range']; file: string; archive: OpenArchive; checks: Map<string, GzipCheck> }
  | { kind: 'refused'; range: RangeResult['range']; file: string; error: unknown };

/** Opens a downloaded archive and inflates every entry to check it, before anything lands. */
async function checkRange(r: Extract<RangeResult, { kind: 'zip' }>, config: AmplitudeConfig): Promise<Checked> {
  let archive: OpenArchive | undefined;
  try {
    archive = await openArchive(r.file, r.range, config.max_entry_bytes);
    const checks = await checkArchive(archive, { maxBytes: config.max_entry_bytes, maxRatio: config.max_compression_ratio });
    return { kind: 'checked', range: r.range, file: r.file, archive, checks };
  } catch (error) {
    archive?.close();
    return { kind: 'refused', range: r.range, file: r.file, error };
  }
}

/** Turns one checked range into raw hour batches: all of its hours complete, or none. */
async function* landRange(r: Checked, rc: StreamReadContext): AsyncGenerator<SourceMessage> {
  const hours = rangeHours(r.range);
  if (r.kind === 'empty') {
    yield { type: 'complete', hours };
    return;
  }
  if (r.kind === 'failed') {
    yield { type: 'failure', unit: describeRange(r.range), error: new SluiceError('http', r.message, { hint: 'the next run asks for this hour again' }) };
    return;
  }
  try {
    if (r.kind === 'refused') throw r.error;
    let rows = 0;
    for (const [hourMs, parts] of r.archive.hours) {
      let endsWithNewline = true;
      for (const part of parts) {
        // Two members of one hour must not glue the last line of one to the first of the next.
        if (!endsWithNewline) yield { type: 'raw', hourMs, gzip: NEWLINE_MEMBER };
        for await (const chunk of (await r.archive.open(part)) as AsyncIterable<Buffer>) yield { type: 'raw', hourMs, gzip: chunk };
        const check = r.checks.get(part.name) as GzipCheck;
        rows += check.lines;
        if (check.bytesOut > 0) endsWithNewline = check.lastByte === 10;
      }
    }
    yield { type: 'complete', hours, records: rows };
    rc.log.info({ range: describeRange(r.range), hours: hours.length, rows }, 'amplitude.range.landed');
  } catch (error) {
    yield { type: 'discard', hours };
    const e =
      error instanceof SluiceError
        ? error
        : new SluiceError('data', `${describeRange(r.range)}: ${(error as Error).message}`, { retryable: true, cause: error });
    rc.log.warn({ range: describeRange(r.range), error: e.message }, 'amplitude.range.refused');
    yield { type: 'failure', unit: describeRange(r.range), error: e };
  } finally {
    await release(r);
  }
}

/** Closes a range's archive and deletes its download: once it has landed, or will not. */
async function release(r: Extract<Checked, { file: string }>): Promise<void> {
  if (r.kind === 'checked') r.archive.close();
  await fs.promises.rm(r.file, { force: true });
}
