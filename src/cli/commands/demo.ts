import type { Command } from 'commander';
import { runDemo } from '../../demo/run-demo.js';
import { setExitCode } from '../exit.js';
import { createLogger } from '../logger.js';
import { globals, print } from '../output.js';
import { renderRun, table } from '../render.js';

/** `sluice demo`: the whole pipeline offline against the built-in simulators, into DuckDB. */
export async function demoCommand(opts: { keep?: boolean; dir?: string }, self: Command): Promise<void> {
  const g = globals(self);
  const result = await runDemo({
    keep: Boolean(opts.keep || opts.dir),
    dir: opts.dir,
    log: createLogger({ level: process.env.SLUICE_LOG_LEVEL ?? 'warn' }),
  });
  setExitCode(Math.max(result.first.exit_code, result.second.exit_code) as 0 | 1 | 2);
  print(g, result, () => {
    const steps = ['fetch', 'sync', 'load'];
    const s = result.status;
    return [
      'first run (everything is new):',
      renderRun(result.first, steps),
      '',
      'second run (incremental: only what changed):',
      renderRun(result.second, steps),
      '',
      table(
        ['stream', 'batches in storage', 'hours', 'rows loaded', 'rejected', 'reconciled'],
        s.map((x) => [
          `${x.source}/${x.stream}`,
          x.batches_in_storage,
          x.hours_in_storage,
          x.rows_loaded,
          x.rejected,
          x.reconciliation.reconciled ? 'yes' : 'NO',
        ]),
      ),
      '',
      `${result.metrics.events} events in raw.github_events. Top event types:`,
      table(
        ['type', 'events'],
        result.metrics.byType.map((r) => [r.type, r.events]),
      ),
      '',
      `${result.metrics.amplitude.events} events from ${result.metrics.amplitude.users} active users in raw.amplitude_events. Top event types:`,
      table(
        ['event_type', 'events'],
        result.metrics.amplitude.byType.map((r) => [r.type, r.events]),
      ),
      '',
      result.kept
        ? `the demo project is in ${result.dir}: cd there and try \`sluice status\`, \`sluice runs\``
        : 'run `sluice demo --keep` to keep the project and explore it',
    ].join('\n');
  });
}
