import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SluiceError } from '../core/errors.js';
import type { LiveStatus } from './live-status.js';
import type { Scheduler } from './scheduler.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `serve --port`: the live dashboard on `/`, the status document on `/api/status`, `/healthz`
 * (200 while the scheduler runs) and `/metrics` (Prometheus text). Read-only: GET and HEAD only.
 */
export async function startServeHttp(scheduler: Scheduler, live: LiveStatus, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    answer(req, res, scheduler, live).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${(error as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new SluiceError('config', `cannot listen on ${host}:${port}: ${error.message}`, { hint: 'pick another --port', cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function answer(req: IncomingMessage, res: ServerResponse, scheduler: Scheduler, live: LiveStatus): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  switch (url.pathname) {
    case '/healthz':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', running: scheduler.busy() }));
      return;
    case '/metrics':
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(scheduler.metrics.render());
      return;
    case '/': {
      const html = await live.page();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...SAME_ORIGIN }).end(html);
      return;
    }
    case '/api/status': {
      const { doc, error } = await live.document();
      if (!doc) {
        const body = { error: { code: 'status_unavailable', message: error ?? 'no status read yet', hint: 'retry in a few seconds' } };
        res.writeHead(503, { 'content-type': JSON_TYPE, 'retry-after': '5' }).end(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      res.writeHead(200, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' }).end(`${JSON.stringify(doc, null, 2)}\n`);
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /api/status, /healthz or /metrics\n');
  }
}

/** The page runs only its own inline script and fetches only itself. */
const SAME_ORIGIN = {
  'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'",
  'x-content-type-options': 'nosniff',
};
