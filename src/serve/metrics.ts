import type { RunRecord } from '../pipeline/run-record.js';

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Counters of one `serve` process, rendered as Prometheus text exposition. */
export class ServeMetrics {
  readonly #runs = new Map<string, number>();
  readonly #rows = new Map<string, number>();
  readonly #rejected = new Map<string, number>();
  readonly #lastSuccess = new Map<string, number>();
  readonly #lastDuration = new Map<string, number>();
  readonly #running = new Set<string>();
  readonly #skipped = new Map<string, number>();
  /** DESIGN §9 drift, by `source \0 stream \0 kind`. */
  readonly #schemaChanges = new Map<string, number>();
  readonly #sources: readonly string[];

  constructor(sources: readonly string[]) {
    this.#sources = sources;
  }

  started(source: string): void {
    this.#running.add(source);
  }

  skipped(source: string): void {
    this.#skipped.set(source, (this.#skipped.get(source) ?? 0) + 1);
  }

  finished(source: string, record: RunRecord): void {
    this.#running.delete(source);
    const key = `${source}\u0000${record.status}`;
    this.#runs.set(key, (this.#runs.get(key) ?? 0) + 1);
    this.#lastDuration.set(source, record.duration_ms / 1000);
    if (record.status === 'ok') this.#lastSuccess.set(source, Date.parse(record.finished_at) / 1000);
    for (const s of record.streams) {
      const k = `${s.source}\u0000${s.stream}`;
      this.#rows.set(k, (this.#rows.get(k) ?? 0) + s.loaded_rows);
      this.#rejected.set(k, (this.#rejected.get(k) ?? 0) + s.rejected);
      for (const [kind, n] of Object.entries(s.schema_changes ?? {})) {
        if (n > 0) this.#schemaChanges.set(`${k}\u0000${kind}`, (this.#schemaChanges.get(`${k}\u0000${kind}`) ?? 0) + n);
      }
    }
  }

  failed(source: string): void {
    this.#running.delete(source);
    const key = `${source}\u0000failed`;
    this.#runs.set(key, (this.#runs.get(key) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: Array<[string, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of rows) out.push(`${name}${labels} ${value}`);
    };
    const bySource = (m: Map<string, number>) => [...m].map(([k, v]) => [`{source="${label(k)}"}`, v] as [string, number]);
    const byStream = (m: Map<string, number>) =>
      [...m].map(([k, v]) => {
        const [source, stream] = k.split('\u0000') as [string, string];
        return [`{source="${label(source)}",stream="${label(stream)}"}`, v] as [string, number];
      });
    family(
      'sluice_runs_total',
      'counter',
      'Runs finished by this process, by source and outcome.',
      [...this.#runs].map(([k, v]) => {
        const [source, status] = k.split('\u0000') as [string, string];
        return [`{source="${label(source)}",status="${label(status)}"}`, v];
      }),
    );
    family('sluice_rows_loaded_total', 'counter', 'Rows loaded into the warehouse by this process.', byStream(this.#rows));
    family('sluice_rows_rejected_total', 'counter', 'Lines sent to sluice._rejects by this process.', byStream(this.#rejected));
    family(
      'sluice_schema_changes_total',
      'counter',
      'Schema drift (new fields, type changes) recorded in sluice._schema_changes by this process.',
      [...this.#schemaChanges].map(([k, v]) => {
        const [source, stream, kind] = k.split('\u0000') as [string, string, string];
        return [`{source="${label(source)}",stream="${label(stream)}",kind="${label(kind)}"}`, v];
      }),
    );
    family(
      'sluice_last_success_timestamp_seconds',
      'gauge',
      'When the last fully successful run of a source finished (Unix time).',
      bySource(this.#lastSuccess),
    );
    family('sluice_last_run_duration_seconds', 'gauge', 'How long the last run of a source took.', bySource(this.#lastDuration));
    family('sluice_ticks_skipped_total', 'counter', 'Scheduled ticks skipped because a run was still in flight.', bySource(this.#skipped));
    family(
      'sluice_run_in_progress',
      'gauge',
      '1 while a run of the source is in flight.',
      this.#sources.map((s) => [`{source="${label(s)}"}`, this.#running.has(s) ? 1 : 0]),
    );
    return `${out.join('\n')}\n`;
  }
}
