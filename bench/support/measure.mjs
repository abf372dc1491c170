// Shared by the benchmarks: run a command as a whole process, timing it and sampling the peak
// resident memory of the process from /proc every 20 ms.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The middle of `xs` by `by` (an odd count; the upper middle of an even one). On a shared machine a
 * single timing moves with the moment; the benchmarks compare medians and print every figure.
 */
export function median(xs, by = (x) => x) {
  return [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)];
}

export function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Runs `cmd args`; resolves { ms, peakMb, out } when it exits 0, rejects with its output's tail otherwise. */
export function timed(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let out = '';
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, rssKb(child.pid));
    }, 20);
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => {
      clearInterval(timer);
      if (process.env.BENCH_VERBOSE) console.log(out);
      if (code !== 0) reject(new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited ${code}: ${out.slice(-500)}`));
      else resolve({ ms: performance.now() - t0, peakMb: peak / 1024, out });
    });
  });
}

/** The project's own CLI, with warnings-only logs unless SLUICE_LOG_LEVEL says otherwise. */
export const runSluice = (args, cwd) =>
  timed(process.execPath, [path.join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd,
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn' },
  });

/**
 * The floor the load benchmarks compare with: DuckDB itself reading the same batch files into a
 * plain table of a new database. Resolves { ms, rows }.
 */
export async function duckdbFloor(dbFile, glob) {
  const t0 = performance.now();
  const inst = await DuckDBInstance.create(dbFile);
  const conn = await inst.connect();
  try {
    await conn.run(`CREATE TABLE floor AS SELECT * FROM read_json('${glob}', format = 'newline_delimited', union_by_name = true)`);
    const ms = performance.now() - t0;
    const rows = Number((await conn.runAndReadAll('SELECT count(*) FROM floor')).getRows()[0][0]);
    return { ms, rows };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
