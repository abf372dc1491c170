import { spawn } from 'node:child_process';
import { assertBuilt, BIN, type CliResult } from './workspace.js';

/**
 * Runs the built CLI and sends SIGKILL `delayMs` after it logs `event` (a pino JSON line on
 * stderr). Timing the kill from a log event rather than from the spawn keeps kills inside the
 * work however long the process takes to start on a busy machine.
 */
export function runCliKilledAfterLog(args: string[], o: { cwd: string; event: string; delayMs: number }): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd,
      env: { ...process.env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    let exited = false;
    const marker = `"event":"${o.event}"`;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (timer === undefined && stderr.includes(marker)) {
        timer = setTimeout(() => {
          if (exited) return;
          killed = true;
          child.kill('SIGKILL');
        }, o.delayMs);
      }
    });
    child.on('exit', () => {
      exited = true;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}
