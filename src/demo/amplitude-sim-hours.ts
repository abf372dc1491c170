import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { eventGenerator, HOUR, hourEventCount, mix, uuidOf } from './amplitude-sim-data.js';
import { crc32, type ZipItem, zipItem } from './amplitude-sim-zip.js';
import { mulberry32 } from './rng.js';

/** How the simulated export lays out an hour's events. */
export interface HourLayout {
  seed: number;
  projectId: number;
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
}

export interface BuiltHour {
  /** Uncompressed bytes of the hour's lines. */
  bytes: number;
  files: ZipItem[];
}

const LATE_BASE = 1_000_000; // event indexes of late events
const GZIP = { level: 1 }; // the export's files are rebuilt often; speed matters more than size here
const gzip = promisify(zlib.gzip);
const deflateRaw = promisify(zlib.deflateRaw);

export const isoHour = (ms: number): string => `${new Date(ms).toISOString().slice(0, 13)}:00:00Z`;

export function hourOf(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an ISO time: ${iso}`);
  return Math.floor(ms / HOUR) * HOUR;
}

/** `{pid}_{YYYY-MM-DD}_{H}#{n}.json.gz`, H without a leading zero. */
export function exportFileName(pid: number, hourMs: number, n: number): string {
  const s = new Date(hourMs).toISOString();
  return `${pid}_${s.slice(0, 10)}_${Number(s.slice(11, 13))}#${n}.json.gz`;
}

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

/**
 * The export's data, hour by hour: events generated from seed + hour (so any range sees the same
 * events), late additions, and each hour's zip entries, built once and cached until late events
 * change them.
 */
export class HourArchives {
  readonly layout: HourLayout;
  readonly #gen: ReturnType<typeof eventGenerator>;
  readonly #counts: { mean: number; pEmpty: number; empty: Array<{ from: number; to: number }> };
  readonly #late = new Map<number, number>();
  readonly #hours = new Map<number, { late: number; built: Promise<BuiltHour> }>();
  readonly #building = semaphore(Math.max(2, availableParallelism())); // bounds the text held in memory

  constructor(layout: HourLayout) {
    this.layout = layout;
    this.#gen = eventGenerator(layout.seed, layout.projectId, layout.eventBytes ?? 0);
    this.#counts = {
      mean: layout.meanEventsPerHour ?? 30,
      pEmpty: layout.pEmptyHour ?? 0.05,
      empty: (layout.emptyHours ?? []).map((e) => ({ from: hourOf(e.start), to: hourOf(e.start) + e.hours * HOUR })),
    };
  }

  /** The event indexes of an hour: generated ones, then late ones. */
  indexes(ms: number): number[] {
    const n = hourEventCount(this.layout.seed, ms, this.#counts);
    const late = this.#late.get(ms) ?? 0;
    return [...Array.from({ length: n }, (_, i) => i), ...Array.from({ length: late }, (_, i) => LATE_BASE + i)];
  }

  hasEvents(ms: number): boolean {
    return (this.#late.get(ms) ?? 0) > 0 || hourEventCount(this.layout.seed, ms, this.#counts) > 0;
  }

  /** One event's JSON line (with its newline). */
  line(ms: number, index: number): string {
    return this.#gen.line(ms, index);
  }

  uuids(ms: number): string[] {
    return this.indexes(ms).map((i) => uuidOf(this.layout.seed, ms, i));
  }

  /** n more events in that hour from now on; returns their uuids. */
  addLate(ms: number, n: number): string[] {
    const before = this.#late.get(ms) ?? 0;
    this.#late.set(ms, before + n);
    return Array.from({ length: n }, (_, i) => uuidOf(this.layout.seed, ms, LATE_BASE + before + i));
  }

  /** An hour's zip entries, cached until late events change them. */
  built(ms: number): Promise<BuiltHour> {
    const late = this.#late.get(ms) ?? 0;
    const hit = this.#hours.get(ms);
    if (hit && hit.late === late) return hit.built;
    const built = this.hasEvents(ms) ? this.#building(() => this.#build(ms)) : Promise.resolve({ bytes: 0, files: [] });
    this.#hours.set(ms, { late, built });
    built.catch(() => this.#hours.delete(ms));
    return built;
  }

  /** The project folder entry `{pid}/` that real exports start with, unless turned off. */
  dirItems(): ZipItem[] {
    return this.layout.dirEntry === false ? [] : [zipItem(`${this.layout.projectId}/`, Buffer.alloc(0))];
  }

  /** One file's gzip; `multi` makes it two concatenated members, cut at a line. */
  async gzipLines(lines: string[], multi: boolean): Promise<{ data: Buffer; bytes: number }> {
    const cut = multi && lines.length >= 2 ? lines.length >> 1 : lines.length;
    const halves = [lines.slice(0, cut), lines.slice(cut)].filter((h) => h.length > 0).map((h) => Buffer.from(h.join('')));
    return { data: Buffer.concat(await Promise.all(halves.map((h) => gzip(h, GZIP)))), bytes: halves.reduce((n, h) => n + h.length, 0) };
  }

  async #build(ms: number): Promise<BuiltHour> {
    const { seed, projectId: pid } = this.layout;
    const lines = this.indexes(ms).map((i) => this.line(ms, i));
    const r = mulberry32(mix(seed, ms / HOUR, 0x1a70)); // the hour's layout, fixed by seed + hour
    const parts = lines.length === 0 ? 0 : r() < (this.layout.pSplit ?? 0.2) && lines.length >= 3 ? 2 + Math.floor(r() * 2) : 1;
    const chunks = Array.from({ length: parts }, (_, p) => lines.slice(Math.floor((p * lines.length) / parts), Math.floor(((p + 1) * lines.length) / parts)));
    const shape = chunks.map(() => ({ multi: r() < (this.layout.pMultiGzip ?? 0.1), deflate: r() < (this.layout.pDeflate ?? 0.1) }));
    let bytes = 0;
    const files = await Promise.all(
      chunks.map(async (chunk, p): Promise<ZipItem> => {
        const { multi, deflate } = shape[p] ?? { multi: false, deflate: false };
        const gz = await this.gzipLines(chunk, multi);
        bytes += gz.bytes;
        const body = deflate ? await deflateRaw(gz.data, { level: 1 }) : gz.data;
        const name = `${pid}/${exportFileName(pid, ms, (this.layout.partStart ?? 0) + p)}`;
        return { name, body, method: deflate ? 8 : 0, crc: crc32(gz.data), size: gz.data.length, hour: ms };
      }),
    );
    return { bytes, files };
  }
}
