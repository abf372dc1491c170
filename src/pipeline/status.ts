import { countGzipLines } from '../core/gzip-lines.js';
import { HOUR_MS, hoursBetween } from '../core/hours.js';
import type { ObjectStore } from '../core/object-store.js';
import { mapPool } from '../core/pool.js';
import type { JsonValue, Source, StreamSpec } from '../core/source.js';
import type { LedgerDetail, LedgerEntry, Warehouse } from '../core/warehouse.js';
import { checkpointKey, newestSnapshot, parseBatchKey, streamPrefix } from '../storage/layout.js';
import { LineCountCache } from './line-count-cache.js';
import type { Project } from './project.js';
import { type RunRecord, readRunRecords } from './run-record.js';
import { type SchemaChangeView, streamDrift } from './schema.js';
import { type HourRangeText, type HourState, hourRanges, hourStates } from './status-hours.js';

/** Lines in storage = rows loaded + rejects, batch by batch (DESIGN §3.5). */
export interface Reconciliation {
  reconciled: boolean;
  /** False when the warehouse gives no per-batch counts: only the sets of batches are compared. */
  per_batch_counts: boolean;
  lines_in_storage: number;
  rows_loaded: number;
  rejected: number;
  /** In storage, not in the ledger: the next `load` takes them (a full stream's older snapshots never load). */
  unloaded_batches: string[];
  /** In the ledger, gone from storage: the lake lost data the warehouse still has. */
  missing_from_storage: string[];
  /** In both, but the batch's lines ≠ rows + rejects the ledger recorded. */
  line_mismatches: Array<{ batch: string; lines: number; rows: number; rejected: number }>;
}

export interface WindowStatus {
  start: string;
  end: string;
  hours_expected: number;
  hours_in_landing: number;
  hours_in_storage: number;
  hours_loaded: number;
  /** Expected hours neither in storage nor in landing, as ranges (the next `fetch` takes them). */
  gaps: HourRangeText[];
}

export interface StreamStatus {
  source: string;
  stream: string;
  mode: string;
  window: WindowStatus | undefined;
  batches_in_landing: number;
  batches_in_storage: number;
  hours_in_storage: number;
  newest_hour_in_storage: string | undefined;
  batches_loaded: number;
  /** Rows per layer: non-blank lines in landing and storage, rows the ledger recorded, rows in the raw table now. */
  lines_in_landing: number;
  lines_in_storage: number;
  rows_loaded: number;
  rejected: number;
  rows_in_table: number;
  reconciliation: Reconciliation;
  last_loaded_at: string | undefined;
  newest_loaded_hour: string | undefined;
  /** Seconds since the end of the newest loaded hour. */
  freshness_seconds: number | undefined;
  checkpoint: JsonValue | undefined;
  checkpoint_pending: boolean;
  last_run: (Pick<RunRecord, 'run_id' | 'command' | 'status' | 'started_at' | 'finished_at'> & { errors: number }) | undefined;
  last_success_at: string | undefined;
  hours: HourState[];
  /** DESIGN §9: fields tracked and the newest drift (undefined when the warehouse keeps no schema). */
  schema: { fields: number; changes: SchemaChangeView[] } | undefined;
}

export interface StatusOptions {
  sources?: readonly string[];
  nowMs?: number;
}

/** Per source and stream: window, hours and rows per layer with their reconciliation, checkpoint, last run. */
export async function projectStatus(project: Project, names: readonly string[] = [], o: StatusOptions = {}): Promise<StreamStatus[]> {
  const storage = await project.storage();
  const warehouse = await project.warehouse();
  const runs = await readRunRecords(project.config.stateDir);
  const cache = await new LineCountCache(project.config.stateDir).open();
  const seen = new Set<string>();
  const prefixes: string[] = [];
  const out: StreamStatus[] = [];
  for (const resolved of project.select(o.sources ?? names)) {
    const source = await resolved.create(project.log);
    try {
      for (const spec of source.streams()) {
        prefixes.push(streamPrefix(source.name, spec.name));
        out.push(await streamStatus({ project, storage, warehouse, source, spec, runs, cache, seen, nowMs: o.nowMs ?? Date.now() }));
      }
    } finally {
      await source.close();
    }
  }
  await cache.save(prefixes, seen);
  return out;
}

interface StreamInputs {
  project: Project;
  storage: ObjectStore;
  warehouse: Warehouse;
  source: Source;
  spec: StreamSpec;
  runs: RunRecord[];
  cache: LineCountCache;
  seen: Set<string>;
  nowMs: number;
}

async function streamStatus(i: StreamInputs): Promise<StreamStatus> {
  const { project, storage, warehouse, source, spec } = i;
  const prefix = streamPrefix(source.name, spec.name);
  const landing = await batchesIn(project.landing, prefix);
  const stored = await batchesIn(storage, prefix);
  const landingLines = await countAll(
    project.landing,
    [...landing.values()].map((b) => ({ key: b.key, version: b.version })),
  );
  const storedLines = await countAll(
    storage,
    [...stored.values()].map((b) => ({ key: b.key, version: b.version })),
    i.cache,
  );
  for (const k of stored.keys()) i.seen.add(k);

  const detail = warehouse.ledgerDetail ? await warehouse.ledgerDetail(source.name, spec.name) : undefined;
  const ledger: Map<string, LedgerEntry | LedgerDetail> = detail ?? (await warehouse.ledger(source.name, spec.name));
  const stats = await warehouse.stats({ source: source.name, stream: spec.name, mode: spec.mode, primaryKey: spec.primaryKey });

  const reconciliation = reconcile(stored, storedLines, ledger, detail, stats, spec.mode === 'full' ? newestSnapshot(stored.keys()) : undefined);
  const loadedRows = new Map<number, number>();
  for (const [key, entry] of ledger) {
    const k = parseBatchKey(key);
    if (k) loadedRows.set(k.hourMs, (loadedRows.get(k.hourMs) ?? 0) + ('rows' in entry ? entry.rows : 0));
  }
  const landingHours = hoursOf(landing.keys());
  const storageHours = hoursOf(stored.keys());
  const plan = source.window?.(spec.name, i.nowMs);
  const window = plan ? windowStatus(plan, landingHours, storageHours, loadedRows) : undefined;
  const hours = hourStates({ window: plan, landing: landingHours, storage: storageHours, loadedRows });

  const pending = await project.landing.getBytes(checkpointKey(source.name, spec.name));
  const saved = pending ?? (await storage.getBytes(checkpointKey(source.name, spec.name)));
  const mine = i.runs.filter((r) => r.sources.includes(source.name));
  const last = mine.at(-1);
  const lastOk = mine.filter((r) => r.status === 'ok').at(-1);
  const newestStored = storageHours.size ? Math.max(...storageHours) : undefined;
  const newestLoaded = loadedRows.size ? Math.max(...loadedRows.keys()) : undefined;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    source: source.name,
    stream: spec.name,
    mode: spec.mode,
    window,
    batches_in_landing: landing.size,
    batches_in_storage: stored.size,
    hours_in_storage: storageHours.size,
    newest_hour_in_storage: newestStored === undefined ? undefined : new Date(newestStored).toISOString(),
    batches_loaded: stats.batches,
    lines_in_landing: sum(landingLines),
    lines_in_storage: reconciliation.lines_in_storage,
    rows_loaded: reconciliation.rows_loaded,
    rejected: stats.rejected,
    rows_in_table: stats.rows,
    reconciliation,
    last_loaded_at: stats.lastLoadedAt,
    newest_loaded_hour: newestLoaded === undefined ? undefined : new Date(newestLoaded).toISOString(),
    freshness_seconds: newestLoaded === undefined ? undefined : Math.max(0, Math.round((i.nowMs - newestLoaded - HOUR_MS) / 1000)),
    checkpoint: saved ? (JSON.parse(saved.toString('utf8')) as JsonValue) : undefined,
    checkpoint_pending: pending !== undefined,
    last_run: last
      ? {
          run_id: last.run_id,
          command: last.command,
          status: last.status,
          started_at: last.started_at,
          finished_at: last.finished_at,
          errors: last.streams.filter((s) => s.source === source.name && s.stream === spec.name).reduce((n, s) => n + s.errors.length, 0),
        }
      : undefined,
    last_success_at: lastOk?.finished_at,
    hours,
    schema: await streamDrift(warehouse, source.name, spec.name),
  };
}

type Listed = Map<string, { key: string; version: string }>;

async function batchesIn(store: ObjectStore, prefix: string): Promise<Listed> {
  const out: Listed = new Map();
  for await (const o of store.list(prefix)) if (parseBatchKey(o.key)) out.set(o.key, { key: o.key, version: o.version });
  return out;
}

const hoursOf = (keys: Iterable<string>) => new Set([...keys].map((k) => parseBatchKey(k)?.hourMs).filter((h): h is number => h !== undefined));

/** Non-blank lines of each batch, streamed, a few at once; immutable batches are counted once (cache). */
async function countAll(store: ObjectStore, batches: Array<{ key: string; version: string }>, cache?: LineCountCache): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const todo = batches.filter((b) => {
    const known = cache?.get(b.key, b.version);
    if (known !== undefined) out.set(b.key, known);
    return known === undefined;
  });
  for await (const [b, n] of mapPool(todo, 8, async (b) => [b, await countGzipLines(store.openRead(b.key))] as const)) {
    out.set(b.key, n);
    cache?.set(b.key, b.version, n);
  }
  return out;
}

function reconcile(
  stored: Listed,
  lines: Map<string, number>,
  ledger: Map<string, LedgerEntry | LedgerDetail>,
  detail: Map<string, LedgerDetail> | undefined,
  totals: { rows: number; rejected: number },
  /** Full streams: the newest snapshot; the older ones never load. */
  newest: string | undefined,
): Reconciliation {
  const superseded = (k: string) => newest !== undefined && parseBatchKey(k)?.part !== newest;
  const unloaded = [...stored.keys()].filter((k) => !ledger.has(k) && !superseded(k)).sort();
  const missing = [...ledger.keys()].filter((k) => !stored.has(k)).sort();
  const mismatches: Reconciliation['line_mismatches'] = [];
  // Without per-batch counts the table's row count stands in (merges make it a lower bound).
  let rows = detail ? 0 : totals.rows;
  let rejected = detail ? 0 : totals.rejected;
  for (const [key, d] of detail ?? []) {
    rows += d.rows;
    rejected += d.rejected;
    const n = lines.get(key);
    if (n !== undefined && n !== d.rows + d.rejected) mismatches.push({ batch: key, lines: n, rows: d.rows, rejected: d.rejected });
  }
  return {
    reconciled: unloaded.length === 0 && missing.length === 0 && mismatches.length === 0,
    per_batch_counts: detail !== undefined,
    lines_in_storage: [...lines.values()].reduce((a, b) => a + b, 0),
    rows_loaded: rows,
    rejected,
    unloaded_batches: unloaded,
    missing_from_storage: missing,
    line_mismatches: mismatches,
  };
}

function windowStatus(
  plan: { startMs: number; endMs: number },
  landing: ReadonlySet<number>,
  storage: ReadonlySet<number>,
  loaded: ReadonlyMap<number, number>,
): WindowStatus {
  const expected = [...hoursBetween(plan.startMs, plan.endMs)];
  return {
    start: new Date(plan.startMs).toISOString(),
    end: new Date(plan.endMs).toISOString(),
    hours_expected: expected.length,
    hours_in_landing: expected.filter((h) => landing.has(h)).length,
    hours_in_storage: expected.filter((h) => storage.has(h)).length,
    hours_loaded: expected.filter((h) => loaded.has(h)).length,
    gaps: hourRanges(expected.filter((h) => !storage.has(h) && !landing.has(h))),
  };
}
