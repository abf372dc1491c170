import fs from 'node:fs';
import path from 'node:path';
import { tempPathFor } from '../../core/fs/temp-files.js';
import type { HttpClient } from '../../http/client.js';
import { describeRange, exportHour, type Range, splitRange } from './ranges.js';

export type RangeResult =
  | { kind: 'zip'; range: Range; file: string }
  /** 404: the API has no data in the range; every hour in it is complete and empty. */
  | { kind: 'empty'; range: Range }
  /** A one-hour range the API still refuses (400 too large, 504): reported, others go on. */
  | { kind: 'failed'; range: Range; status: number; message: string };

export interface ExportClient {
  http: HttpClient;
  baseUrl: string;
  authorization: string;
  scratchDir: string;
  signal: AbortSignal;
}

/**
 * Downloads one range to a temp file. A range answered 400 (export too large) or 504 (timeout) is
 * split in half and each half asked again, down to single hours; a 404 means no data.
 */
export async function downloadRange(c: ExportClient, range: Range): Promise<RangeResult[]> {
  const file = tempPathFor(path.join(c.scratchDir, 'export.zip'));
  const single = range.startMs === range.endMs;
  const res = await c.http.request({
    url: `${c.baseUrl}/api/2/export?start=${exportHour(range.startMs)}&end=${exportHour(range.endMs)}`,
    headers: { authorization: c.authorization },
    // 504 on one hour is retried by the client like any 5xx; on a range, splitting is the cure.
    accept: single ? [400, 404] : [400, 404, 504],
    toFile: file,
    signal: c.signal,
  });
  if (res.status === 404) return [{ kind: 'empty', range }];
  if (res.status === 400 || res.status === 504) {
    await fs.promises.rm(file, { force: true });
    const halves = splitRange(range);
    if (!halves) {
      return [{ kind: 'failed', range, status: res.status, message: `${describeRange(range)}: the Export API answered ${res.status} even for one hour` }];
    }
    const [a, b] = await Promise.all(halves.map((h) => downloadRange(c, h)));
    return [...(a ?? []), ...(b ?? [])];
  }
  return [{ kind: 'zip', range, file }];
}
