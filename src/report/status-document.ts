import type { Project } from '../pipeline/project.js';
import { projectStatus, type StreamStatus } from '../pipeline/status.js';

/** What `sluice --json status` prints and `serve` answers on `/api/status`: one document, built in one place. */
export interface StatusDocument {
  generated_at: string;
  streams: StreamStatus[];
}

export async function statusDocument(project: Project, sources: readonly string[] = []): Promise<StatusDocument> {
  const streams = await projectStatus(project, sources);
  return { generated_at: new Date().toISOString(), streams };
}

/** Each source's `schedule:` (cron, UTC), for freshness; sources without one are left out. */
export function schedulesOf(project: Project): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of project.config.sources) {
    const { schedule } = entry as { schedule?: unknown };
    if (typeof schedule === 'string' && schedule.trim()) out[entry.name] = schedule;
  }
  return out;
}
