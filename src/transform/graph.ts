import { ConfigError } from '../core/errors.js';
import type { TransformProject } from './models.js';
import { parseTemplate } from './template.js';

/** Models and the models each one reads (`ref`), checked: every ref known, no cycles. */
export interface ModelGraph {
  /** Every model in a dependency order (parents first, then by name). */
  order: string[];
  parents: Map<string, Set<string>>;
  children: Map<string, Set<string>>;
}

const closest = (name: string, names: Iterable<string>): string | undefined => {
  const stem = name.replace(/^(stg|int|fct|dim)_+/, '');
  return [...names].find((n) => n.includes(stem) || stem.includes(n.replace(/^(stg|int|fct|dim)_+/, '')));
};

/** The model a relationships test's `to:` names (`ref('m')`), or its source. */
export function parseRelationTarget(to: string, at: string): { model?: string; source?: { source: string; table: string } } {
  const parsed = parseTemplate(at, `{{ ${to} }}`);
  const ref = parsed.refs[0];
  if (ref) return { model: ref.name };
  const source = parsed.sources[0];
  if (source) return { source: { source: source.source, table: source.table } };
  throw new ConfigError(`${at}: relationships to: must be ref('model') or source('source', 'table'), not ${to}`);
}

export function buildGraph(project: TransformProject): ModelGraph {
  const parents = new Map<string, Set<string>>();
  const children = new Map<string, Set<string>>();
  for (const name of project.models.keys()) children.set(name, new Set());
  for (const model of project.models.values()) {
    const mine = new Set<string>();
    for (const ref of model.parsed.refs) {
      if (!project.models.has(ref.name)) {
        const near = closest(ref.name, project.models.keys());
        throw new ConfigError(`${model.file}:${ref.line}: ref('${ref.name}') names no model in ${project.dir}`, {
          hint: near ? `did you mean ref('${near}')?` : 'add the model, or fix the name in ref()',
        });
      }
      mine.add(ref.name);
      children.get(ref.name)?.add(model.name);
    }
    parents.set(model.name, mine);
  }
  for (const test of project.tests) {
    const named = [test.model, test.to ? parseRelationTarget(test.to, test.at).model : undefined];
    for (const name of named) {
      if (name !== undefined && !project.models.has(name)) {
        throw new ConfigError(`${test.at}: the ${test.kind} test names model ${name}, which does not exist`, { hint: 'fix the model name in the schema file' });
      }
    }
  }
  return { order: topoOrder(project, parents), parents, children };
}

function topoOrder(project: TransformProject, parents: Map<string, Set<string>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      const closer = project.models.get(path.at(-1) ?? name)!;
      const line = closer.parsed.refs.find((r) => r.name === name)?.line ?? 1;
      throw new ConfigError(`${closer.file}:${line}: models depend on each other in a cycle: ${cycle.join(' → ')}`, {
        hint: 'a model cannot read itself through ref(): move the shared logic into a model that both read',
      });
    }
    state.set(name, 'visiting');
    for (const p of [...(parents.get(name) ?? [])].sort()) visit(p, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...project.models.keys()].sort()) visit(name, []);
  return order;
}

/** Every model reachable from `start` along `edges` (not including `start`). */
export function reach(start: string, edges: Map<string, Set<string>>): Set<string> {
  const out = new Set<string>();
  const stack = [...(edges.get(start) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (out.has(next)) continue;
    out.add(next);
    stack.push(...(edges.get(next) ?? []));
  }
  return out;
}

/**
 * dbt's selection: `m` the model, `m+` with everything downstream, `+m` with everything upstream,
 * `+m+` both. Several selectors (space or comma separated) add up. No selector selects all.
 */
export function selectModels(graph: ModelGraph, selectors: readonly string[]): Set<string> {
  const words = selectors.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  if (words.length === 0) return new Set(graph.order);
  const chosen = new Set<string>();
  for (const word of words) {
    const m = /^(\+?)([^+]+)(\+?)$/.exec(word);
    const name = m?.[2] ?? word;
    if (!m || !graph.parents.has(name)) {
      throw new ConfigError(`--select ${word}: no model named ${name}`, { hint: `models: ${graph.order.join(', ') || '(none)'}` });
    }
    chosen.add(name);
    if (m[1]) for (const p of reach(name, graph.parents)) chosen.add(p);
    if (m[3]) for (const c of reach(name, graph.children)) chosen.add(c);
  }
  return chosen;
}
