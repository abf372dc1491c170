import type * as z from 'zod';
import { ConfigError } from '../core/errors.js';

/** `sources[0].repos` from a zod path, prefixed with where the object sits. */
export function keyPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(root)';
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `required (expected ${issue.expected})`;
  return issue.message.replace(/^Invalid input: /, '');
}

/** One ConfigError that lists every problem, each as `key.path: what was expected`. */
export function configErrorFrom(error: z.ZodError, prefix: string, file: string): ConfigError {
  const lines = error.issues.map((issue) => {
    const path = issue.code === 'unrecognized_keys' ? issue.path : issue.path;
    return `${keyPath(prefix, path)}: ${describe(issue)}`;
  });
  return new ConfigError(`invalid config in ${file}:\n  ${lines.join('\n  ')}`, {
    hint: 'fix the keys named above (see the Configuration section of the README)',
  });
}
