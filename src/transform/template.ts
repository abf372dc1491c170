import nunjucks from 'nunjucks';
import { ConfigError } from '../core/errors.js';
import type { ModelMacros } from '../core/sql-target.js';
import { portableMacros } from './portable-macros.js';

/**
 * Models are Jinja templates rendered by nunjucks (a Jinja engine for JavaScript). The supported
 * subset of dbt: `ref('m')`, `source('s', 't')`, `config(materialized=…, unique_key=…, schema=…)`,
 * `is_incremental()`, `this`, `target.type`, `safe_cast(expr, type)`, the portable macros of
 * portable-macros.ts (`json_text`, `date_trunc`, `dateadd`, `concat`, `as_boolean`, `is_true`; dbt's
 * own names also as `dbt.…`), and the Jinja statements (`if`, `for`, `set`, filters…). `ref`, `source` and `config` take literals so
 * the graph is known before anything runs.
 */
const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
/** The parser is public in nunjucks but missing from its type declarations. */
const parser = (nunjucks as unknown as { parser: { parse(src: string, extensions: unknown[], opts: object): unknown } }).parser;

export interface Call {
  args: unknown[];
  /** 1-based. */
  line: number;
}

export interface ParsedTemplate {
  template: nunjucks.Template;
  refs: Array<{ name: string; line: number }>;
  sources: Array<{ source: string; table: string; line: number }>;
  config: Record<string, unknown>;
}

/** What a render can call: the engine decides what a ref or source names. */
export interface RenderScope {
  ref(name: string): string;
  source(source: string, table: string): string;
  isIncremental: boolean;
  self: string;
  dialect: string;
  safeCast(expr: string, type: string): string;
  macros: ModelMacros;
}

interface AstNode {
  typename?: string;
  fields?: string[];
  lineno?: number;
  value?: unknown;
  children?: AstNode[];
  key?: AstNode;
  name?: AstNode;
  args?: AstNode;
  [field: string]: unknown;
}

/** The literal value of a node, or `undefined` when it is an expression. */
function literal(node: AstNode | undefined): unknown {
  if (!node) return undefined;
  if (node.typename === 'Literal') return node.value;
  if (node.typename === 'Array') {
    const values = (node.children ?? []).map(literal);
    return values.some((v) => v === undefined) ? undefined : values;
  }
  return undefined;
}

function calls(root: AstNode, file: string): Map<string, Call[]> {
  const out = new Map<string, Call[]>();
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as AstNode;
    if (n.typename === 'FunCall' && n.name?.typename === 'Symbol' && typeof n.name.value === 'string') {
      const line = (n.lineno ?? 0) + 1;
      const args: unknown[] = [];
      for (const a of n.args?.children ?? []) {
        if (a.typename === 'KeywordArgs') {
          const kw: Record<string, unknown> = {};
          for (const pair of a.children ?? []) kw[String(pair.key?.value)] = literal(pair.value as AstNode);
          args.push(kw);
        } else {
          args.push(literal(a));
        }
      }
      const list = out.get(n.name.value) ?? [];
      list.push({ args, line });
      out.set(n.name.value, list);
    }
    for (const field of n.fields ?? []) walk(n[field]);
  };
  walk(root);
  for (const name of ['ref', 'source']) {
    for (const c of out.get(name) ?? []) {
      if (c.args.length === 0 || c.args.some((a) => typeof a !== 'string')) {
        throw new ConfigError(`${file}:${c.line}: ${name}() takes quoted names, e.g. ${name === 'ref' ? "ref('stg_orders')" : "source('github', 'events')"}`, {
          hint: 'write the names as string literals: the dependency graph is read before the models run',
        });
      }
    }
  }
  return out;
}

/** Compiles a model (syntax errors are config errors with the line) and reads its refs, sources and config. */
export function parseTemplate(file: string, text: string): ParsedTemplate {
  let template: nunjucks.Template;
  let ast: AstNode;
  try {
    ast = parser.parse(text, [], {}) as AstNode;
    template = new nunjucks.Template(text, env, file, true);
  } catch (error) {
    throw templateError(file, error);
  }
  const found = calls(ast, file);
  const refs = (found.get('ref') ?? []).map((c) => ({ name: String(c.args.at(-1)), line: c.line }));
  const sources = (found.get('source') ?? []).map((c) => {
    if (c.args.length !== 2) throw new ConfigError(`${file}:${c.line}: source() takes two names: source('github', 'events')`);
    return { source: String(c.args[0]), table: String(c.args[1]), line: c.line };
  });
  const config: Record<string, unknown> = {};
  for (const c of found.get('config') ?? []) {
    for (const arg of c.args) if (arg && typeof arg === 'object' && !Array.isArray(arg)) Object.assign(config, arg);
  }
  return { template, refs, sources, config };
}

export function render(file: string, parsed: ParsedTemplate, scope: RenderScope): string {
  const safeCast = (expr: string, type: string) => scope.safeCast(expr, type);
  const portable = portableMacros(scope.macros);
  try {
    return parsed.template.render({
      ...portable,
      ref: (...names: string[]) => scope.ref(String(names.at(-1))),
      source: (s: string, t: string) => scope.source(s, t),
      config: () => '',
      is_incremental: () => scope.isIncremental,
      this: scope.self,
      target: { type: scope.dialect, name: scope.dialect },
      safe_cast: safeCast,
      dbt: { safe_cast: safeCast, date_trunc: portable.date_trunc, dateadd: portable.dateadd, concat: portable.concat },
    });
  } catch (error) {
    throw templateError(file, error);
  }
}

function templateError(file: string, error: unknown): ConfigError {
  // nunjucks says "(file) [Line 3, Column 7]\n  Error: …": keep the line, drop the noise.
  const message = (error as Error).message ?? String(error);
  const at = /\[Line (\d+), Column \d+\]/.exec(message);
  const detail = message.split('\n').slice(1).join(' ').trim() || message;
  return new ConfigError(`${file}${at ? `:${at[1]}` : ''}: ${detail.replace(/^Error:\s*/, '')}`, {
    hint: 'fix the template syntax of the model',
    cause: error,
  });
}
