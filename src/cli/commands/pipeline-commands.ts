import { type Command, InvalidArgumentError } from 'commander';
import { runPipeline, type Step } from '../../pipeline/run.js';
import { parseTimeArg } from '../../pipeline/window.js';
import { print, withProject } from '../context.js';
import { setExitCode } from '../exit.js';
import { renderRun } from '../render.js';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
};

const STEPS: Record<string, { steps: Step[]; about: string }> = {
  fetch: { steps: ['fetch'], about: 'pull what is missing from the APIs into landing' },
  sync: { steps: ['sync'], about: 'move landed batches to storage: verified, then the local copy is deleted' },
  load: { steps: ['load'], about: 'load batches from storage that the ledger lacks into the raw tables' },
  run: { steps: ['fetch', 'sync', 'load', 'transform'], about: 'fetch, sync and load, then build the models (when the models folder exists)' },
};

export function registerPipelineCommands(program: Command): void {
  for (const [name, { steps, about }] of Object.entries(STEPS)) {
    const cmd = program.command(`${name} [sources...]`).description(about);
    if (steps.includes('fetch')) {
      cmd
        .option('--start <time>', 'window streams: first hour to make complete (ISO date or time, UTC)')
        .option('--end <time>', 'window streams: last hour to make complete (a date means its whole day)')
        .option('--limit <n>', 'test mode: at most N records per stream; checkpoints do not advance past them', positiveInt);
    }
    cmd.action(async (sources: string[], opts: { limit?: number; start?: string; end?: string }, self: Command) => {
      await withProject(self, async (project, g) => {
        const controller = new AbortController();
        const stop = () => controller.abort(new Error('interrupted'));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const range = {
            ...(opts.start ? { startMs: parseTimeArg(opts.start, 'start') } : {}),
            ...(opts.end ? { endMs: parseTimeArg(opts.end, 'end') } : {}),
          };
          const record = await runPipeline(project, { command: name, steps, sources, limit: opts.limit, range, signal: controller.signal });
          print(g, record, () => renderRun(record, steps));
          setExitCode(record.exit_code);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });
  }
}
