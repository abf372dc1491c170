// Benchmark (issue 5): 1,000,000 GitHub-shaped events in hourly batches, `sluice load` into
// PostgreSQL, against the floor: `psql \copy` of the same lines into a plain jsonb table.
// Prints rows/s, peak RSS and the ratio (target ≤ 2×). Uses a throwaway cluster of Debian's
// postgresql (or SLUICE_BENCH_PG_URL). Run alone: node bench/postgres-load.mjs [rows]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import pg from 'pg';
import { timed } from './support/measure.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROWS_PER_BATCH = 1000;
const HOUR = 3_600_000;
const isRoot = process.getuid?.() === 0;

/** A deterministic stream of GitHub-shaped events (~1 KB each), as the events API returns them. */
function* githubEvents(total, startMs) {
  // created_at falls in the hour of the batch the event is written to (ROWS_PER_BATCH per hour).
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const types = ['PushEvent', 'WatchEvent', 'IssueCommentEvent', 'PullRequestEvent', 'CreateEvent', 'IssuesEvent'];
  for (let i = 0; i < total; i++) {
    const actor = Math.floor(rnd() * 50_000);
    const repo = Math.floor(rnd() * 5_000);
    const type = types[Math.floor(rnd() * types.length)];
    const sha = Math.floor(rnd() * 2 ** 48)
      .toString(16)
      .padStart(12, '0')
      .repeat(3)
      .slice(0, 40);
    yield {
      id: String(30_000_000_000 + i),
      type,
      actor: {
        id: actor,
        login: `user${actor}`,
        display_login: `user${actor}`,
        gravatar_id: '',
        url: `https://api.github.com/users/user${actor}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${actor}?`,
      },
      repo: { id: 100_000 + repo, name: `org${repo % 97}/repo${repo}`, url: `https://api.github.com/repos/org${repo % 97}/repo${repo}` },
      payload:
        type === 'PushEvent'
          ? {
              repository_id: 100_000 + repo,
              push_id: 10_000_000_000 + i,
              size: 1,
              distinct_size: 1,
              ref: 'refs/heads/main',
              head: sha,
              before: sha.split('').reverse().join(''),
              commits: [
                {
                  sha,
                  author: { email: 'dev@example.com', name: 'Dev' },
                  message: 'Fix the "flaky" test\nand\tmore',
                  distinct: true,
                  url: `https://api.github.com/repos/org${repo % 97}/repo${repo}/commits/${sha}`,
                },
              ],
            }
          : {
              action: 'created',
              issue: { number: Math.floor(rnd() * 20_000), title: 'Improve the loader', state: 'open' },
              comment: { id: 2_000_000_000 + i, body: 'LGTM, thanks! 🚀' },
            },
      public: true,
      created_at: new Date(startMs + Math.floor(i / ROWS_PER_BATCH) * HOUR + (i % ROWS_PER_BATCH) * 3000).toISOString().replace('.000Z', 'Z'),
      org: {
        id: 9_000 + (repo % 97),
        login: `org${repo % 97}`,
        gravatar_id: '',
        url: `https://api.github.com/orgs/org${repo % 97}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${9_000 + (repo % 97)}?`,
      },
    };
  }
}

/** Writes the lake (one gzip batch per hour, storage layout) and the same lines as one plain file. */
function writeData(dir, total) {
  const lake = path.join(dir, 'lake');
  const plain = fs.openSync(path.join(dir, 'all.jsonl'), 'w');
  const startMs = Date.UTC(2026, 0, 1);
  let lines = [];
  let hour = 0;
  const flush = () => {
    const text = `${lines.join('\n')}\n`;
    const t = new Date(startMs + hour * HOUR).toISOString();
    const file = path.join(lake, 'github', 'events', `dt=${t.slice(0, 10)}`, `hr=${t.slice(11, 13)}`, `bench-${String(hour).padStart(5, '0')}.jsonl.gz`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zlib.gzipSync(text, { level: 6 }));
    fs.writeSync(plain, text);
    lines = [];
    hour++;
  };
  for (const ev of githubEvents(total, startMs)) {
    lines.push(JSON.stringify(ev));
    if (lines.length === ROWS_PER_BATCH) flush();
  }
  if (lines.length) flush();
  fs.closeSync(plain);
  return { lake, plain: path.join(dir, 'all.jsonl'), batches: hour };
}

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
async function startServer(dir) {
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
  // fsync off: the timings compare two clients of one server, not this machine's disk.
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = off\nfull_page_writes = off\nshared_buffers = '256MB'\nmax_wal_size = '4GB'\n`,
  );
  const ctl = (args) => as(path.join(bin, 'pg_ctl'), ['-D', data, ...args]);
  if (ctl(['-l', path.join(dir, 'pg.log'), '-w', 'start']).status !== 0) throw new Error('PostgreSQL did not start');
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, psql: path.join(bin, 'psql'), stop: () => ctl(['-m', 'fast', '-w', 'stop']) };
}

async function query(url, sql) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

export async function main(total = 1_000_000) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-pg-'));
  let server;
  try {
    const data = writeData(dir, total);
    server = process.env.SLUICE_BENCH_PG_URL ? undefined : await startServer(dir);
    const url = process.env.SLUICE_BENCH_PG_URL ?? server.url;
    const psql = server?.psql ?? 'psql';
    const db = (name) => url.replace(/\/[^/]*$/, `/${name}`);
    for (const name of ['bench_sluice', 'bench_floor']) {
      await query(url, `DROP DATABASE IF EXISTS ${name}`);
      await query(url, `CREATE DATABASE ${name}`);
    }
    fs.writeFileSync(
      path.join(dir, 'sluice.yaml'),
      JSON.stringify({
        state_dir: './state',
        storage: { type: 'local', path: data.lake },
        warehouse: { type: 'postgres', url: db('bench_sluice') },
        sources: [{ name: 'github', type: 'github', repos: ['bench/bench'] }],
      }),
    );

    await query(url, 'CHECKPOINT');
    const load = await timed(process.execPath, [path.join(ROOT, 'bin/sluice.js'), 'load', 'github'], {
      cwd: dir,
      env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
    });
    const [loaded] = await query(db('bench_sluice'), 'SELECT count(*)::int AS n FROM raw.github_events');

    // The floor: psql streaming the same lines into a plain jsonb table (no key, no merge, no ledger).
    await query(db('bench_floor'), 'CREATE TABLE floor (data jsonb)');
    await query(url, 'CHECKPOINT');
    const copy = await timed(psql, [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      db('bench_floor'),
      '-c',
      `\\copy floor(data) from '${data.plain}' with (format csv, quote e'\\x01', delimiter e'\\x02')`,
    ]);
    const [copied] = await query(db('bench_floor'), 'SELECT count(*)::int AS n FROM floor');

    const rate = Math.round(loaded.n / (load.ms / 1000));
    console.log(
      `postgres load: ${loaded.n} rows from ${data.batches} batches in ${(load.ms / 1000).toFixed(2)} s = ${rate} rows/s, peak RSS ${Math.round(load.peakMb)} MB`,
    );
    console.log(`floor (psql \\copy of the same ${copied.n} lines into a plain jsonb table): ${(copy.ms / 1000).toFixed(2)} s`);
    console.log(`ratio sluice load / floor: ${(load.ms / copy.ms).toFixed(2)}x (target <= 2x)`);
    if (loaded.n !== total || copied.n !== total) throw new Error(`expected ${total} rows, sluice loaded ${loaded.n}, \\copy ${copied.n}`);
    return { rows: loaded.n, ms: load.ms, floorMs: copy.ms, peakMb: load.peakMb };
  } finally {
    server?.stop();
    if (process.env.BENCH_KEEP) console.log('kept', dir);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv[2] ? Number(process.argv[2]) : undefined);
