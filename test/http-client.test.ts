import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, HttpError, SluiceError } from '../src/core/errors.js';
import type { Logger } from '../src/core/logger.js';
import { redactText, Secret } from '../src/core/redact.js';
import { fullJitter, retryAfterMs } from '../src/http/backoff.js';
import { HttpClient, type HttpClientOptions } from '../src/http/client.js';
import { nextLink } from '../src/http/link.js';
import { type ScriptedServer, startScriptedServer } from './support/http-server.js';

/** A logger that keeps every line, to check what would be written. */
function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: (f, e) => void lines.push(`${e} ${JSON.stringify(f)}`),
    info: (f, e) => void lines.push(`${e} ${JSON.stringify(f)}`),
    warn: (f, e) => void lines.push(`${e} ${JSON.stringify(f)}`),
    error: (f, e) => void lines.push(`${e} ${JSON.stringify(f)}`),
    child: () => log,
  };
  return log;
}

let server: ScriptedServer;
let clients: HttpClient[] = [];
let logLines: string[];

function newClient(o: Partial<HttpClientOptions> = {}): HttpClient {
  logLines = [];
  const client = new HttpClient({
    timeoutMs: 2000,
    maxRetries: 4,
    retryBaseMs: 5,
    maxRateLimitWaitMs: 5000,
    connections: 2,
    log: recordingLogger(logLines),
    authHint: 'sources[0].token',
    context: { source: 'test' },
    ...o,
  });
  clients.push(client);
  return client;
}

/** The error a request fails with. */
async function failure(p: Promise<unknown>): Promise<SluiceError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(SluiceError);
    return error as SluiceError;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  server = await startScriptedServer();
});
afterEach(async () => {
  for (const c of clients) await c.close();
  clients = [];
});
afterAll(async () => {
  await server.close();
});

const json = (v: unknown) => JSON.stringify(v);

describe('HttpClient retries', () => {
  it('retries 503, 502 and 429 with backoff, then returns the success', async () => {
    server.script([{ status: 503 }, { status: 502 }, { status: 429 }, { status: 200, body: '[1]' }]);
    const res = await newClient().request({ url: `${server.url}/events` });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('[1]');
    expect(server.requests).toHaveLength(4);
    expect(logLines.filter((l) => l.startsWith('http.retry'))).toHaveLength(3);
  });

  it('waits as long as Retry-After says before the next attempt', async () => {
    server.script([
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 200, body: 'ok' },
    ]);
    const res = await newClient().request({ url: `${server.url}/x` });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    // Backoff alone would wait at most 5 ms: the gap the server saw is Retry-After's second.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('retries a connection reset', async () => {
    server.script(['reset', 'reset', { status: 200, body: 'ok' }]);
    const res = await newClient().request({ url: `${server.url}/x` });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(3);
  });

  it('retries a response slower than the timeout, and succeeds when the server answers in time', async () => {
    server.script([
      { status: 200, body: 'late', delayMs: 1500 },
      { status: 200, body: 'ok' },
    ]);
    const res = await newClient({ timeoutMs: 200 }).request({ url: `${server.url}/x` });
    expect(res.body.toString()).toBe('ok');
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after max_retries with an error that says what to do', async () => {
    server.script([{ status: 200, body: 'late', delayMs: 1500 }]);
    const e = await failure(newClient({ timeoutMs: 200, maxRetries: 2 }).request({ url: `${server.url}/x` }));
    expect(server.requests).toHaveLength(3);
    expect(e.code).toBe('network');
    expect(e.retryable).toBe(true);
    expect(e.message).toMatch(/still failing after 3 attempts/);
    expect(e.hint).toMatch(/run again later/);
  });

  it('gives up on a 5xx that lasts, naming the status', async () => {
    server.script([{ status: 503, body: json({ message: 'Service Unavailable' }) }]);
    const e = await failure(newClient({ maxRetries: 1 }).request({ url: `${server.url}/x` }));
    expect(server.requests).toHaveLength(2);
    expect(e.code).toBe('http');
    expect(e.context.status).toBe(503);
  });
});

describe('HttpClient answers that are not retried', () => {
  it('a 401 is an AuthError at once, with a hint naming the setting', async () => {
    server.script([{ status: 401, body: json({ message: 'Bad credentials' }) }, { status: 200 }]);
    const e = await failure(newClient().request({ url: `${server.url}/x` }));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.code).toBe('auth');
    expect(e.fatal).toBe(true);
    expect(e.message).toMatch(/401 Bad credentials/);
    expect(e.hint).toMatch(/sources\[0\]\.token/);
    expect(server.requests).toHaveLength(1);
  });

  it('a 403 that is not a rate limit is an AuthError too', async () => {
    server.script([{ status: 403, body: json({ message: 'Resource not accessible' }) }]);
    const e = await failure(newClient().request({ url: `${server.url}/x` }));
    expect(e).toBeInstanceOf(AuthError);
    expect(server.requests).toHaveLength(1);
  });

  it('a 404 is an HttpError without retry', async () => {
    server.script([{ status: 404, body: json({ message: 'Not Found' }) }, { status: 200 }]);
    const e = await failure(newClient().request({ url: `${server.url}/x` }));
    expect(e).toBeInstanceOf(HttpError);
    expect(e.context.status).toBe(404);
    expect(e.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('a status the caller accepts (304) is returned as it is', async () => {
    server.script([{ status: 304, headers: { etag: 'W/"abc"' } }]);
    const res = await newClient().request({ url: `${server.url}/x`, headers: { 'if-none-match': 'W/"abc"' }, accept: [304] });
    expect(res.status).toBe(304);
    expect(res.headers.etag).toBe('W/"abc"');
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['if-none-match']).toBe('W/"abc"');
  });
});

describe('HttpClient rate limits', () => {
  const exhausted = (resetS: number) => ({
    status: 403,
    headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetS) },
    body: json({ message: 'API rate limit exceeded' }),
  });

  it('waits out an exhausted limit whose reset is near', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 1;
    server.script([exhausted(reset), { status: 200, body: 'ok' }]);
    const res = await newClient().request({ url: `${server.url}/x` });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at).toBeGreaterThanOrEqual(reset * 1000);
    expect(logLines.some((l) => l.startsWith('http.rate_limited'))).toBe(true);
  });

  it('stops with rate_limited when the reset is further away than the configured wait', async () => {
    server.script([exhausted(Math.ceil(Date.now() / 1000) + 3600), { status: 200 }]);
    const e = await failure(newClient({ maxRateLimitWaitMs: 5000 }).request({ url: `${server.url}/x` }));
    expect(e.code).toBe('rate_limited');
    expect(e.hint).toMatch(/rate_limit_max_wait/);
    expect(server.requests).toHaveLength(1);
  });

  it('waits out a secondary limit (403 with Retry-After)', async () => {
    server.script([
      { status: 403, headers: { 'retry-after': '1' }, body: json({ message: 'secondary rate limit' }) },
      { status: 200, body: 'ok' },
    ]);
    const res = await newClient().request({ url: `${server.url}/x` });
    expect(res.status).toBe(200);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(990);
  });
});

describe('HttpClient keeps secrets out of errors and logs', () => {
  const secret = new Secret('s3cr3t-value');

  it('redactText removes a known secret from any text', () => {
    expect(redactText(`token=${secret.reveal()}&x=1`)).toBe('token=[redacted]&x=1');
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
  });

  it('a 404, a 401 echoing the secret, and exhausted retries never show it', async () => {
    const url = `${server.url}/private?access_token=${secret.reveal()}`;
    const errors: SluiceError[] = [];
    server.script([{ status: 404 }]);
    errors.push(await failure(newClient().request({ url })));
    server.script([{ status: 401, body: json({ message: `bad token ${secret.reveal()}` }) }]);
    errors.push(await failure(newClient().request({ url })));
    server.script([{ status: 503 }]);
    errors.push(await failure(newClient({ maxRetries: 2 }).request({ url })));
    const retryLog = logLines.join('\n');
    server.script([{ status: 200, body: 'late', delayMs: 1000 }]);
    errors.push(await failure(newClient({ timeoutMs: 100, maxRetries: 0 }).request({ url })));

    for (const e of errors) {
      const text = `${e.message} ${e.hint} ${JSON.stringify(e)} ${String(e.context.url)}`;
      expect(text).not.toContain(secret.reveal());
      expect(text).toContain('[redacted]');
    }
    expect(retryLog).toMatch(/http\.retry/);
    expect(retryLog).not.toContain(secret.reveal());
  });

  it('a refused connection to a URL with a secret never shows it', async () => {
    const e = await failure(newClient({ maxRetries: 1 }).request({ url: `http://127.0.0.1:1/x?key=${secret.reveal()}` }));
    expect(e.code).toBe('network');
    expect(e.message).not.toContain(secret.reveal());
    expect(logLines.join('\n')).not.toContain(secret.reveal());
  });
});

describe('fullJitter', () => {
  it('waits between 0 and min(cap, base·2^attempt)', () => {
    expect(fullJitter(3, 100, 30_000, () => 0)).toBe(0);
    expect(fullJitter(3, 100, 30_000, () => 0.999999)).toBe(799);
    expect(fullJitter(20, 100, 30_000, () => 0.999999)).toBe(29_999);
    for (let attempt = 0; attempt < 12; attempt++) {
      for (let i = 0; i < 50; i++) {
        const v = fullJitter(attempt, 5, 1000);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(Math.min(1000, 5 * 2 ** attempt));
      }
    }
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

  it('reads seconds', () => {
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs('1.5', now)).toBe(1500);
  });

  it('reads an HTTP date, and a date in the past means no wait', () => {
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
  });

  it('is undefined when absent or unreadable', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('nextLink', () => {
  const api = 'https://api.github.com/repositories/1234/events';

  it('finds rel="next" in a GitHub Link header, wherever it stands', () => {
    expect(nextLink(`<${api}?per_page=100&page=2>; rel="next", <${api}?per_page=100&page=3>; rel="last"`)).toBe(`${api}?per_page=100&page=2`);
    expect(nextLink(`<${api}?page=1>; rel="prev", <${api}?page=3>; rel="next", <${api}?page=3>; rel="last", <${api}?page=1>; rel="first"`)).toBe(
      `${api}?page=3`,
    );
  });

  it('is undefined on the last page or without a header', () => {
    expect(nextLink(`<${api}?page=2>; rel="prev", <${api}?page=1>; rel="first"`)).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
    expect(nextLink('')).toBeUndefined();
  });
});
