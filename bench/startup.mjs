// Start-up (issue: an instant CLI): `sluice --help` beside a bare `node -e 0`, the two run in
// turn, 15 pairs; the medians of each are compared. Target: --help within 150 ms of bare node.
// Run alone: node bench/startup.mjs
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, ROOT } from './support/measure.mjs';

const PAIRS = 15;
const TARGET_MS = 150;
const BIN = path.join(ROOT, 'bin', 'sluice.js');

function time(args) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return performance.now() - t0;
}

export async function main() {
  const bare = [];
  const help = [];
  // In turn, so that whatever else the machine does weighs on both alike.
  for (let i = 0; i < PAIRS; i++) {
    bare.push(time(['-e', '0']));
    help.push(time([BIN, '--help']));
  }
  const [h, b] = [median(help), median(bare)];
  console.log(
    `start-up: sluice --help ${h.toFixed(0)} ms, node -e 0 ${b.toFixed(0)} ms: +${(h - b).toFixed(0)} ms (target <= ${TARGET_MS} ms; medians of ${PAIRS} pairs run in turn)`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
