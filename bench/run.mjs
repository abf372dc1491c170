// `npm run bench`: every benchmark, each printed beside its reference. Pick some by name:
// node bench/run.mjs github s3
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs')
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f.replace(/\.mjs$/, '')}`);
  try {
    const mod = await import(path.join(dir, f));
    await mod.main();
  } catch (error) {
    failed++;
    console.log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
