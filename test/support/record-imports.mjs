// `node --import ./test/support/record-imports.mjs …`: writes every module URL the program
// resolves (ESM imports, and CommonJS loaded through them) to the file named by
// SLUICE_RECORD_IMPORTS, one a line. Start-up tests read it to see what a command loaded.
import { register } from 'node:module';

register(
  `data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.SLUICE_RECORD_IMPORTS) fs.appendFileSync(process.env.SLUICE_RECORD_IMPORTS, r.url + '\\n');
  return r;
}`)}`,
);
