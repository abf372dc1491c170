import type { Server } from 'node:http';
import type { Command } from 'commander';
import { ProgressBoard } from '../../pipeline/progress.js';
import { startServeHttp } from '../../serve/http.js';
import { LiveStatus } from '../../serve/live-status.js';
import { Scheduler, scheduledSources } from '../../serve/scheduler.js';
import { withProject } from '../context.js';
import { print, printLine } from '../output.js';
import { renderRun } from '../render.js';

/** `sluice serve`: each source on its schedule; with `--port`, the dashboard, status, health and metrics. */
export async function serveCommand(opts: { port?: number; host: string }, self: Command): Promise<void> {
  await withProject(self, async (project, g) => {
    const sources = scheduledSources(project);
    const board = new ProgressBoard();
    let live: LiveStatus | undefined;
    const scheduler = new Scheduler(project, sources, {
      progress: board,
      onRun: async (_name, record) => {
        // Still the scheduler's turn: the dashboard's status is read (and the warehouse closed
        // again) while no run can open it; the run's line is printed once all of that is done.
        await live?.readInTurn();
        if (!g.json) printLine(renderRun(record, ['fetch', 'sync', 'load']));
      },
    });
    let server: Server | undefined;
    if (opts.port !== undefined) {
      live = new LiveStatus(project, scheduler, board);
      await live.document();
      server = await startServeHttp(scheduler, live, opts.port, opts.host);
      const where = server.address();
      project.log.info(
        { url: typeof where === 'object' && where ? `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${where.port}/` : undefined },
        'serve.listening',
      );
    }
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      const first = (sig: NodeJS.Signals) => {
        project.log.info({ signal: sig, running: scheduler.busy() }, 'serve.stopping');
        // A second signal aborts the run in flight instead of waiting for it.
        process.once('SIGTERM', () => scheduler.abort());
        process.once('SIGINT', () => scheduler.abort());
        resolve(sig);
      };
      process.once('SIGTERM', first);
      process.once('SIGINT', first);
    });
    scheduler.start();
    const sig = await stopped;
    await scheduler.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    print(g, { stopped_by: sig, metrics: scheduler.metrics.render() }, () => `stopped (${sig}) after finishing the run in flight`);
  });
}
