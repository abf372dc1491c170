import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SluiceError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { TransformResult } from '../transform/engine.js';

/** What one run did to one stream; every number is reported and kept in the run history. */
export interface StreamReport {
  source: string;
  stream: string;
  fetched: number;
  landed_batches: number;
  synced_batches: number;
  sync_skipped: number;
  loaded_batches: number;
  loaded_rows: number;
  rejected: number;
  /** The fetch read nothing new (e.g. every page answered 304). */
  unchanged: boolean;
  limited: boolean;
  checkpoint_advanced: boolean;
  /** Window streams: the range asked for and how many hours it lacked. */
  window?: { start: string; end: string; hours_missing: number; hours_refreshed: number };
  warnings: Array<{ code: string; message: string; detail?: Record<string, unknown> }>;
  errors: Array<{ unit: string; code: string; message: string; hint?: string }>;
  /** DESIGN §9: drift the load recorded in `sluice._schema_changes`, per kind (absent in older records). */
  schema_changes?: { new_field: number; type_change: number };
  /** …and the first of those rows. */
  schema_drift?: SchemaDrift[];
  /** Where the run's time went, per step (absent in older records). */
  timings?: StreamTimings;
}

export interface StreamTimings {
  fetch_ms?: number;
  sync_ms?: number;
  load_ms?: number;
  /** The load's transactions in order, the first `MAX_TIMED_GROUPS` of them; `load_group_count` counts all. */
  load_groups?: LoadGroupTiming[];
  load_group_count?: number;
}

export interface LoadGroupTiming {
  batches: number;
  /** Stored (compressed) bytes of the group's batches. */
  bytes: number;
  rows: number;
  ms: number;
}

/** A year's backfill loads hundreds of groups: the record keeps the first ones, enough to see their cost. */
export const MAX_TIMED_GROUPS = 100;

/** Adds one load group's timing to the report. */
export function noteLoadGroup(report: StreamReport, group: LoadGroupTiming): void {
  const t = report.timings ?? {};
  const groups = t.load_groups ?? [];
  if (groups.length < MAX_TIMED_GROUPS) groups.push(group);
  report.timings = { ...t, load_groups: groups, load_group_count: (t.load_group_count ?? 0) + 1 };
}

export interface SchemaDrift {
  kind: 'new_field' | 'type_change';
  path: string;
  types_before: string[];
  types_after: string[];
  batch: string;
  line: number;
}

export interface RunRecord {
  run_id: string;
  command: string;
  sources: string[];
  started_at: string;
  finished_at: string;
  duration_ms: number;
  status: 'ok' | 'partial' | 'failed';
  exit_code: 0 | 1 | 2;
  streams: StreamReport[];
  errors: Array<{ code: string; message: string; hint?: string }>;
  /** Models built and tests run, when the run transformed. */
  transform?: Omit<TransformResult, 'exit_code'>;
}

/** Sortable and unique: `20261123T190501Z-3fa9c2`. Safe as a batch part name. */
export function newRunId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function emptyReport(source: string, stream: string): StreamReport {
  return {
    source,
    stream,
    fetched: 0,
    landed_batches: 0,
    synced_batches: 0,
    sync_skipped: 0,
    loaded_batches: 0,
    loaded_rows: 0,
    rejected: 0,
    unchanged: false,
    limited: false,
    checkpoint_advanced: false,
    warnings: [],
    errors: [],
    schema_changes: { new_field: 0, type_change: 0 },
  };
}

export function errorEntry(unit: string, e: SluiceError): StreamReport['errors'][number] {
  return { unit, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
}

/** The run history: one JSON line per run. */
export const historyFile = (stateDir: string): string => path.join(stateDir, 'runs.jsonl');

export async function appendRunRecord(stateDir: string, record: RunRecord): Promise<void> {
  await fs.promises.mkdir(stateDir, { recursive: true });
  // One write call per record. A crash can cut the last line: start on a fresh line after one.
  const file = historyFile(stateDir);
  let lead = '';
  try {
    const fh = await fs.promises.open(file, 'r');
    const { size } = await fh.stat();
    const last = Buffer.alloc(1);
    if (size > 0) await fh.read(last, 0, 1, size - 1);
    await fh.close();
    if (size > 0 && last[0] !== 10) lead = '\n';
  } catch {
    /* no history yet */
  }
  // Error messages can quote a URL or an answer that held a secret: the history keeps none.
  await fs.promises.appendFile(file, `${lead}${JSON.stringify(redact(record))}\n`);
}

export async function readRunRecords(stateDir: string): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await fs.promises.readFile(historyFile(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: RunRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RunRecord);
    } catch {
      /* a line cut by a crash */
    }
  }
  return out;
}
