import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** What one request to the scripted server saw. */
export interface SeenRequest {
  at: number;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** One scripted answer: the n-th request gets the n-th step (the last step repeats). */
export type Step =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | 'reset'
  | ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>);

export interface ScriptedServer {
  url: string;
  requests: SeenRequest[];
  /** Replaces the script and forgets earlier requests. */
  script(steps: Step[]): void;
  close(): Promise<void>;
}

/** A small HTTP server on loopback that answers from a script, for the HTTP client's tests. */
export async function startScriptedServer(): Promise<ScriptedServer> {
  let steps: Step[] = [{ status: 200, body: 'ok' }];
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const n = requests.length;
    requests.push({ at: Date.now(), method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    const step = steps[Math.min(n, steps.length - 1)] as Step;
    req.resume();
    if (step === 'reset') {
      req.socket.resetAndDestroy(); // RST: the client sees ECONNRESET
      return;
    }
    if (typeof step === 'function') {
      void step(req, res);
      return;
    }
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(step.body ?? '');
    };
    if (step.delayMs) setTimeout(send, step.delayMs);
    else send();
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(next) {
      steps = next;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
