type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Deep-merges an `envs.<name>` block over the base config. Objects merge key by key; a `sources`
 * list merges entry by entry on `name`, so an overlay can change one source's settings; other
 * lists replace. A `type` change replaces the object whole (an s3 block must not keep `path`).
 */
export function overlay(base: unknown, over: unknown, key = ''): unknown {
  if (key === 'sources' && Array.isArray(base) && Array.isArray(over)) return overlaySources(base, over);
  if (!isTree(base) || !isTree(over)) return over === undefined ? base : over;
  if ('type' in over && over.type !== base.type) return { ...over };
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = overlay(base[k], v, k);
  return out;
}

function overlaySources(base: unknown[], over: unknown[]): unknown[] {
  const out = [...base];
  for (const entry of over) {
    const i = isTree(entry) ? out.findIndex((b) => isTree(b) && b.name === entry.name) : -1;
    if (i >= 0) out[i] = overlay(out[i], entry);
    else out.push(entry);
  }
  return out;
}
