// Start-up (issue: an instant CLI): `sluice --help` beside a bare `node -e 0`, the two run in
// turn. With farm-bench on PATH, its medians over 15 pairs; without it, the fastest of 15 each,
// timed here. Target: --help within 150 ms of bare node.
// Run alone: node bench/startup.mjs
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './support/measure.mjs';

const RUNS = 15;
const TARGET_MS = 150;
const BIN = path.join(ROOT, 'bin', 'sluice.js');

/** Median wall seconds of A and B from farm-bench's table, or undefined when it is not there. */
function farmBench() {
  const r = spawnSync('farm-bench', ['-n', String(RUNS), '--vs', `${process.execPath} -e 0`, '--', process.execPath, BIN, '--help'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error || r.status !== 0) return undefined;
  const median = (who) => Number(new RegExp(`^${who} wall s\\s+\\S+\\s+(\\S+)`, 'm').exec(r.stdout)?.[1]) * 1000;
  const help = median('A');
  const bare = median('B');
  return Number.isFinite(help) && Number.isFinite(bare) ? { help, bare, how: `farm-bench medians of ${RUNS} pairs` } : undefined;
}

function ownTiming() {
  const time = (args) => {
    const t0 = performance.now();
    spawnSync(process.execPath, args, { stdio: 'ignore' });
    return performance.now() - t0;
  };
  const bare = [];
  const help = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(['-e', '0']));
    help.push(time([BIN, '--help']));
  }
  return { help: Math.min(...help), bare: Math.min(...bare), how: `fastest of ${RUNS} each, in turn` };
}

export async function main() {
  const r = farmBench() ?? ownTiming();
  const extra = r.help - r.bare;
  console.log(
    `start-up: sluice --help ${r.help.toFixed(0)} ms, node -e 0 ${r.bare.toFixed(0)} ms: +${extra.toFixed(0)} ms (target <= ${TARGET_MS} ms; ${r.how})`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
