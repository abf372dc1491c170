// A throwaway PostgreSQL cluster of Debian's postgresql for the load benchmarks (or SLUICE_BENCH_PG_URL).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

const isRoot = process.getuid?.() === 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A throwaway cluster in a temp dir (the server refuses root: it runs as `postgres` then). */
export async function startServer(dir) {
  const base = '/usr/lib/postgresql';
  const version = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!version) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (or set SLUICE_BENCH_PG_URL)');
  const bin = path.join(base, version, 'bin');
  const as = (cmd, args) => spawnSync(isRoot ? 'runuser' : cmd, isRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { encoding: 'utf8' });
  const data = path.join(dir, 'pgdata');
  fs.chmodSync(dir, 0o755);
  if (isRoot) spawnSync('chown', ['-R', 'postgres:postgres', dir]);
  const init = as(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  // fsync off: the timings compare two clients of one server, not this machine's disk. Autovacuum
  // off: its pass over the table one step just filled would land, at random, in the next step's time.
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = off\nfull_page_writes = off\nshared_buffers = '256MB'\nmax_wal_size = '4GB'\nautovacuum = off\n`,
  );
  const ctl = (args) => as(path.join(bin, 'pg_ctl'), ['-D', data, ...args]);
  if (ctl(['-l', path.join(dir, 'pg.log'), '-w', 'start']).status !== 0) throw new Error('PostgreSQL did not start');
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, psql: path.join(bin, 'psql'), stop: () => ctl(['-m', 'fast', '-w', 'stop']) };
}

/**
 * Before a timed step: the server writes its dirty buffers out, and the kernel writes every dirty
 * page to disk, so that the writes of the step before (or of the data just generated) are not
 * flushed during this one.
 */
export async function quiesce(url) {
  await query(url, 'CHECKPOINT');
  spawnSync('sync');
}

export async function query(url, sql) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
