/** SQL text helpers shared by the warehouse plug-ins. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** UTC timestamp literal text `YYYY-MM-DD HH:MM:SS` for an epoch ms. */
export function timestampText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;
interface NamedRelation {
  schema: string;
  name: string;
}

/** A relation's kind from the standard `information_schema`, or undefined when it does not exist. */
export async function relationKind(all: Query, r: NamedRelation): Promise<'view' | 'table' | undefined> {
  const rows = await all(
    `SELECT table_type FROM information_schema.tables WHERE table_schema = ${quoteLiteral(r.schema)} AND table_name = ${quoteLiteral(r.name)}`,
  );
  const type = rows[0]?.table_type;
  return type === undefined ? undefined : type === 'VIEW' ? 'view' : 'table';
}

/** A relation's column names in order, from the standard `information_schema`. */
export async function relationColumns(all: Query, r: NamedRelation): Promise<string[]> {
  const rows = await all(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = ${quoteLiteral(r.schema)} AND table_name = ${quoteLiteral(r.name)} ORDER BY ordinal_position`,
  );
  return rows.map((row) => String(row.column_name));
}
