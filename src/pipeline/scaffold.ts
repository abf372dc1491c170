import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { parsePath } from '../core/schema.js';
import { type ScaffoldColumn, type ScaffoldField, scaffoldModel } from '../transform/scaffold.js';
import type { Project } from './project.js';

export interface ScaffoldOptions {
  source: string;
  stream: string;
  /** Where the files go; default `<models>/staging`. */
  out?: string;
  force?: boolean;
}

export interface ScaffoldResult {
  model: string;
  files: string[];
  columns: ScaffoldColumn[];
}

/**
 * `sluice models scaffold SOURCE STREAM` (DESIGN §9): the stream's top-level fields as the schema
 * knows them, and whether their strings are times in every row of the raw table, become a
 * staging model and its key tests. An existing file is left alone unless `force`.
 */
export async function scaffoldStream(project: Project, o: ScaffoldOptions): Promise<ScaffoldResult> {
  const [resolved] = project.select([o.source]);
  const source = await resolved!.create(project.log);
  let spec: ReturnType<typeof source.streams>[number] | undefined;
  try {
    spec = source.streams().find((s) => s.name === o.stream);
    if (!spec) {
      throw new ConfigError(`source ${o.source} has no stream ${o.stream}`, {
        hint: `its streams: ${source
          .streams()
          .map((s) => s.name)
          .join(', ')}`,
      });
    }
  } finally {
    await source.close();
  }
  const warehouse = await project.warehouse();
  if (!warehouse.schema || !warehouse.timeFields) {
    throw new ConfigError(`the ${warehouse.type} warehouse does not track schemas, so there is nothing to scaffold from`, {
      hint: 'schema tracking (DESIGN §9) needs DuckDB or PostgreSQL',
    });
  }
  const schema = await warehouse.schema(o.source, o.stream);
  const top = schema.fields.filter((f) => parsePath(f.path).length === 1);
  if (top.length === 0) {
    throw new ConfigError(`no schema for ${o.source}.${o.stream} yet: nothing of it has been loaded with schema tracking`, {
      hint: `run \`sluice run ${o.source}\` (or \`sluice load ${o.source}\`) first`,
    });
  }
  const name = (p: string) => parsePath(p)[0]!;
  const strings = top.filter((f) => f.types.some((t) => t === 'string') && f.types.every((t) => t === 'string' || t === 'null')).map((f) => name(f.path));
  const times = await warehouse.timeFields({ source: o.source, stream: o.stream, mode: spec.mode, primaryKey: spec.primaryKey }, strings);
  const fields: ScaffoldField[] = top.map((f) => ({
    name: name(f.path),
    types: f.types,
    share: schema.rows > 0 ? Math.min(1, f.rows / schema.rows) : 0,
    ...(times.has(name(f.path)) ? { time: times.get(name(f.path)) } : {}),
  }));
  const made = scaffoldModel({
    source: o.source,
    stream: o.stream,
    keys: spec.primaryKey,
    fields,
    command: `sluice models scaffold ${o.source} ${o.stream}`,
  });
  const dir = o.out ? path.resolve(o.out) : path.join(project.config.modelsDir, 'staging');
  const files: Array<[string, string]> = [
    [path.join(dir, `${made.model}.sql`), made.sql],
    [path.join(dir, `${made.model}.yml`), made.yml],
  ];
  const existing = files.filter(([f]) => fs.existsSync(f)).map(([f]) => shown(f));
  if (existing.length > 0 && !o.force) {
    throw new ConfigError(`not overwriting ${existing.join(', ')}`, {
      hint: 'pass --force to write it again from the schema, or --out DIR to write elsewhere',
    });
  }
  await fs.promises.mkdir(dir, { recursive: true });
  for (const [file, text] of files) {
    await fs.promises.writeFile(`${file}.tmp`, text);
    await fs.promises.rename(`${file}.tmp`, file);
  }
  return { model: made.model, files: files.map(([f]) => shown(f)), columns: made.columns };
}

const shown = (file: string) => path.relative(process.cwd(), file) || file;
