import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HOUR, mix } from './amplitude-sim-data.js';
import { HourArchives, type HourLayout, hourOf, isoHour } from './amplitude-sim-hours.js';
import { zipParts } from './amplitude-sim-zip.js';
import { mulberry32 } from './rng.js';

/**
 * A simulated Amplitude Export API on loopback: `GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`
 * (inclusive UTC hours, HTTP Basic auth) answering real zip archives of gzipped JSON Lines, one or
 * more files per hour with events: `{pid}/{pid}_{YYYY-MM-DD}_{H}#{n}.json.gz`. Events are generated
 * per hour from seed + hour, so any range sees the same events. 404 for a range without events,
 * 400 above maxBytes of uncompressed data, seeded 504/503/429 faults (at most 2 in a row per URL),
 * latency and slow bodies; tests add hostile archives through `intercept`.
 */
export interface AmplitudeSimOptions extends Partial<HourLayout> {
  apiKey?: string;
  secretKey?: string;
  /** 400 when the range's uncompressed data exceeds this many bytes. Default 4e9. */
  maxBytes?: number;
  latencyMs?: number;
  p504?: number;
  p503?: number;
  p429?: number;
  /** Retry-After of a 429, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Sends half of a 200 body, waits this long, then the rest. */
  slowBodyMs?: number;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * Called for each request that passes auth, validation and faults (inclusive hours, epoch ms):
   * an answer replaces the archive the API would send (tests serve hostile archives this way).
   */
  intercept?: (range: { startMs: number; endMs: number }, hours: HourArchives) => Promise<SimAnswer> | undefined;
}

type FaultOptions = Pick<AmplitudeSimOptions, 'latencyMs' | 'p504' | 'p503' | 'p429' | 'maxBytes' | 'slowBodyMs'>;

export interface AmplitudeSimRequest {
  start: string;
  end: string;
  status: number;
  auth: 'ok' | 'bad' | 'none';
  bytes: number;
}

export interface AmplitudeSim {
  url: string;
  close(): Promise<void>;
  options: Required<Pick<AmplitudeSimOptions, 'apiKey' | 'secretKey' | 'projectId'>>;
  requests: AmplitudeSimRequest[];
  stats: { requests: number; byStatus: Record<string, number> };
  setFaults(f: Partial<FaultOptions>): void;
  /** n more events in that hour from now on; returns their uuids. */
  addLate(isoHour: string, n: number): string[];
  /** Every hour in [start, end) → the uuids the API holds for it (empty hours map to []). Keys: 'YYYY-MM-DDTHH:00:00Z'. */
  expectedByHour(startIso: string, endMsExclusive: number): Map<string, string[]>;
  expectedUuids(startIso: string, endMsExclusive: number): string[];
  /** Builds and caches every hour in [start, end) so timed runs measure the client, not the simulator. */
  warm(startIso: string, endMsExclusive: number): Promise<void>;
}

/** An answer of the simulated API: status, body parts and headers. */
export interface SimAnswer {
  status: number;
  body: Buffer[];
  headers: Record<string, string>;
}

const MAX_HOURS = 365 * 24;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `YYYYMMDDTHH` → ms, or null when malformed or not a real hour (20250230T00, T24). */
function parseAmpHour(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return new Date(ms).toISOString().slice(0, 13).replace(/-/g, '') === s ? ms : null;
}
const text = (status: number, msg: string, headers: Record<string, string> = {}): SimAnswer => ({
  status,
  body: [Buffer.from(`${msg}\n`)],
  headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
});

/** A 200 answer carrying a zip archive of the range. */
export function zipAnswer(parts: Buffer[], pid: number, startMs: number, endMs: number): SimAnswer {
  return {
    status: 200,
    body: parts,
    headers: { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="${pid}_${startMs / HOUR}-${endMs / HOUR}.zip"` },
  };
}

export async function startAmplitudeSim(o: AmplitudeSimOptions = {}): Promise<AmplitudeSim> {
  const seed = o.seed ?? 1;
  const options = { apiKey: o.apiKey ?? 'sim-api-key', secretKey: o.secretKey ?? 'sim-secret-key', projectId: o.projectId ?? 187520 };
  const pid = options.projectId;
  const hours = new HourArchives({ ...o, seed, projectId: pid });
  const faults = { latencyMs: 0, p504: 0, p503: 0, p429: 0, maxBytes: 4e9, slowBodyMs: 0 };
  const setFaults = (f: Partial<FaultOptions>): void => {
    for (const k of Object.keys(faults) as Array<keyof typeof faults>) faults[k] = f[k] ?? faults[k];
  };
  setFaults(o);
  const expectedAuth = `Basic ${Buffer.from(`${options.apiKey}:${options.secretKey}`).toString('base64')}`;

  const archives = new Map<string, Promise<SimAnswer>>(); // per range; cleared whenever data or maxBytes change
  const consecutive = new Map<string, number>();
  const faultRng = mulberry32(mix(seed, 0xfa17)); // its own stream: faults must not shift the data
  const rangeHours = (s: number, e: number): number[] => Array.from({ length: (e - s) / HOUR + 1 }, (_, i) => s + i * HOUR);

  async function normalAnswer(s: number, e: number): Promise<SimAnswer> {
    const full = rangeHours(s, e).filter((ms) => hours.hasEvents(ms));
    if (full.length === 0) return text(404, 'Raw data files were not found.');
    let bytes = 0;
    for (const [i, ms] of full.entries()) {
      for (const next of full.slice(i + 1, i + 16)) hours.built(next); // builds run ahead, but not a whole year past a 400
      bytes += (await hours.built(ms)).bytes;
      if (bytes > faults.maxBytes) return text(400, 'Raw data files were too large to download. Try a smaller time range.');
    }
    const built = await Promise.all(full.map((ms) => hours.built(ms)));
    return zipAnswer(zipParts([...hours.dirItems(), ...built.flatMap((b) => b.files)]), pid, s, e);
  }

  function drawFault(urlKey: string): SimAnswer | null {
    const x = faultRng(); // drawn on every request so one URL's cap does not shift the others
    if ((consecutive.get(urlKey) ?? 0) >= 2) return null;
    if (x < faults.p504) return text(504, 'Gateway Timeout');
    if (x < faults.p504 + faults.p503) return text(503, 'Service Unavailable');
    if (x < faults.p504 + faults.p503 + faults.p429)
      return text(429, 'Too many concurrent requests or rate limit exceeded', { 'retry-after': String(o.retryAfterSeconds ?? 1) });
    return null;
  }

  function route(req: IncomingMessage, url: URL, rec: AmplitudeSimRequest): SimAnswer | Promise<SimAnswer> {
    if (url.pathname !== '/api/2/export') return text(404, 'Not found');
    if (req.method !== 'GET') return text(405, 'Method not allowed');
    if (rec.auth !== 'ok')
      return text(401, rec.auth === 'none' ? 'Basic authentication with the API key and secret key is required' : 'Invalid API key or secret key');
    const s = parseAmpHour(rec.start);
    const e = parseAmpHour(rec.end);
    if (s === null || e === null) return text(400, 'start and end must be UTC hours formatted YYYYMMDDTHH, e.g. 20250115T08');
    if (e < s) return text(400, 'end must not be before start');
    if ((e - s) / HOUR + 1 > MAX_HOURS) return text(400, 'The time range may span at most 365 days');
    const urlKey = url.pathname + url.search;
    const fault = drawFault(urlKey);
    consecutive.set(urlKey, fault ? (consecutive.get(urlKey) ?? 0) + 1 : 0);
    if (fault) return fault;
    const intercepted = o.intercept?.({ startMs: s, endMs: e }, hours);
    if (intercepted) return intercepted;
    const key = `${s}:${e}`;
    let answer = archives.get(key);
    if (!answer) {
      answer = normalAnswer(s, e);
      archives.set(key, answer);
      answer.catch(() => archives.delete(key));
    }
    return answer;
  }

  // Writes the body honouring backpressure; a slow body pauses once, half way.
  async function send(res: ServerResponse, rec: AmplitudeSimRequest, a: SimAnswer): Promise<void> {
    const total = a.body.reduce((n, b) => n + b.length, 0);
    rec.status = a.status;
    rec.bytes = total;
    stats.byStatus[a.status] = (stats.byStatus[a.status] ?? 0) + 1;
    res.writeHead(a.status, { 'content-length': String(total), ...a.headers });
    const drained = (): Promise<void> =>
      new Promise((ok) => {
        const done = (): void => {
          res.off('drain', done).off('close', done);
          ok();
        };
        res.on('drain', done).on('close', done);
      });
    const write = async (b: Buffer): Promise<void> => {
      if (!res.destroyed && !res.write(b)) await drained();
    };
    const half = a.status === 200 && faults.slowBodyMs > 0 ? Math.floor(total / 2) : -1;
    let sent = 0;
    for (const b of a.body) {
      if (half >= sent && half < sent + b.length) {
        await write(b.subarray(0, half - sent));
        await sleep(faults.slowBodyMs);
        await write(b.subarray(half - sent));
      } else await write(b);
      sent += b.length;
    }
    res.end();
  }

  const requests: AmplitudeSimRequest[] = [];
  const stats: AmplitudeSim['stats'] = { requests: 0, byStatus: {} };
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const header = req.headers.authorization;
    const auth = !header ? 'none' : header === expectedAuth ? 'ok' : 'bad';
    const rec: AmplitudeSimRequest = { start: url.searchParams.get('start') ?? '', end: url.searchParams.get('end') ?? '', status: 0, auth, bytes: 0 };
    requests.push(rec);
    stats.requests++;
    const pending = route(req, url, rec); // the archive builds while the latency elapses
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const answer = await pending;
    if (!res.destroyed) await send(res, rec, answer);
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`simulator error: ${String(err)}`);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(o.port ?? 0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  const hoursIn = (startIso: string, endMs: number): number[] => {
    const out: number[] = [];
    for (let ms = hourOf(startIso); ms < endMs; ms += HOUR) out.push(ms);
    return out;
  };
  const expectedByHour = (startIso: string, endMs: number): Map<string, string[]> =>
    new Map(hoursIn(startIso, endMs).map((ms) => [isoHour(ms), hours.uuids(ms)]));

  return {
    url: `http://127.0.0.1:${port}`,
    options,
    requests,
    stats,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
    setFaults: (f) => {
      setFaults(f);
      if (f.maxBytes !== undefined) archives.clear();
    },
    addLate: (isoH, n) => {
      archives.clear();
      return hours.addLate(hourOf(isoH), n);
    },
    expectedByHour,
    expectedUuids: (startIso, endMs) => [...expectedByHour(startIso, endMs).values()].flat(),
    warm: async (startIso, endMs) => {
      await Promise.all(hoursIn(startIso, endMs).map((ms) => hours.built(ms)));
    },
  };
}
