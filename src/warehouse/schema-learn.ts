import {
  type ChangeKind,
  frozenReason,
  type JsonType,
  parsePath,
  type SchemaChange,
  type SchemaContract,
  type SchemaField,
  sortTypes,
} from '../core/schema.js';

/**
 * DESIGN §9, the part every warehouse shares: what a group of staged rows teaches the stream's
 * schema, which of it is drift, and what a frozen contract rejects. The warehouse computes the
 * per-path statistics over its staged rows (`SchemaSession.observe`: in SQL, or on PostgreSQL from
 * a scan of the lines its COPY streams); only those small summaries come back here, never the rows.
 */

/** Where a type was first seen: `f * 2^32 + line`, so the smallest is the earliest (batches load in order). */
export type Position = number;
export const position = (f: number, line: number): Position => f * 2 ** 32 + line;
const batchOf = (p: Position) => Math.floor(p / 2 ** 32);
const lineOf = (p: Position) => p % 2 ** 32;

export interface TypeStats {
  rows: number;
  first: Position;
  /** The first and last batch (index in the group) that carried it. */
  minF: number;
  maxF: number;
}

/** Per path and type, over the group's good rows, nested to the stream's depth. */
export type Observed = Map<string, Map<JsonType, TypeStats>>;

/** A rule of a frozen contract: rows carrying `path` (with one of `types`, or any type when undefined) are rejected. */
export interface FrozenRule {
  path: string;
  segments: string[];
  types: JsonType[] | undefined;
  reason: string;
}

/** What a warehouse provides over the group's staged rows; `write` runs inside the load's transaction. */
export interface SchemaSession {
  known(): Promise<Map<string, SchemaField>>;
  observe(known: ReadonlyMap<string, SchemaField>, maxDepth: number): Promise<Observed>;
  /** Moves the staged rows matching a rule to the rejects (the first matching rule's reason); returns how many per batch. */
  reject(rules: readonly FrozenRule[]): Promise<Map<number, number>>;
  write(fields: readonly SchemaField[], changes: readonly SchemaChange[]): Promise<void>;
}

export interface TrackOptions {
  source: string;
  stream: string;
  contract: SchemaContract;
  /** Storage keys of the group's batches, by index. */
  batches: readonly string[];
  runId: string;
  now: Date;
}

export interface TrackResult {
  changes: SchemaChange[];
  /** Lines rejected by a frozen contract, per batch index. */
  frozen: Map<number, number>;
  /** New paths left untracked because the stream reached MAX_PATHS. */
  untracked: number;
}

/**
 * Paths kept per stream. An object used as a map (ids as keys) brings new paths with every
 * record; past this many the new ones are left untracked (and reported), so the schema stays a
 * schema.
 */
export const MAX_PATHS = 2000;

interface Drift {
  kind: ChangeKind;
  path: string;
  before: JsonType[];
  after: JsonType[];
  /** The types that are new (all of them for a new field). */
  novel: JsonType[];
  first: Position;
}

/** How many times freezing may find rows to reject before it gives up (each pass rejects every carrier it knows). */
const FREEZE_PASSES = 3;

/**
 * Learns from the staged rows, in the load's transaction: frozen lines are rejected first and
 * teach nothing, then the schema and its drift are written. The first load of a stream is its
 * baseline: it sets the schema and reports no drift.
 */
export async function trackSchema(db: SchemaSession, o: TrackOptions): Promise<TrackResult> {
  const learnt = await learnSchema(db, o);
  if (learnt.fields.length > 0 || learnt.changes.length > 0) await db.write(learnt.fields, learnt.changes);
  return learnt;
}

/** What `learnSchema` returns: what the group teaches, with the fields for the warehouse to write. */
export interface Learnt extends TrackResult {
  fields: SchemaField[];
}

/**
 * `trackSchema` without its write: a warehouse that reads the stage on a connection of its own,
 * beside the load's transaction, writes the result in that transaction afterwards.
 */
export async function learnSchema(db: Omit<SchemaSession, 'write'>, o: TrackOptions): Promise<Learnt> {
  const known = await db.known();
  const baseline = known.size === 0;
  const frozen = new Map<number, number>();
  let observed = await db.observe(known, o.contract.maxDepth);
  // A frozen stream rejects new paths instead: its schema cannot grow.
  const cap = (x: Observed) => (o.contract.newFields === 'evolve' ? capPaths(known, x) : 0);
  let untracked = cap(observed);
  let drift = baseline ? [] : driftOf(known, observed);
  for (let pass = 0; ; pass++) {
    const rules = frozenRules(drift, o.contract);
    if (rules.length === 0) break;
    if (pass === FREEZE_PASSES) throw new Error(`freezing the schema of ${o.source}.${o.stream}: rows carrying ${rules[0]?.path} remain`);
    for (const [f, n] of await db.reject(rules)) frozen.set(f, (frozen.get(f) ?? 0) + n);
    observed = await db.observe(known, o.contract.maxDepth);
    untracked = cap(observed);
    drift = driftOf(known, observed);
  }
  const at = o.now.toISOString();
  const batch = (f: number) => o.batches[f] ?? '';
  const fields = [...observed].map(([path, byType]) => merged(known.get(path), path, byType, batch, at));
  const changes = drift.map(
    (d): SchemaChange => ({
      source: o.source,
      stream: o.stream,
      path: d.path,
      kind: d.kind,
      typesBefore: d.before,
      typesAfter: d.after,
      batch: batch(batchOf(d.first)),
      line: lineOf(d.first),
      runId: o.runId,
      at,
    }),
  );
  return { fields, changes, frozen, untracked };
}

/** Drops the newest new paths past MAX_PATHS from what was observed; returns how many. */
function capPaths(known: ReadonlyMap<string, SchemaField>, observed: Observed): number {
  const fresh = [...observed].filter(([path]) => !known.has(path));
  const room = Math.max(0, MAX_PATHS - known.size);
  if (fresh.length <= room) return 0;
  const firstOf = (byType: ReadonlyMap<JsonType, TypeStats>) => Math.min(...[...byType.values()].map((s) => s.first));
  fresh.sort(([a, x], [b, y]) => firstOf(x) - firstOf(y) || depth(a) - depth(b) || a.localeCompare(b));
  for (const [path] of fresh.slice(room)) observed.delete(path);
  return fresh.length - room;
}

/** A new path (whatever its types, null included), or a non-null type never seen for a known path. */
export function driftOf(known: ReadonlyMap<string, SchemaField>, observed: Observed): Drift[] {
  const out: Drift[] = [];
  for (const [path, byType] of observed) {
    const before = known.get(path);
    const seen = [...byType.keys()];
    const firstOf = (types: JsonType[]) => Math.min(...types.map((t) => byType.get(t)?.first ?? Number.POSITIVE_INFINITY));
    if (!before) {
      out.push({ kind: 'new_field', path, before: [], after: sortTypes(seen), novel: seen, first: firstOf(seen) });
      continue;
    }
    const novel = seen.filter((t) => t !== 'null' && !before.types.includes(t));
    if (novel.length > 0) {
      out.push({ kind: 'type_change', path, before: before.types, after: sortTypes([...before.types, ...seen]), novel, first: firstOf(novel) });
    }
  }
  return out.sort((a, b) => a.first - b.first || depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
}

const depth = (path: string) => parsePath(path).length;

/** The rules that reject what a frozen contract refuses: shallowest paths first, so a line names the field that opened it. */
function frozenRules(drift: readonly Drift[], c: SchemaContract): FrozenRule[] {
  const frozen = drift.filter((d) => (d.kind === 'new_field' ? c.newFields : c.typeChanges) === 'freeze');
  return frozen
    .sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path))
    .map((d) => ({ path: d.path, segments: parsePath(d.path), types: d.kind === 'new_field' ? undefined : d.novel, reason: frozenReason(d.path) }));
}

function merged(
  before: SchemaField | undefined,
  path: string,
  byType: ReadonlyMap<JsonType, TypeStats>,
  batch: (f: number) => string,
  at: string,
): SchemaField {
  const typeRows: Partial<Record<JsonType, number>> = { ...(before?.typeRows ?? {}) };
  let rows = before?.rows ?? 0;
  let minF = Number.POSITIVE_INFINITY;
  let maxF = -1;
  for (const [t, s] of byType) {
    typeRows[t] = (typeRows[t] ?? 0) + s.rows;
    rows += s.rows;
    minF = Math.min(minF, s.minF);
    maxF = Math.max(maxF, s.maxF);
  }
  return {
    path,
    types: sortTypes([...(before?.types ?? []), ...byType.keys()]),
    rows,
    typeRows,
    firstBatch: before?.firstBatch ?? batch(minF),
    lastBatch: batch(maxF),
    firstSeenAt: before?.firstSeenAt ?? at,
    lastSeenAt: at,
  };
}

/** The schema part of one batch's LoadResult: the drift first seen in it; the untracked count on the first batch. */
export function schemaResults(r: TrackResult | undefined, key: string, f: number): { schemaChanges?: SchemaChange[]; untrackedPaths?: number } {
  if (!r) return {};
  const changes = r.changes.filter((c) => c.batch === key);
  return { ...(changes.length > 0 ? { schemaChanges: changes } : {}), ...(f === 0 && r.untracked > 0 ? { untrackedPaths: r.untracked } : {}) };
}

/** Adds one group of rows that share a type per path (a structure) to the observed statistics. */
export function addStructure(
  out: Observed,
  types: Iterable<readonly [string, JsonType]>,
  g: { rows: number; first: Position; minF: number; maxF: number },
): void {
  for (const [path, type] of types) {
    let byType = out.get(path);
    if (!byType) {
      byType = new Map();
      out.set(path, byType);
    }
    const s = byType.get(type);
    if (!s) byType.set(type, { rows: g.rows, first: g.first, minF: g.minF, maxF: g.maxF });
    else {
      s.rows += g.rows;
      s.first = Math.min(s.first, g.first);
      s.minF = Math.min(s.minF, g.minF);
      s.maxF = Math.max(s.maxF, g.maxF);
    }
  }
}
