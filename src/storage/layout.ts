import { hourOfPartition, partitionOf } from '../core/hours.js';

/** DESIGN §2: `{source}/{stream}/dt=YYYY-MM-DD/hr=HH/{part}.jsonl.gz` and `_state/{source}/{stream}.json`. */
export const BATCH_SUFFIX = '.jsonl.gz';

export function streamPrefix(source: string, stream: string): string {
  return `${source}/${stream}/`;
}

export function batchKey(source: string, stream: string, hourMs: number, part: string): string {
  return `${streamPrefix(source, stream)}${partitionOf(hourMs)}/${part}${BATCH_SUFFIX}`;
}

export function checkpointKey(source: string, stream: string): string {
  return `_state/${source}/${stream}.json`;
}

export interface BatchKey {
  source: string;
  stream: string;
  hourMs: number;
  part: string;
}

const BATCH = /^([^/]+)\/([^/]+)\/dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/([^/.][^/]*)\.jsonl\.gz$/;

export function parseBatchKey(key: string): BatchKey | undefined {
  const m = BATCH.exec(key);
  const hourMs = hourOfPartition(key);
  if (!m || hourMs === undefined) return undefined;
  return { source: m[1] as string, stream: m[2] as string, hourMs, part: m[3] as string };
}

/**
 * A `full` stream's snapshots are its parts (run ids, which sort by time). Only the newest counts:
 * an older one that was never loaded (its load failed, or it arrived late) is superseded, so it
 * must never be loaded over the newer one.
 */
export function newestSnapshot(keys: Iterable<string>): string | undefined {
  let newest: string | undefined;
  for (const key of keys) {
    const part = parseBatchKey(key)?.part;
    if (part !== undefined && (newest === undefined || part > newest)) newest = part;
  }
  return newest;
}
