import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { readRunRecords } from '../../pipeline/run-record.js';
import { globals, print } from '../output.js';
import { table } from '../render.js';

/** `sluice runs`: the run history, newest last; reads the state dir only. */
export async function runsCommand(opts: { last: string }, self: Command): Promise<void> {
  const g = globals(self);
  const config = loadConfig({ file: g.config, env: g.env, dev: g.dev });
  const runs = (await readRunRecords(config.stateDir)).slice(-Math.max(1, Number(opts.last) || 20));
  print(g, { runs }, () => {
    if (runs.length === 0) return 'no runs yet';
    const sum = (r: (typeof runs)[number], k: 'fetched' | 'loaded_rows' | 'rejected') => r.streams.reduce((n, s) => n + s[k], 0);
    return table(
      ['run', 'command', 'sources', 'status', 'seconds', 'fetched', 'loaded', 'rejected', 'drift', 'warnings'],
      runs.map((r) => [
        r.run_id,
        r.command,
        r.sources.join(','),
        r.status,
        (r.duration_ms / 1000).toFixed(1),
        sum(r, 'fetched'),
        sum(r, 'loaded_rows'),
        sum(r, 'rejected'),
        r.streams.reduce((n, s) => n + (s.schema_changes?.new_field ?? 0) + (s.schema_changes?.type_change ?? 0), 0),
        r.streams.reduce((n, s) => n + s.warnings.length, 0),
      ]),
    );
  });
}
