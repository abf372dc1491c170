import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Agent } from 'undici';
import { AuthError, HttpError, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redactText } from '../core/redact.js';
import { fullJitter, retryAfterMs, sleep } from './backoff.js';

export interface HttpClientOptions {
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryCapMs?: number;
  /** The longest wait for an exhausted rate limit to reset before giving up on that unit. */
  maxRateLimitWaitMs: number;
  /** Connections kept alive per origin; match the source's concurrency. */
  connections: number;
  log: Logger;
  /** Names the setting to fix when the API rejects the credentials, e.g. "sources[0].token". */
  authHint: string;
  /** Context added to every error (source, stream). */
  context?: Record<string, unknown>;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string;
  /** Statuses the caller handles itself (e.g. 304, 404, 422) instead of an error. */
  accept?: readonly number[];
  signal?: AbortSignal;
  /** Stream a 2xx body to this file instead of holding it in memory (`body` is then empty). */
  toFile?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  url: string;
}

const RETRYABLE_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** undici, imported at the first request: a command that fetches nothing (`load`, `status`) never pays its 0.1 s. */
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = () => {
  undici ??= import('undici');
  return undici;
};
const MAX_RATE_LIMIT_WAITS = 5;

/**
 * The one HTTP client every source uses: keep-alive, timeouts, bounded retries with full jitter,
 * `Retry-After` and rate-limit headers honoured, credentials rejected at once, secrets redacted.
 */
export class HttpClient {
  #agent: Promise<Agent> | undefined;
  readonly #o: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.#o = options;
  }

  #dispatcher(): Promise<Agent> {
    const o = this.#o;
    this.#agent ??= loadUndici().then(
      ({ Agent }) =>
        new Agent({
          connections: o.connections,
          keepAliveTimeout: 10_000,
          headersTimeout: o.timeoutMs,
          bodyTimeout: o.timeoutMs,
          connect: { timeout: o.timeoutMs },
        }),
    );
    return this.#agent;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const log = this.#o.log;
    const shownUrl = redactText(req.url);
    let attempt = 0;
    let rateLimitWaits = 0;
    for (;;) {
      let res: HttpResponse | undefined;
      let failure: unknown;
      try {
        res = await this.#once(req);
      } catch (error) {
        failure = error;
      }
      if (res && (res.status < 400 || req.accept?.includes(res.status))) return res;

      if (res) {
        const limit = rateLimit(res);
        if (limit) {
          const wait = limit.waitMs;
          if (wait > this.#o.maxRateLimitWaitMs || rateLimitWaits >= MAX_RATE_LIMIT_WAITS) {
            throw new SluiceError(
              'rate_limited',
              `rate limit of ${shownUrl} exhausted; it resets in ${Math.ceil(wait / 1000)} s, longer than the configured wait`,
              {
                hint: 'run again after the reset, use a token with a higher limit, or raise rate_limit_max_wait',
                retryable: true,
                context: { ...this.#o.context, url: shownUrl, status: res.status, reset_in_s: Math.ceil(wait / 1000) },
              },
            );
          }
          rateLimitWaits++;
          log.warn({ url: shownUrl, status: res.status, wait_ms: wait, kind: limit.kind }, 'http.rate_limited');
          await sleep(wait, req.signal);
          continue;
        }
        if (res.status === 401 || res.status === 403) {
          throw new AuthError(`${res.status} ${statusText(res)} from ${shownUrl}: the credentials were rejected`, {
            hint: `check ${this.#o.authHint}`,
            context: { ...this.#o.context, url: shownUrl, status: res.status },
          });
        }
        if (res.status !== 429 && res.status < 500) {
          throw new HttpError(`${res.status} ${statusText(res)} from ${shownUrl}`, {
            hint: 'check the source settings (base_url, paths, parameters)',
            context: { ...this.#o.context, url: shownUrl, status: res.status },
          });
        }
      } else if (!isRetryableNetworkError(failure)) {
        throw failure instanceof SluiceError
          ? failure
          : new SluiceError('network', `request to ${shownUrl} failed: ${redactText(messageOf(failure))}`, {
              hint: 'check base_url and the network',
              context: { ...this.#o.context, url: shownUrl },
              cause: failure,
            });
      }

      if (attempt >= this.#o.maxRetries) {
        const what = res ? `${res.status} ${statusText(res)}` : redactText(messageOf(failure));
        throw new SluiceError(res ? 'http' : 'network', `${shownUrl} still failing after ${attempt + 1} attempts: ${what}`, {
          hint: 'the API is unavailable; run again later (nothing is lost: the next run resumes)',
          retryable: true,
          context: { ...this.#o.context, url: shownUrl, ...(res ? { status: res.status } : {}) },
          cause: failure,
        });
      }
      const jitter = fullJitter(attempt, this.#o.retryBaseMs, this.#o.retryCapMs ?? 30_000);
      const wait = Math.max(jitter, (res && retryAfterMs(res.headers['retry-after'])) ?? 0);
      attempt++;
      log.warn({ url: shownUrl, status: res?.status, error: res ? undefined : redactText(messageOf(failure)), attempt, wait_ms: wait }, 'http.retry');
      await sleep(wait, req.signal);
    }
  }

  async #once(req: HttpRequest): Promise<HttpResponse> {
    const { request } = await loadUndici();
    const res = await request(req.url, {
      method: req.method ?? 'GET',
      headers: req.headers,
      body: req.body,
      dispatcher: await this.#dispatcher(),
      signal: req.signal,
    });
    let body: Buffer;
    if (req.toFile && res.statusCode >= 200 && res.statusCode < 300) {
      await pipeline(res.body, createWriteStream(req.toFile));
      body = Buffer.alloc(0);
    } else {
      body = Buffer.from(await res.body.arrayBuffer());
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.statusCode, headers, body, url: req.url };
  }

  async close(): Promise<void> {
    if (this.#agent === undefined) return; // never used
    const agent = await this.#agent;
    if (agent.closed || agent.destroyed) return; // closing twice is harmless
    await agent.close();
  }
}

/** A rate-limit answer and how long to wait, or undefined for other errors. */
function rateLimit(res: HttpResponse): { kind: 'primary' | 'secondary'; waitMs: number } | undefined {
  if (res.status !== 403 && res.status !== 429) return undefined;
  const h = res.headers;
  const after = retryAfterMs(h['retry-after']);
  if (h['x-ratelimit-remaining'] === '0' && h['x-ratelimit-reset']) {
    const resetMs = Number(h['x-ratelimit-reset']) * 1000;
    if (Number.isFinite(resetMs)) return { kind: 'primary', waitMs: Math.max(after ?? 0, resetMs - Date.now() + 500, 0) };
  }
  if (after !== undefined) return { kind: 'secondary', waitMs: after };
  if (res.status === 403 && /rate limit/i.test(res.body.toString('utf8', 0, 500))) return { kind: 'secondary', waitMs: 60_000 };
  return undefined; // a plain 429 is retried with backoff like a 5xx
}

function statusText(res: HttpResponse): string {
  try {
    const parsed = JSON.parse(res.body.toString('utf8', 0, 2000)) as { message?: unknown };
    if (typeof parsed.message === 'string') return redactText(parsed.message).slice(0, 200);
  } catch {
    /* not JSON */
  }
  return '';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}

/** A network failure worth another attempt, by its code (undici's timeouts and socket errors carry theirs). */
function isRetryableNetworkError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: string }).code;
    if (code && RETRYABLE_NETWORK.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
