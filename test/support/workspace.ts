import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'sluice.js');
export const DIST_MAIN = path.join(ROOT, 'dist', 'cli-bundle', 'main.js');

/** The CLI tests run the built program: fail with the fix rather than an import error from a child. */
export function assertBuilt(): void {
  if (!fs.existsSync(DIST_MAIN)) {
    throw new Error(`the CLI is not built (${path.relative(ROOT, DIST_MAIN)} is missing): run \`npm run build\` first (\`npm test\` does it)`);
  }
}

/** A fresh temp folder; the caller removes it when done. */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sluice-test-${name}-`));
}

/** Writes a config as JSON (valid YAML) and returns its path. */
export function writeConfig(dir: string, config: unknown, file = 'sluice.yaml'): string {
  const p = path.join(dir, file);
  fs.writeFileSync(p, `${JSON.stringify(config, null, 2)}\n`);
  return p;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/** Runs the built CLI as a user would; `killAfterMs` sends SIGKILL to simulate a crash. */
export function runCli(args: string[], o: { cwd: string; killAfterMs?: number; env?: Record<string, string> }): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd,
      env: { ...process.env, NO_COLOR: '1', CI: 'true', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer =
      o.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, o.killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

/** Every file under root, relative with `/`. */
export function listFiles(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[])
    .map((p) => p.split(path.sep).join('/'))
    .filter((p) => fs.statSync(path.join(root, p)).isFile())
    .sort();
}

/** The parsed lines of a batch. */
export function readBatch(file: string): unknown[] {
  return zlib
    .gunzipSync(fs.readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return { __unparsed: l };
      }
    });
}

/** Opens a DuckDB file (the warehouse must be closed), hands a connection to `work`, and closes it. */
async function withDuck<T>(file: string, options: Record<string, string>, work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const inst = await DuckDBInstance.create(file, options);
  const conn = await inst.connect();
  try {
    return await work(conn);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Runs a statement on a DuckDB file: to stage a past state in a test. */
export const execDuck = (file: string, sql: string): Promise<void> => withDuck(file, {}, async (conn) => void (await conn.run(sql)));

/** Runs queries against a DuckDB file read-only and closes it. */
export const queryDuck = <T = Record<string, unknown>>(file: string, sql: string): Promise<T[]> =>
  withDuck(file, { access_mode: 'READ_ONLY' }, async (conn) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as T[]);
