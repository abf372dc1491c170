import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { requireProgram } from './programs.js';
import { freePort } from './serve.js';

/**
 * A throwaway PostgreSQL server for tests: the server binaries found on PATH or from Debian's
 * `postgresql` package (suites skip without them: `lacks('postgresql')`), a fresh cluster in a
 * temp dir on a free loopback port, password auth over TCP (so a wrong password is really
 * refused). The server refuses to run as root, so when we are root it runs as the `postgres`
 * OS user. fsync is off: a crash of the server process loses nothing, only an OS crash could.
 */
export interface PgServer {
  readonly port: number;
  /** The cluster's folder (data, socket, log), removed by stopPostgres. */
  readonly dir: string;
  readonly password: string;
  /** A connection URL for a database (default `postgres`). */
  url(database?: string, password?: string): string;
  /** Creates a database if missing and returns its URL: one per test keeps them apart. */
  database(name: string): Promise<string>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** `immediate` is like a crash: open transactions are lost and recovery runs at the next start. */
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  restart(mode?: 'fast' | 'immediate'): void;
  logTail(lines?: number): string;
}

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'sluice-test-pw-71c3';

/** The bin folder of the PostgreSQL server (PATH or Debian's /usr/lib/postgresql/<major>/bin). */
export const postgresBin = (): string => requireProgram('postgresql');

function asPostgres(cmd: string, args: string[]) {
  const [c, a] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return spawnSync(c, a, { encoding: 'utf8' });
}

export async function startPostgres(): Promise<PgServer> {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-test-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, `${PASSWORD}\n`);
  fs.chmodSync(dir, 0o755);
  if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const init = asPostgres(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwFile}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  if (init.status !== 0) throw new Error(`initdb failed: ${(init.stderr || init.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: dir,
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: 60,
    log_min_messages: 'warning',
  };
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `${Object.entries(settings)
      .map(([k, v]) => `${k} = '${v}'`)
      .join('\n')}\n`,
  );
  if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);

  let running = false;
  const ctl = (args: string[]) => asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const url = (database = 'postgres', password = PASSWORD) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const server: PgServer = {
    port,
    dir,
    password: PASSWORD,
    url,
    start() {
      const r = ctl(['-l', logFile, '-w', '-t', '60', 'start']);
      if (r.status !== 0) throw new Error(`PostgreSQL did not start: ${server.logTail()}`);
      running = true;
    },
    stop(mode = 'fast') {
      if (!running) return;
      ctl(['-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    restart(mode = 'fast') {
      server.stop(mode);
      server.start();
    },
    logTail(lines = 5) {
      try {
        return fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-lines).join(' | ');
      } catch {
        return '';
      }
    },
    async query<T>(sql: string, params?: unknown[], database = 'postgres'): Promise<T[]> {
      const client = new pg.Client({ connectionString: url(database) });
      client.on('error', () => {});
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end().catch(() => {});
      }
    },
    async database(name: string): Promise<string> {
      const exists = await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.length === 0) await server.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return url(name);
    },
  };
  server.start();
  process.once('exit', () => {
    if (running) ctl(['-m', 'immediate', 'stop']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

/** Stops a server and removes its folder (the exit hook covers a test process that exits first). */
export function stopPostgres(server: PgServer | undefined): void {
  if (!server) return;
  server.stop('immediate');
  fs.rmSync(server.dir, { recursive: true, force: true });
}
