import type { JsonType } from '../core/schema.js';

/** A top-level field of the stream as the schema knows it, and what its strings hold. */
export interface ScaffoldField {
  name: string;
  types: readonly JsonType[];
  /** Rows that carried it, of the rows loaded (0…1). */
  share: number;
  /** Strings only: every one an ISO-8601 time (and some with an offset other than Z). */
  time?: { iso: boolean; offsets: boolean };
}

export interface ScaffoldInput {
  source: string;
  stream: string;
  /** The raw table's key columns (DESIGN §7), which the model deduplicates on. */
  keys: readonly string[];
  fields: readonly ScaffoldField[];
  /** The command that wrote it, for the header. */
  command: string;
}

export interface ScaffoldColumn {
  name: string;
  /** bigint, double precision, boolean, timestamp, timestamptz, text or json. */
  type: string;
  /** Why, for the file and for the user: the types seen. */
  note: string;
}

export interface Scaffold {
  model: string;
  sql: string;
  yml: string;
  columns: ScaffoldColumn[];
}

/**
 * DESIGN §9 `models scaffold`: a staging model typed from the schema sluice has seen, one row per
 * key (the latest load wins), and its key tests. Plain dbt: `source()`, `config()` and
 * `dbt.safe_cast`, JSON read with `->` / `->>` (DuckDB and PostgreSQL both have them).
 */
export function scaffoldModel(o: ScaffoldInput): Scaffold {
  const model = `stg_${o.source}__${o.stream}`;
  const names = new Names();
  const byName = new Map(o.fields.map((f) => [f.name, f]));
  type Column = ScaffoldColumn & { expr: string };
  // The key first, in key order (from the raw table's key column when no record carried it as a field); then the rest by name.
  const keyed: Column[] = o.keys.map((k) => {
    const f = byName.get(k);
    return f ? { ...typed(f), name: names.take(k) } : { name: names.take(k), type: 'text', note: 'the key', expr: quote(k) };
  });
  const rest: Column[] = o.fields
    .filter((f) => !o.keys.includes(f.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((f) => ({ ...typed(f), name: names.take(f.name) }));
  const columns = [...keyed, ...rest];
  const keyColumns = keyed.map((c) => c.name);
  const composite = o.keys.length > 1;
  if (composite) columns.unshift({ name: names.take('_sluice_key'), type: 'text', note: 'the key, as one value', expr: compositeKey(o.keys) });
  const keyName = composite ? columns[0]!.name : keyColumns[0]!;
  const partition = o.keys.map(quote).join(', ');
  const sql = [
    `-- ${o.source}.${o.stream}, typed from the fields sluice has seen in it (sluice._schema), one row per ${o.keys.join(', ')}:`,
    '-- the latest load wins. integer → bigint, number → double precision, ISO-8601 times in every row →',
    '-- timestamp, other strings → text, objects and arrays → json. Written by',
    `-- \`${o.command}\`; edit it freely: scaffold never overwrites it without --force.`,
    "{{ config(materialized='view') }}",
    'with ranked as (',
    `  select *, row_number() over (partition by ${partition} order by _sluice_loaded_at desc) as _sluice_row`,
    `  from {{ source('${o.source}', '${o.stream}') }}`,
    ')',
    'select',
    ...columns.map((c, i) => `  ${c.expr} as ${identifier(c.name)}${i < columns.length - 1 ? ',' : ''}  -- ${c.note}`),
    'from ranked',
    'where _sluice_row = 1',
    '',
  ].join('\n');
  const keyTests = new Set([...keyColumns, keyName]);
  const yml = [
    'version: 2',
    '',
    'models:',
    `  - name: ${model}`,
    `    description: ${yamlText(`${o.source}.${o.stream} typed from the schema sluice has seen, one row per ${o.keys.join(', ')}.`)}`,
    '    columns:',
    ...columns.flatMap((c) => [
      `      - name: ${/^[a-z_][a-z0-9_]*$/.test(c.name) ? c.name : yamlText(c.name)}`,
      `        description: ${yamlText(c.note)}`,
      ...(keyTests.has(c.name) ? [`        data_tests: [${c.name === keyName ? 'unique, not_null' : 'not_null'}]`] : []),
    ]),
    '',
  ].join('\n');
  return { model, sql, yml, columns: columns.map(({ expr: _expr, ...c }) => c) };
}

/** The column a field becomes (DESIGN §9). */
function typed(f: ScaffoldField): ScaffoldColumn & { expr: string } {
  const types = f.types.filter((t) => t !== 'null');
  const seen = `${f.types.join(', ') || 'nothing'} in ${Math.round(f.share * 100)}% of rows`;
  const only = (...allowed: JsonType[]) => types.length > 0 && types.every((t) => allowed.includes(t));
  const cast = (type: string) => perDialect(f.name, (key) => `{{ dbt.safe_cast(${jinjaString(`data->>${key}`)}, '${type}') }}`);
  const text = perDialect(f.name, (key) => `data->>${key}`);
  if (only('integer')) return { name: f.name, type: 'bigint', note: seen, expr: cast('bigint') };
  if (only('integer', 'number')) return { name: f.name, type: 'double precision', note: seen, expr: cast('double precision') };
  if (only('boolean')) return { name: f.name, type: 'boolean', note: seen, expr: cast('boolean') };
  if (only('string') && f.time?.iso) {
    const type = f.time.offsets ? 'timestamptz' : 'timestamp';
    return { name: f.name, type, note: `${seen}, all ISO-8601 times`, expr: cast(type) };
  }
  if (only('string')) return { name: f.name, type: 'text', note: seen, expr: text };
  if (only('object', 'array')) return { name: f.name, type: 'json', note: seen, expr: perDialect(f.name, (key) => `data->${key}`) };
  return { name: f.name, type: 'text', note: `${seen}: mixed types, kept as text`, expr: text };
}

/**
 * An expression reading the key, given as a SQL literal. DuckDB reads a key that starts with `$`
 * or `/` as a path: there it is given as a quoted JSONPath, in a branch on the target.
 */
function perDialect(key: string, expr: (keyLiteral: string) => string): string {
  const plain = expr(literal(key));
  if (!/^[$/]/.test(key)) return plain;
  const path = literal(`$."${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  return `{% if target.type == 'duckdb' %}${expr(path)}{% else %}${plain}{% endif %}`;
}

/** A key-preserving text of several key columns: each part prefixed by its length, so no separator can be forged. */
function compositeKey(keys: readonly string[]): string {
  return keys.map((k) => `cast(length(${quote(k)}) as varchar) || ':' || ${quote(k)}`).join(" || '|' || ");
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
const jinjaString = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
const yamlText = (s: string) => JSON.stringify(s);

/** Names every warehouse and dbt take unquoted: lower-case snake_case, not a reserved word. */
const RESERVED = new Set(
  'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create current_date current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral leading limit localtime localtimestamp not null offset on only or order placing primary references returning select session_user some symmetric table then to trailing true union unique user using variadic when where window with'.split(
    ' ',
  ),
);
const identifier = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : quote(name));

/** Column names from field names: snake_case, unique. */
class Names {
  readonly #taken = new Set<string>();

  take(field: string): string {
    let base = field
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/_+$/, '');
    if (!/[a-z0-9]/.test(base)) base = 'field';
    if (/^\d/.test(base)) base = `_${base}`;
    let name = base;
    for (let i = 2; this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#taken.add(name);
    return name;
  }
}
