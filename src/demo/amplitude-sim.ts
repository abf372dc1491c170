import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { eventGenerator, HOUR, hourEventCount, mix, uuidOf } from './amplitude-sim-data.js';
import { buildBomb, crc32, type ZipItem, zipItem, zipParts } from './amplitude-sim-zip.js';
import { mulberry32 } from './rng.js';

export { makeZip } from './amplitude-sim-zip.js';

/**
 * A simulated Amplitude Export API on loopback: `GET /api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`
 * (inclusive UTC hours, HTTP Basic auth) answering real zip archives of gzipped JSON Lines, one or
 * more files per hour with events: `{pid}/{pid}_{YYYY-MM-DD}_{H}#{n}.json.gz`. Events are generated
 * per hour from seed + hour, so any range sees the same events. 404 for a range without events,
 * 400 above maxBytes of uncompressed data, seeded 504/503/429 faults (at most 2 in a row per URL),
 * latency, slow bodies and hostile archives on demand.
 */
export interface AmplitudeSimOptions {
  seed?: number;
  apiKey?: string;
  secretKey?: string;
  projectId?: number;
  /** Poisson-ish count per hour, deterministic from seed + hour. Default 30. */
  meanEventsPerHour?: number;
  /** Hours with no events at all. */
  emptyHours?: Array<{ start: string; hours: number }>;
  /** Chance that an hour has no events. Default 0.05. */
  pEmptyHour?: number;
  /** Pads event_properties so one event line is about this many bytes. Default 0: no padding. */
  eventBytes?: number;
  /** The first `#n` of an hour's files. Default 0. */
  partStart?: 0 | 1;
  /** Chance an hour is split into 2-3 files. Default 0.2. */
  pSplit?: number;
  /** Chance a file is made of two concatenated gzip members. Default 0.1. */
  pMultiGzip?: number;
  /** Chance a zip entry is DEFLATE-compressed rather than STORED. Default 0.1. */
  pDeflate?: number;
  /** Adds the project folder entry `{pid}/` first. Default true. */
  dirEntry?: boolean;
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
}

export type AmplitudeHostileKind = 'zip-slip' | 'absolute-path' | 'bad-name' | 'corrupt-zip' | 'corrupt-gzip' | 'zip-bomb' | 'out-of-range' | 'bad-lines';
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
  /** The next `times` (default 1) requests that pass auth, validation and faults get a hostile archive (200) instead of their answer. */
  setHostile(kind: AmplitudeHostileKind, times?: number): void;
  /** n more events in that hour from now on; returns their uuids. */
  addLate(isoHour: string, n: number): string[];
  /** Every hour in [start, end) → the uuids the API holds for it (empty hours map to []). Keys: 'YYYY-MM-DDTHH:00:00Z'. */
  expectedByHour(startIso: string, endMsExclusive: number): Map<string, string[]>;
  expectedUuids(startIso: string, endMsExclusive: number): string[];
  /** Builds and caches every hour in [start, end) so timed runs measure the client, not the simulator. */
  warm(startIso: string, endMsExclusive: number): Promise<void>;
}

interface Built {
  bytes: number;
  files: ZipItem[];
}
interface HourData {
  late: number;
  built: Promise<Built>;
}
interface Answer {
  status: number;
  body: Buffer[];
  headers: Record<string, string>;
}

const MAX_HOURS = 365 * 24;
const LATE_BASE = 1_000_000; // event indexes of late events; JUNK_BASE for the extra files of hostile archives
const JUNK_BASE = 3_000_000;
const GZIP = { level: 1 }; // the export's files are rebuilt often; speed matters more than size here
const gzip = promisify(zlib.gzip);
const deflateRaw = promisify(zlib.deflateRaw);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isoHour = (ms: number): string => `${new Date(ms).toISOString().slice(0, 13)}:00:00Z`;

function hourOf(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an ISO time: ${iso}`);
  return Math.floor(ms / HOUR) * HOUR;
}
/** `YYYYMMDDTHH` → ms, or null when malformed or not a real hour (20250230T00, T24). */
function parseAmpHour(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return new Date(ms).toISOString().slice(0, 13).replace(/-/g, '') === s ? ms : null;
}
/** `{pid}_{YYYY-MM-DD}_{H}#{n}.json.gz`, H without a leading zero. */
function fileName(pid: number, hourMs: number, n: number): string {
  const s = new Date(hourMs).toISOString();
  return `${pid}_${s.slice(0, 10)}_${Number(s.slice(11, 13))}#${n}.json.gz`;
}
const text = (status: number, msg: string, headers: Record<string, string> = {}): Answer => ({
  status,
  body: [Buffer.from(`${msg}\n`)],
  headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
});

/** At most `limit` tasks at once (a freed slot passes straight to the next waiter). */
function semaphore(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active < limit) active++;
    else await new Promise<void>((ok) => waiting.push(ok));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

export async function startAmplitudeSim(o: AmplitudeSimOptions = {}): Promise<AmplitudeSim> {
  const seed = o.seed ?? 1;
  const options = { apiKey: o.apiKey ?? 'sim-api-key', secretKey: o.secretKey ?? 'sim-secret-key', projectId: o.projectId ?? 187520 };
  const pid = options.projectId;
  const partStart = o.partStart ?? 0;
  const gen = eventGenerator(seed, pid, o.eventBytes ?? 0);
  const counts = {
    mean: o.meanEventsPerHour ?? 30,
    pEmpty: o.pEmptyHour ?? 0.05,
    empty: (o.emptyHours ?? []).map((e) => ({ from: hourOf(e.start), to: hourOf(e.start) + e.hours * HOUR })),
  };
  const faults = { latencyMs: 0, p504: 0, p503: 0, p429: 0, maxBytes: 4e9, slowBodyMs: 0 };
  const setFaults = (f: Partial<FaultOptions>): void => {
    for (const k of Object.keys(faults) as Array<keyof typeof faults>) faults[k] = f[k] ?? faults[k];
  };
  setFaults(o);
  const expectedAuth = `Basic ${Buffer.from(`${options.apiKey}:${options.secretKey}`).toString('base64')}`;

  const late = new Map<number, number>();
  const hours = new Map<number, HourData>();
  const archives = new Map<string, Promise<Answer>>(); // per range; cleared whenever data or maxBytes change
  const hostile: AmplitudeHostileKind[] = [];
  const consecutive = new Map<string, number>();
  const faultRng = mulberry32(mix(seed, 0xfa17)); // its own stream: faults must not shift the data
  const building = semaphore(Math.max(2, availableParallelism())); // bounds the text held in memory
  let bomb: Buffer | undefined;

  const indexes = (ms: number): number[] => {
    const n = hourEventCount(seed, ms, counts);
    const l = late.get(ms) ?? 0;
    return [...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: l }, (_, i) => LATE_BASE + i)];
  };
  const hasEvents = (ms: number): boolean => (late.get(ms) ?? 0) > 0 || hourEventCount(seed, ms, counts) > 0;
  const rangeHours = (s: number, e: number): number[] => Array.from({ length: (e - s) / HOUR + 1 }, (_, i) => s + i * HOUR);

  /** One file's gzip; `multi` makes it two concatenated members, cut at a line. */
  async function gzipLines(lines: string[], multi: boolean): Promise<{ data: Buffer; bytes: number }> {
    const cut = multi && lines.length >= 2 ? lines.length >> 1 : lines.length;
    const halves = [lines.slice(0, cut), lines.slice(cut)].filter((h) => h.length > 0).map((h) => Buffer.from(h.join('')));
    return { data: Buffer.concat(await Promise.all(halves.map((h) => gzip(h, GZIP)))), bytes: halves.reduce((n, h) => n + h.length, 0) };
  }

  async function buildHour(ms: number): Promise<Built> {
    const lines = indexes(ms).map((i) => gen.line(ms, i));
    const r = mulberry32(mix(seed, ms / HOUR, 0x1a70)); // the hour's layout, fixed by seed + hour
    const parts = lines.length === 0 ? 0 : r() < (o.pSplit ?? 0.2) && lines.length >= 3 ? 2 + Math.floor(r() * 2) : 1;
    const chunks = Array.from({ length: parts }, (_, p) => lines.slice(Math.floor((p * lines.length) / parts), Math.floor(((p + 1) * lines.length) / parts)));
    const layout = chunks.map(() => ({ multi: r() < (o.pMultiGzip ?? 0.1), deflate: r() < (o.pDeflate ?? 0.1) }));
    let bytes = 0;
    const files = await Promise.all(
      chunks.map(async (chunk, p): Promise<ZipItem> => {
        const { multi, deflate } = layout[p] ?? { multi: false, deflate: false };
        const gz = await gzipLines(chunk, multi);
        bytes += gz.bytes;
        const body = deflate ? await deflateRaw(gz.data, { level: 1 }) : gz.data;
        return { name: `${pid}/${fileName(pid, ms, partStart + p)}`, body, method: deflate ? 8 : 0, crc: crc32(gz.data), size: gz.data.length, hour: ms };
      }),
    );
    return { bytes, files };
  }

  /** An hour's files, cached until late events change it. */
  function hourData(ms: number): HourData {
    const lateN = late.get(ms) ?? 0;
    const hit = hours.get(ms);
    if (hit && hit.late === lateN) return hit;
    const d: HourData = { late: lateN, built: hasEvents(ms) ? building(() => buildHour(ms)) : Promise.resolve({ bytes: 0, files: [] }) };
    hours.set(ms, d);
    d.built.catch(() => hours.delete(ms));
    return d;
  }

  const dirItems = (): ZipItem[] => (o.dirEntry === false ? [] : [zipItem(`${pid}/`, Buffer.alloc(0))]);
  const zipAnswer = (parts: Buffer[], s: number, e: number): Answer => ({
    status: 200,
    body: parts,
    headers: { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="${pid}_${s / HOUR}-${e / HOUR}.zip"` },
  });
  const junk = (ms: number, n: number): Buffer => zlib.gzipSync(Array.from({ length: n }, (_, i) => gen.line(ms, JUNK_BASE + i)).join(''));

  async function normalAnswer(s: number, e: number): Promise<Answer> {
    const full = rangeHours(s, e).filter(hasEvents);
    if (full.length === 0) return text(404, 'Raw data files were not found.');
    let bytes = 0;
    for (const [i, ms] of full.entries()) {
      for (const next of full.slice(i + 1, i + 16)) hourData(next); // builds run ahead, but not a whole year past a 400
      bytes += (await hourData(ms).built).bytes;
      if (bytes > faults.maxBytes) return text(400, 'Raw data files were too large to download. Try a smaller time range.');
    }
    const built = await Promise.all(full.map((ms) => hourData(ms).built));
    return zipAnswer(zipParts([...dirItems(), ...built.flatMap((b) => b.files)]), s, e);
  }

  async function hostileAnswer(kind: AmplitudeHostileKind, s: number, e: number): Promise<Answer> {
    let items = (await Promise.all(rangeHours(s, e).map((ms) => hourData(ms).built))).flatMap((b) => b.files);
    const first = fileName(pid, s, partStart);
    const replaceHour = (ms: number, data: Buffer): void => {
      items = [zipItem(`${pid}/${fileName(pid, ms, partStart)}`, data, false, ms), ...items.filter((it) => it.hour !== ms)];
      items.sort((a, b) => (a.hour ?? 0) - (b.hour ?? 0));
    };
    if (kind === 'zip-slip') items.push(zipItem(`${pid}/../../../../../../../../tmp/sluice-zip-slip/${first}`, junk(s, 3)));
    if (kind === 'absolute-path') items.push(zipItem(`/etc/sluice-absolute-path/${first}`, junk(s, 3)));
    if (kind === 'bad-name') items.push(zipItem(`${pid}/export-${new Date(s).toISOString().slice(0, 13)}.json.gz`, junk(s, 3)));
    if (kind === 'out-of-range') items.push(zipItem(`${pid}/${fileName(pid, e + HOUR, partStart)}`, junk(e + HOUR, 4)));
    if (kind === 'zip-bomb') {
      bomb ??= buildBomb();
      replaceHour(s, bomb);
    }
    if (kind === 'corrupt-gzip') {
      const good = junk(s, 5); // a real gzip header, then bytes that are no deflate stream
      replaceHour(s, Buffer.concat([good.subarray(0, 10), Buffer.from('\x07 corrupt deflate data, not a gzip stream'), good.subarray(10, 40)]));
    }
    if (kind === 'bad-lines') {
      // The first hour with events becomes one file with three bad lines among its events.
      const ms = rangeHours(s, e).find(hasEvents) ?? s;
      const lines = indexes(ms).map((i) => gen.line(ms, i));
      lines.splice(Math.min(1, lines.length), 0, 'this line is not JSON\n');
      lines.splice(
        lines.length >> 1,
        0,
        `${JSON.stringify({ event_type: 'no_uuid', server_upload_time: `${isoHour(ms).slice(0, 10)} ${isoHour(ms).slice(11, 13)}:00:01.000000` })}\n`,
      );
      lines.push('{"uuid":"truncated-json","event_type":\n');
      replaceHour(ms, (await gzipLines(lines, false)).data);
    }
    const parts = zipParts([...dirItems(), ...items]);
    if (kind !== 'corrupt-zip') return zipAnswer(parts, s, e);
    const whole = Buffer.concat(parts); // cut at 60%: no central directory, the last entry cut short
    return zipAnswer([whole.subarray(0, Math.floor(whole.length * 0.6))], s, e);
  }

  function drawFault(urlKey: string): Answer | null {
    const x = faultRng(); // drawn on every request so one URL's cap does not shift the others
    if ((consecutive.get(urlKey) ?? 0) >= 2) return null;
    if (x < faults.p504) return text(504, 'Gateway Timeout');
    if (x < faults.p504 + faults.p503) return text(503, 'Service Unavailable');
    if (x < faults.p504 + faults.p503 + faults.p429)
      return text(429, 'Too many concurrent requests or rate limit exceeded', { 'retry-after': String(o.retryAfterSeconds ?? 1) });
    return null;
  }

  function route(req: IncomingMessage, url: URL, rec: AmplitudeSimRequest): Answer | Promise<Answer> {
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
    const kind = hostile.shift();
    if (kind) return hostileAnswer(kind, s, e);
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
  async function send(res: ServerResponse, rec: AmplitudeSimRequest, a: Answer): Promise<void> {
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
    new Map(hoursIn(startIso, endMs).map((ms) => [isoHour(ms), indexes(ms).map((i) => uuidOf(seed, ms, i))]));

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
    setHostile: (kind, times = 1) => {
      for (let i = 0; i < times; i++) hostile.push(kind);
    },
    addLate: (isoH, n) => {
      const ms = hourOf(isoH);
      const before = late.get(ms) ?? 0;
      late.set(ms, before + n);
      archives.clear();
      return Array.from({ length: n }, (_, i) => uuidOf(seed, ms, LATE_BASE + before + i));
    },
    expectedByHour,
    expectedUuids: (startIso, endMs) => [...expectedByHour(startIso, endMs).values()].flat(),
    warm: async (startIso, endMs) => {
      await Promise.all(hoursIn(startIso, endMs).map((ms) => hourData(ms).built));
    },
  };
}
