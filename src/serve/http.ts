import { createServer, type Server } from 'node:http';
import { SluiceError } from '../core/errors.js';
import type { Scheduler } from './scheduler.js';

/** `/healthz` (200 while the scheduler runs) and `/metrics` (Prometheus text) on a port. */
export async function startServeHttp(scheduler: Scheduler, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', running: scheduler.busy() }));
      return;
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(scheduler.metrics.render());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new SluiceError('config', `cannot listen on ${host}:${port}: ${error.message}`, { hint: 'pick another --port', cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
