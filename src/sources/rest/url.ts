/**
 * URLs of a REST source. A path is appended to base_url as it stands (DESIGN §5):
 * `https://api.example.com/v1` + `/agents` → `…/v1/agents`, never resolved against the host's root.
 */
export function joinUrl(baseUrl: string, path: string, params: Readonly<Record<string, string>> = {}): string {
  const base = new URL(baseUrl);
  const q = path.indexOf('?');
  const pathPart = q >= 0 ? path.slice(0, q) : path;
  const url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${pathPart.startsWith('/') ? '' : '/'}${pathPart}`);
  for (const [k, v] of base.searchParams) url.searchParams.append(k, v);
  if (q >= 0) for (const [k, v] of new URLSearchParams(path.slice(q + 1))) url.searchParams.append(k, v);
  return withParams(url.toString(), params);
}

/** The URL with these query parameters set (replacing any of the same name). */
export function withParams(url: string, params: Readonly<Record<string, string>>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return url;
  const u = new URL(url);
  for (const [k, v] of entries) u.searchParams.set(k, v);
  return u.toString();
}

/** Fills `{field}` from a parent record's values; `encode` for path segments. */
export function fill(template: string, vars: Readonly<Record<string, string | undefined>>, encode: boolean): string {
  return template.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const v = vars[name] ?? '';
    return encode ? encodeURIComponent(v) : v;
  });
}
