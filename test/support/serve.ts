import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import net from 'node:net';
import { BIN } from './workspace.js';

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far, stdout and stderr. */
  out: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** `sluice serve --port` of a workspace's config, as a user starts it (CI set: no terminal output). */
export function startServe(ws: { cfg: string; dir: string }, port: number): ServeProcess {
  const child = spawn(process.execPath, [BIN, '--config', ws.cfg, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ws.dir,
    env: { ...process.env, NO_COLOR: '1', CI: 'true' },
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, out: () => out, exited };
}
