import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventWorld, json } from './github-sim-events.js';
import { mulberry32 } from './rng.js';

/**
 * A simulated GitHub events API on loopback (DESIGN §8): repository, organisation and user feeds
 * of generated events (github-sim-events.ts), paged with `Link`, `ETag`/304, rate-limit headers
 * and `X-Poll-Interval`, with seeded faults (5xx, 429, resets, primary and secondary limits),
 * latency and slow bodies.
 */
export interface GithubSimOptions {
  seed?: number;
  repos?: string[];
  events?: number | Record<string, number>;
  spanHours?: number;
  token?: string;
  malformed?: boolean;
  rateLimit?: number;
  fixturePage?: string;
  /** Seconds sent as `X-Poll-Interval` (GitHub sends 60); tests set it small. */
  pollInterval?: number;
  now?: () => number;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}
export interface SimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  auth: 'none' | 'ok' | 'bad';
  status: number | 'reset';
  ifNoneMatch?: string;
}
export interface GithubSim {
  url: string;
  close(): Promise<void>;
  advance(n: number | Record<string, number>): string[];
  late(n: number): string[];
  setFaults(f: Partial<Faults>): void;
  expectedIds(): string[];
  event(id: string): unknown;
  requests: SimRequest[];
  stats: { requests: number; s304: number; faults: number; byStatus: Record<string, number> };
}
export interface Faults {
  p503: number;
  p502: number;
  p429: number;
  pReset: number;
  latencyMs: number;
  slowBodyMs: number;
  force: Array<503 | 502 | 429 | 'reset' | 'secondary' | 'primary'>;
  exhaustMs: number;
  maxConsecutiveFaults: number;
}

type Fault = Faults['force'][number] | 'exhaust';

const DOCS = 'https://docs.github.com/rest';
const PRIMARY_MSG =
  "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)";
const SECONDARY_MSG =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startGithubSim(o: GithubSimOptions = {}): Promise<GithubSim> {
  const seed = o.seed ?? 1;
  const now = o.now ?? Date.now;
  const limit = o.rateLimit ?? 5000;
  const frng = mulberry32(seed ^ 0x5bd1e995); // separate stream: faults must not shift generated data
  const world = new EventWorld({ ...o, seed, repos: o.repos ?? ['duckdb/duckdb', 'apache/spark'], nowMs: now() });

  const stats: GithubSim['stats'] = { requests: 0, s304: 0, faults: 0, byStatus: {} };
  const requests: SimRequest[] = [];
  const faults: Faults = { p503: 0, p502: 0, p429: 0, pReset: 0, latencyMs: 0, slowBodyMs: 0, force: [], exhaustMs: 0, maxConsecutiveFaults: 2 };
  const consec = new Map<string, number>();
  const rate = { remaining: limit, reset: Math.floor(now() / 1000) + 3600 };
  let pendingExhaust = 0;
  let exhaustUntil = 0;
  let closed = false;

  function drawFault(urlKey: string): Fault | null {
    const t = now();
    if (pendingExhaust > 0) {
      exhaustUntil = t + pendingExhaust;
      pendingExhaust = 0;
    }
    const forced = faults.force.shift();
    if (forced !== undefined) return forced;
    if (t < exhaustUntil) return 'exhaust';
    const r = frng(); // drawn every time so one URL's cap does not shift the sequence for others
    if ((consec.get(urlKey) ?? 0) >= faults.maxConsecutiveFaults) return null;
    let acc = 0;
    for (const [p, f] of [
      [faults.p503, 503],
      [faults.p502, 502],
      [faults.p429, 429],
      [faults.pReset, 'reset'],
    ] as const) {
      acc += p;
      if (r < acc) return f;
    }
    return null;
  }

  function count(rec: SimRequest, status: number | 'reset'): void {
    rec.status = status;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (status === 304) stats.s304++;
  }

  async function send(
    res: ServerResponse,
    rec: SimRequest,
    status: number,
    body: Buffer | null,
    headers: Record<string, string> = {},
    zeroUntil?: number,
  ): Promise<void> {
    count(rec, status);
    const remaining = zeroUntil === undefined ? rate.remaining : 0;
    const h: Record<string, string> = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(limit - remaining),
      'x-ratelimit-reset': String(zeroUntil ?? rate.reset),
      'x-ratelimit-resource': 'core',
      'x-poll-interval': String(o.pollInterval ?? 60),
      ...(body ? { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) } : {}),
      ...headers,
    };
    res.writeHead(status, h);
    if (!body) return void res.end();
    if (faults.slowBodyMs > 0 && body.length > 1) {
      res.write(body.subarray(0, body.length >> 1));
      await sleep(faults.slowBodyMs);
      if (!res.destroyed) res.end(body.subarray(body.length >> 1));
    } else res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const header = req.headers.authorization;
    const m = header ? /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header) : null;
    const auth: SimRequest['auth'] = !header ? 'none' : !o.token || m?.[1] === o.token ? 'ok' : 'bad';
    const inm = req.headers['if-none-match'];
    const rec: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth,
      status: 0,
      ...(inm ? { ifNoneMatch: inm } : {}),
    };
    requests.push(rec);
    stats.requests++;
    const urlKey = url.pathname + url.search;
    const fault = drawFault(urlKey);
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (closed) return;
    if (now() / 1000 >= rate.reset) {
      rate.remaining = limit;
      rate.reset = Math.floor(now() / 1000) + 3600;
    }
    const msg = (message: string): Buffer => json({ message, documentation_url: DOCS });
    if (fault !== null) {
      stats.faults++;
      consec.set(urlKey, (consec.get(urlKey) ?? 0) + 1);
      if (fault === 'reset') {
        count(rec, 'reset');
        req.socket.resetAndDestroy(); // RST, so clients see ECONNRESET rather than a clean close
        return;
      }
      if (fault === 503) return send(res, rec, 503, msg('Service Unavailable'));
      if (fault === 502)
        return send(res, rec, 502, Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>'), { 'content-type': 'text/html; charset=utf-8' });
      if (fault === 429) return send(res, rec, 429, msg('Too Many Requests'), { 'retry-after': '1' });
      if (fault === 'secondary') return send(res, rec, 403, msg(SECONDARY_MSG), { 'retry-after': '1' });
      const until = fault === 'exhaust' ? exhaustUntil : now() + 1000;
      return send(res, rec, 403, msg(PRIMARY_MSG), {}, Math.ceil(until / 1000));
    }
    consec.delete(urlKey);
    if (auth === 'bad') return send(res, rec, 401, msg('Bad credentials'));
    if (rate.remaining <= 0) return send(res, rec, 403, msg(PRIMARY_MSG), {}, rate.reset);
    const feed = req.method === 'GET' ? world.resolve(url.pathname) : null;
    const ppRaw = Number.parseInt(url.searchParams.get('per_page') ?? '', 10);
    const pgRaw = Number.parseInt(url.searchParams.get('page') ?? '', 10);
    const pp = ppRaw >= 1 ? Math.min(ppRaw, 100) : 30;
    const pg = Math.max(1, pgRaw || 1);
    const p = feed ? world.page(feed, pp, pg, url.searchParams.has('per_page'), req.headers.host ?? `127.0.0.1:${port}`) : null;
    const strip = (s: string): string => s.trim().replace(/^W\//, '');
    const etag = p?.etag;
    const extra = { ...(etag ? { etag } : {}), ...(p?.link ? { link: p.link } : {}) };
    if (etag && inm?.split(',').some((s) => s.trim() === '*' || strip(s) === strip(etag))) return send(res, rec, 304, null, extra);
    rate.remaining--; // every answered request except a 304 or a fault costs one
    if (!p) return send(res, rec, 404, msg('Not Found'));
    return send(res, rec, p.status, p.body, extra);
  }

  const sockets = new Set<IncomingMessage['socket']>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(o.port ?? 0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stats,
    close: () => {
      closed = true;
      for (const s of sockets) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
    advance: (n) => world.advance(n, now()),
    late: (n) => world.late(n),
    setFaults: (f) => {
      Object.assign(faults, f);
      if (f.force) faults.force = [...f.force];
      if (f.exhaustMs !== undefined) {
        pendingExhaust = f.exhaustMs;
        exhaustUntil = 0;
      }
    },
    expectedIds: () => world.expectedIds(),
    event: (id) => world.event(id),
  };
}
