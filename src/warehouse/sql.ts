/** SQL text helpers shared by the warehouse plug-ins. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** `raw.<source>_<stream>` (DESIGN §7). */
export function rawTableName(source: string, stream: string): string {
  return `${source}_${stream}`.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** UTC timestamp literal text `YYYY-MM-DD HH:MM:SS` for an epoch ms. */
export function timestampText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
