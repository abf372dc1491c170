import type { Command } from 'commander';
import { runPipeline, type Step } from '../../pipeline/run.js';
import { parseTimeArg } from '../../pipeline/window.js';
import { withProject } from '../context.js';
import { setExitCode } from '../exit.js';
import { globals, print, wantsProgress } from '../output.js';
import { renderRun } from '../render.js';

export type PipelineCommand = 'fetch' | 'sync' | 'load' | 'run';

const STEPS: Record<PipelineCommand, Step[]> = {
  fetch: ['fetch'],
  sync: ['sync'],
  load: ['load'],
  run: ['fetch', 'sync', 'load', 'transform'],
};

/** `fetch`, `sync`, `load` and `run`: the pipeline's steps for the named sources (all when none). */
export async function pipelineCommand(
  name: PipelineCommand,
  sources: string[],
  opts: { limit?: number; start?: string; end?: string },
  self: Command,
): Promise<void> {
  const steps = STEPS[name];
  // The terminal's code (log-update and its width tables) loads only when it draws.
  const progress = wantsProgress(globals(self)) ? new (await import('../progress-terminal.js')).TerminalProgress(steps) : undefined;
  try {
    await withProject(
      self,
      async (project, g) => {
        const controller = new AbortController();
        const stop = () => controller.abort(new Error('interrupted'));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const range = {
            ...(opts.start ? { startMs: parseTimeArg(opts.start, 'start') } : {}),
            ...(opts.end ? { endMs: parseTimeArg(opts.end, 'end') } : {}),
          };
          const record = await runPipeline(project, {
            command: name,
            steps,
            sources,
            limit: opts.limit,
            range,
            signal: controller.signal,
            ...(progress ? { progress } : {}),
          });
          progress?.stop();
          // The terminal already shows each stream's summary where its live line was.
          const shown = progress !== undefined && progress.summariesShown > 0 && process.stdout.isTTY === true;
          print(g, record, () => renderRun(record, steps, { streams: !shown }));
          setExitCode(record.exit_code);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      },
      progress ? { terminal: (text) => progress.log(text) } : {},
    );
  } finally {
    progress?.stop();
  }
}
