import type { SluiceError } from './errors.js';
import type { Logger } from './logger.js';
import type { SchemaContract } from './schema.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** DESIGN §1: how a stream is partitioned and merged. */
export type StreamMode = 'window' | 'cursor' | 'full';

export interface StreamSpec {
  name: string;
  mode: StreamMode;
  /** Field names of the record key; the warehouse merges on them. */
  primaryKey: string[];
  /**
   * Every version of a record lands in the same hour: the hour comes from the record itself (an
   * event time that never changes, or the hour the API files it under), never from the run. A key
   * then lives in one partition only, so a load looks for it among the rows of its batches' own
   * partitions instead of the whole table. Leave unset when a record's hour can change (records
   * without a time land in the hour of the run that fetched them).
   */
  keyKeepsItsHour?: boolean;
  /** DESIGN §9: what loading it learns and refuses; the default contract when undefined. */
  schema?: SchemaContract;
}

/** One record exactly as the API returned it, with the time that decides its hour. */
export interface SourceRecord {
  /**
   * The record's JSON text, one line (no newline inside): a string, or its UTF-8 bytes as the API
   * sent them (no decoding into the JavaScript heap, whose growth would stay with the process).
   */
  line: string | Buffer;
  /** Epoch ms of the record's event time; undefined lands it in the hour of the run. */
  timeMs: number | undefined;
}

export type SourceMessage =
  | { type: 'records'; records: SourceRecord[] }
  /** State that covers every record emitted before it; persisted only once those are stored. */
  | { type: 'checkpoint'; state: JsonValue }
  /** Something the user must know that is not a failure, e.g. a possible gap. */
  | { type: 'warning'; code: string; message: string; detail?: Record<string, unknown> }
  /**
   * A unit of work (a repo, an hour range) failed; the others go on. Fatal errors are thrown.
   * A `full` stream's records are then not the whole snapshot: none of them lands.
   */
  | { type: 'failure'; unit: string; error: SluiceError }
  /** Window streams: gzip bytes of an hour exactly as the API sent them (members concatenate). */
  | { type: 'raw'; hourMs: number; gzip: Buffer }
  /** Window streams: these hours are complete; an hour that got nothing becomes an empty batch. */
  | { type: 'complete'; hours: number[]; records?: number }
  /** Window streams: drop what was written for these hours (their range failed). */
  | { type: 'discard'; hours: number[] };

export interface StreamReadContext {
  /** The last checkpoint of this stream (landing's pending one, else storage's), if any. */
  checkpoint: JsonValue | undefined;
  /** Test mode: stop after this many records. */
  limit: number | undefined;
  runId: string;
  log: Logger;
  signal: AbortSignal;
  /** Window streams: the hours (epoch ms, ascending) to fetch — the missing ones and any refresh. */
  hours?: readonly number[];
  /** A folder for the source's temporary files (downloads); cleaned of a killed run's leftovers. */
  scratchDir?: string;
}

/** Window streams: which hours must exist, from the source's settings and the clock. */
export interface WindowPlan {
  startMs: number;
  endMs: number;
  /** The newest N hours of the window are fetched again even when present (late data). */
  refreshHours: number;
}

export interface Source {
  readonly name: string;
  readonly type: string;
  streams(): StreamSpec[];
  read(stream: string, ctx: StreamReadContext): AsyncIterable<SourceMessage>;
  /** Window streams: the hours required now, unless the command names a range. */
  window?(stream: string, nowMs: number): WindowPlan;
  /** One cheap request that proves the API answers and accepts the credentials (`sluice check`). */
  check(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
