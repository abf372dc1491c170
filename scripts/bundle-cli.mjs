// Bundles the built CLI (dist/cli/main.js) into dist/cli-bundle/, the program `bin/sluice.js` runs.
//
// Why: Node 20 loads an ES module graph file by file. The CLI's own modules and the pure-JS
// packages every command needs (config parsing, YAML, arguments) are a few hundred files, about
// 0.1 s of every command's start-up; as a handful of chunks they load at once. Everything else
// stays a package of its own: drivers, SDKs and native bindings load only where a command opens
// them (dynamic imports become chunks of their own), and the library (`dist/index.js`) is
// tsc's output, unbundled.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** Loaded by nearly every command, pure JavaScript, and many files each. */
const BUNDLED_PACKAGES = ['commander', 'yaml', 'zod'];
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})].filter((name) => !BUNDLED_PACKAGES.includes(name));

const outdir = path.join(ROOT, 'dist', 'cli-bundle');
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(ROOT, 'dist', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // commander is CommonJS: its require() calls of Node's modules need a require in an ES module.
  banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
  logLevel: 'warning',
});
