import type { Server } from 'node:http';
import { type Command, InvalidArgumentError } from 'commander';
import { startServeHttp } from '../../serve/http.js';
import { Scheduler, scheduledSources } from '../../serve/scheduler.js';
import { print, printLine, withProject } from '../context.js';
import { renderRun } from '../render.js';

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
};

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run each source on its `schedule:` (cron, UTC) in one long-lived process; never two runs of a source at once')
    .option('--port <n>', 'serve /healthz and /metrics (Prometheus text) on this port', port)
    .option('--host <address>', 'address for --port', '0.0.0.0')
    .action(async (opts: { port?: number; host: string }, self: Command) => {
      await withProject(self, async (project, g) => {
        const sources = scheduledSources(project);
        const scheduler = new Scheduler(project, sources, (_name, record) => {
          if (!g.json) printLine(renderRun(record, ['fetch', 'sync', 'load']));
        });
        let server: Server | undefined;
        if (opts.port !== undefined) server = await startServeHttp(scheduler, opts.port, opts.host);
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
    });
}
