import type { JsonValue } from '../core/source.js';
import { checkpointKey, parseBatchKey, streamPrefix } from '../storage/layout.js';
import type { Project } from './project.js';
import { type RunRecord, readRunRecords } from './run-record.js';

export interface StreamStatus {
  source: string;
  stream: string;
  mode: string;
  batches_in_landing: number;
  batches_in_storage: number;
  hours_in_storage: number;
  newest_hour_in_storage: string | undefined;
  batches_loaded: number;
  rows_loaded: number;
  rejected: number;
  last_loaded_at: string | undefined;
  checkpoint: JsonValue | undefined;
  checkpoint_pending: boolean;
  last_run: Pick<RunRecord, 'run_id' | 'command' | 'status' | 'finished_at'> | undefined;
}

/** Per source and stream: what is in landing, in storage, loaded, the checkpoint and the last run. */
export async function projectStatus(project: Project, names: readonly string[] = []): Promise<StreamStatus[]> {
  const storage = await project.storage();
  const warehouse = await project.warehouse();
  const runs = await readRunRecords(project.config.stateDir);
  const out: StreamStatus[] = [];
  for (const resolved of project.select(names)) {
    const source = resolved.create(project.log);
    try {
      for (const spec of source.streams()) {
        const prefix = streamPrefix(source.name, spec.name);
        let landing = 0;
        for await (const _ of project.landing.list(prefix)) landing++;
        let stored = 0;
        const hours = new Set<number>();
        for await (const o of storage.list(prefix)) {
          const k = parseBatchKey(o.key);
          if (!k) continue;
          stored++;
          hours.add(k.hourMs);
        }
        const pending = await project.landing.getBytes(checkpointKey(source.name, spec.name));
        const saved = pending ?? (await storage.getBytes(checkpointKey(source.name, spec.name)));
        const stats = await warehouse.stats({ source: source.name, stream: spec.name, mode: spec.mode, primaryKey: spec.primaryKey });
        const last = runs.filter((r) => r.sources.includes(source.name)).at(-1);
        const newest = hours.size ? Math.max(...hours) : undefined;
        out.push({
          source: source.name,
          stream: spec.name,
          mode: spec.mode,
          batches_in_landing: landing,
          batches_in_storage: stored,
          hours_in_storage: hours.size,
          newest_hour_in_storage: newest === undefined ? undefined : new Date(newest).toISOString(),
          batches_loaded: stats.batches,
          rows_loaded: stats.rows,
          rejected: stats.rejected,
          last_loaded_at: stats.lastLoadedAt,
          checkpoint: saved ? (JSON.parse(saved.toString('utf8')) as JsonValue) : undefined,
          checkpoint_pending: pending !== undefined,
          last_run: last ? { run_id: last.run_id, command: last.command, status: last.status, finished_at: last.finished_at } : undefined,
        });
      }
    } finally {
      await source.close();
    }
  }
  return out;
}
