import fs from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { type ParsedTemplate, parseTemplate } from './template.js';

export type Materialized = 'view' | 'table' | 'incremental';
export const DEFAULT_SCHEMA = 'analytics';

export interface Model {
  name: string;
  /** For messages: the path relative to the models folder's parent. */
  file: string;
  parsed: ParsedTemplate;
  materialized: Materialized;
  uniqueKey: string[];
  schema: string;
}

export type TestKind = 'unique' | 'not_null' | 'accepted_values' | 'relationships';

/** One column test of a schema.yml: on a model, or on a source table (`raw.<source>_<table>`). */
export interface ColumnTest {
  kind: TestKind;
  model?: string;
  source?: { source: string; table: string };
  column: string;
  values?: Array<string | number | boolean>;
  /** relationships: the parent, as written (`ref('dim_x')` or `source('a', 'b')`) and its column. */
  to?: string;
  field?: string;
  severity: 'error' | 'warn';
  /** `file:line` of the test in its schema.yml. */
  at: string;
}

export interface TransformProject {
  dir: string;
  models: Map<string, Model>;
  tests: ColumnTest[];
  /** Each model's `meta:` from the YAML files (dbt's free-form properties), by model name. */
  meta: Map<string, Record<string, unknown>>;
}

const KINDS = new Set<TestKind>(['unique', 'not_null', 'accepted_values', 'relationships']);

function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(p));
    else out.push(p);
  }
  return out;
}

function toModel(file: string, display: string): Model {
  const parsed = parseTemplate(display, fs.readFileSync(file, 'utf8'));
  const c = parsed.config;
  const materialized = (c.materialized ?? 'view') as Materialized;
  if (!['view', 'table', 'incremental'].includes(materialized)) {
    throw new ConfigError(`${display}: materialized='${String(c.materialized)}' is not supported`, { hint: "use 'view', 'table' or 'incremental'" });
  }
  const key = c.unique_key;
  const uniqueKey = key === undefined ? [] : Array.isArray(key) ? key.map(String) : [String(key)];
  const schema = typeof c.schema === 'string' ? c.schema : DEFAULT_SCHEMA;
  return { name: path.basename(file, '.sql'), file: display, parsed, materialized, uniqueKey, schema };
}

/** Reads every `.sql` model and `*.yml` test file under the folder (dbt's layout). */
export function loadTransformProject(dir: string): TransformProject {
  if (!fs.existsSync(dir)) {
    throw new ConfigError(`no models folder at ${dir}`, { hint: 'set transform.models in the config, or run `sluice init` to write the bundled models' });
  }
  const base = path.dirname(dir);
  const models = new Map<string, Model>();
  const tests: ColumnTest[] = [];
  const meta = new Map<string, Record<string, unknown>>();
  for (const file of walkFiles(dir)) {
    const display = path.relative(base, file).split(path.sep).join('/');
    if (file.endsWith('.sql')) {
      const model = toModel(file, display);
      const twin = models.get(model.name);
      if (twin) throw new ConfigError(`two models are named ${model.name}: ${twin.file} and ${display}`, { hint: 'model names are unique across the folder' });
      models.set(model.name, model);
    } else if (/\.ya?ml$/.test(file)) {
      const schema = readSchemaFile(file, display);
      tests.push(...schema.tests);
      for (const [name, m] of schema.meta) meta.set(name, m);
    }
  }
  return { dir, models, tests, meta };
}

function readSchemaFile(file: string, display: string): { tests: ColumnTest[]; meta: Map<string, Record<string, unknown>> } {
  const counter = new LineCounter();
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { lineCounter: counter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(`${display}:${e.linePos?.[0].line ?? 1}: not valid YAML: ${e.message.split('\n')[0]}`, { hint: 'fix the YAML syntax' });
  }
  const lineOf = (node: unknown) => {
    const range = (node as Node | undefined)?.range;
    return range ? counter.linePos(range[0]).line : 1;
  };
  const out: ColumnTest[] = [];
  const columnTests = (columns: unknown, owner: Pick<ColumnTest, 'model' | 'source'>) => {
    if (!isSeq(columns)) return;
    for (const col of columns.items) {
      if (!isMap(col)) continue;
      const column = String(col.get('name') ?? '');
      const list = col.get('data_tests') ?? col.get('tests');
      if (!isSeq(list)) continue;
      for (const item of list.items) {
        const at = `${display}:${lineOf(item)}`;
        const spec = (item as Node).toJSON() as unknown;
        const [kind, args] = typeof spec === 'string' ? [spec, {}] : (Object.entries(spec as Record<string, unknown>)[0] ?? ['', {}]);
        if (!KINDS.has(kind as TestKind)) {
          throw new ConfigError(`${at}: unknown test "${kind}" on ${column}`, { hint: 'supported tests: unique, not_null, accepted_values, relationships' });
        }
        const a = { ...((args ?? {}) as Record<string, unknown>), ...(((args as Record<string, unknown>)?.arguments ?? {}) as Record<string, unknown>) };
        const severity =
          String((a.config as Record<string, unknown> | undefined)?.severity ?? a.severity ?? 'error').toLowerCase() === 'warn' ? 'warn' : 'error';
        const test: ColumnTest = { kind: kind as TestKind, ...owner, column, severity, at };
        if (kind === 'accepted_values') {
          if (!Array.isArray(a.values)) throw new ConfigError(`${at}: accepted_values needs values: [...]`);
          test.values = a.values as ColumnTest['values'];
        }
        if (kind === 'relationships') {
          if (typeof a.to !== 'string' || typeof a.field !== 'string') {
            throw new ConfigError(`${at}: relationships needs to: ref('model') and field: column`);
          }
          test.to = a.to;
          test.field = a.field;
        }
        out.push(test);
      }
    }
  };
  const meta = new Map<string, Record<string, unknown>>();
  const models = doc.get('models');
  if (isSeq(models)) {
    for (const m of models.items) {
      if (!isMap(m)) continue;
      columnTests(m.get('columns'), { model: String(m.get('name')) });
      const props = m.get('meta');
      if (isMap(props)) meta.set(String(m.get('name')), props.toJSON() as Record<string, unknown>);
    }
  }
  const sources = doc.get('sources');
  if (isSeq(sources)) {
    for (const s of sources.items) {
      if (!isMap(s)) continue;
      const tables = s.get('tables');
      if (!isSeq(tables)) continue;
      for (const t of tables.items) {
        if (isMap(t)) columnTests(t.get('columns'), { source: { source: String(s.get('name')), table: String(t.get('name')) } });
      }
    }
  }
  return { tests: out, meta };
}
