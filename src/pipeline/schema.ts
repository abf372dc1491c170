import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { comparePaths, type SchemaChange, type SchemaField } from '../core/schema.js';
import type { StreamSpec } from '../core/source.js';
import type { LoadResult, Warehouse } from '../core/warehouse.js';
import type { Project } from './project.js';
import type { SchemaDrift, StreamReport } from './run-record.js';

/** Drift rows a run record keeps per stream (the table keeps them all). */
const DRIFT_IN_RECORD = 50;

/** A frozen contract must be enforced: a warehouse that keeps no schema refuses it rather than load past it. */
export function assertContract(warehouse: Warehouse, source: string, spec: StreamSpec): void {
  const c = spec.schema;
  if (!c?.track || warehouse.schema || (c.newFields === 'evolve' && c.typeChanges === 'evolve')) return;
  throw new ConfigError(`${source}.${spec.name}: schema contract freeze, but the ${warehouse.type} warehouse does not track schemas`, {
    hint: 'load into DuckDB or PostgreSQL to enforce schema contracts, or remove freeze from the stream’s schema:',
  });
}

/**
 * DESIGN §9: a loaded batch's drift goes to the run record and to the log (`log` names the source
 * and stream), as a warning naming the path.
 */
export function noteSchema(report: StreamReport, r: LoadResult, log: Logger): void {
  for (const c of r.schemaChanges ?? []) {
    report.schema_changes ??= { new_field: 0, type_change: 0 };
    report.schema_changes[c.kind]++;
    const drift = driftOf(c);
    report.schema_drift ??= [];
    if (report.schema_drift.length < DRIFT_IN_RECORD) report.schema_drift.push(drift);
    log.warn({ ...drift }, `schema.${c.kind}`);
  }
  if (r.untrackedPaths) {
    log.warn({ paths: r.untrackedPaths }, 'schema.paths.untracked');
    report.warnings.push({
      code: 'schema_paths_untracked',
      message: `${r.untrackedPaths} new field paths not tracked: the stream has too many (an object used as a map?); lower schema.max_depth`,
    });
  }
}

const driftOf = (c: SchemaChange): SchemaDrift => ({
  kind: c.kind,
  path: c.path,
  types_before: c.typesBefore,
  types_after: c.typesAfter,
  batch: c.batch,
  line: c.line,
});

export interface SchemaFieldView {
  path: string;
  types: string[];
  rows: number;
  /** Rows that carried it, of the rows loaded into the stream (0…1). */
  share: number;
  type_rows: SchemaField['typeRows'];
  first_batch: string;
  last_batch: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface StreamSchemaView {
  source: string;
  stream: string;
  /** Rows loaded into the stream (the ledger). */
  rows: number;
  fields: SchemaFieldView[];
  /** Drift, oldest first (the newest ones). */
  changes: SchemaChangeView[];
}

export interface SchemaChangeView extends SchemaDrift {
  run_id: string;
  at: string;
}

const changeView = (c: SchemaChange): SchemaChangeView => ({ ...driftOf(c), run_id: c.runId, at: c.at });

/** `sluice schema [SOURCE[.STREAM]]`: the schema and drift of each selected stream. */
export async function projectSchema(project: Project, selector?: string, o: { changes?: number } = {}): Promise<StreamSchemaView[]> {
  const [sourceName, streamName] = selector ? splitSelector(selector) : [undefined, undefined];
  const warehouse = await project.warehouse();
  if (!warehouse.schema || !warehouse.schemaChanges) {
    throw new ConfigError(`the ${warehouse.type} warehouse does not track schemas`, { hint: 'schema tracking (DESIGN §9) needs DuckDB or PostgreSQL' });
  }
  const out: StreamSchemaView[] = [];
  for (const resolved of project.select(sourceName ? [sourceName] : [])) {
    const source = await resolved.create(project.log);
    try {
      const specs = source.streams();
      const chosen = streamName === undefined ? specs : specs.filter((s) => s.name === streamName);
      if (chosen.length === 0) {
        throw new ConfigError(`source ${source.name} has no stream ${streamName}`, { hint: `its streams: ${specs.map((s) => s.name).join(', ')}` });
      }
      for (const spec of chosen) {
        const schema = await warehouse.schema(source.name, spec.name);
        const changes = await warehouse.schemaChanges(source.name, spec.name, o.changes ?? 20);
        out.push({
          source: source.name,
          stream: spec.name,
          rows: schema.rows,
          fields: [...schema.fields].sort(comparePaths).map((f) => ({
            path: f.path,
            types: f.types,
            rows: f.rows,
            share: schema.rows > 0 ? Math.min(1, f.rows / schema.rows) : 0,
            type_rows: f.typeRows,
            first_batch: f.firstBatch,
            last_batch: f.lastBatch,
            first_seen_at: f.firstSeenAt,
            last_seen_at: f.lastSeenAt,
          })),
          changes: changes.map(changeView),
        });
      }
    } finally {
      await source.close();
    }
  }
  return out;
}

/** `source.stream`, or `source`; a stream name never holds a dot (it is an identifier). */
function splitSelector(selector: string): [string, string | undefined] {
  const dot = selector.indexOf('.');
  return dot === -1 ? [selector, undefined] : [selector.slice(0, dot), selector.slice(dot + 1)];
}

/** The drift section of `sluice status` for one stream: how many fields, and the newest changes. */
export async function streamDrift(warehouse: Warehouse, source: string, stream: string): Promise<{ fields: number; changes: SchemaChangeView[] } | undefined> {
  if (!warehouse.schema || !warehouse.schemaChanges) return undefined;
  const schema = await warehouse.schema(source, stream);
  const changes = await warehouse.schemaChanges(source, stream, 10);
  return { fields: schema.fields.length, changes: changes.map(changeView) };
}
