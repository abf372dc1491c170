import { describe, expect, it } from 'vitest';
import { StructureScanner } from '../src/warehouse/postgres/structure-scan.js';
import type { Observed } from '../src/warehouse/schema-learn.js';

/** Observed as plain data: path → type → rows and first line. */
const plain = (o: Observed | undefined) =>
  o && Object.fromEntries([...o].map(([path, byType]) => [path, Object.fromEntries([...byType].map(([t, s]) => [t, [s.rows, s.first % 2 ** 32]]))]));

function scan(lines: string[], maxDepth = 3): StructureScanner {
  const s = new StructureScanner(maxDepth);
  lines.forEach((line, i) => {
    s.line(0, i + 1, Buffer.from(line));
  });
  return s;
}

describe('the structure scan of the COPY (DESIGN §9 on PostgreSQL)', () => {
  it('reads each path’s types with the rows and first line that carried them', () => {
    const s = scan(['{"id": 1, "name": "a", "ok": true, "tags": [1, {"x": 2}], "meta": {"plan": "pro", "n": null}}', '{"id": 2.5, "ok": false}']);
    expect(plain(s.observed())).toEqual({
      id: { integer: [1, 1], number: [1, 2] },
      name: { string: [1, 1] },
      ok: { boolean: [2, 1] },
      tags: { array: [1, 1] },
      meta: { object: [1, 1] },
      'meta.plan': { string: [1, 1] },
      'meta.n': { null: [1, 1] },
    });
  });

  it('tells integers from other numbers as PostgreSQL’s numeric keeps them', () => {
    const types = (v: string) => [
      ...(scan([`{"v": ${v}}`])
        .observed()
        ?.get('v')
        ?.keys() ?? []),
    ];
    for (const v of ['0', '-0', '12345678901234567890', '1e2', '1.5e1', '1E+2', '-3']) expect(types(v), v).toEqual(['integer']);
    for (const v of ['2.0', '1.50', '1e-2', '100e-2', '-0.5', '1.25E1']) expect(types(v), v).toEqual(['number']);
  });

  it('follows objects to the depth, and no further: a deeper object is its ancestor’s value', () => {
    const s = scan(['{"a": {"b": {"c": {"d": 1}}}}'], 2);
    expect(plain(s.observed())).toEqual({ a: { object: [1, 1] }, 'a.b': { object: [1, 1] } });
  });

  it('skips strings whole, escapes and brackets included, and reads any whitespace', () => {
    const s = scan([' { "s" : "a \\" } { [ \\\\" , "t":\t[ "]" , { "}" : 1 } ] ,"u" : { } } ']);
    expect(plain(s.observed())).toEqual({ s: { string: [1, 1] }, t: { array: [1, 1] }, u: { object: [1, 1] } });
  });

  it('names a key by its value: escapes decoded, two spellings one path, dots quoted', () => {
    const s = scan(['{"a\\u0062": 1, "x.y": {"é": true}, "": 0}', '{"ab": 2}']);
    expect(plain(s.observed())).toEqual({ ab: { integer: [2, 1] }, '"x.y"': { object: [1, 1] }, '"x.y"."é"': { boolean: [1, 1] }, '""': { integer: [1, 1] } });
  });

  it('keeps every key apart, whatever their hashes', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    const s = scan([`{${keys.map((k) => `"${k}": 1`).join(', ')}}`, `{${keys.map((k) => `"${k}": "s"`).join(', ')}}`]);
    const o = s.observed();
    expect(o?.size).toBe(3000);
    for (const k of keys) expect(plain(new Map([[k, o!.get(k)!]]))).toEqual({ [k]: { integer: [1, 1], string: [1, 2] } });
  });

  it('declines what jsonb would read otherwise, or not at all: the SQL check reads the group instead', () => {
    const declined = (lines: string[]) => {
      const s = scan(lines);
      return [s.declined, s.observed()];
    };
    for (const lines of [
      ['{"a": 1, "a": "x"}'], // jsonb keeps the last of a key written twice
      ['{"a": 1, "a\\u0000": 2, "\\u0061": 3}'],
      ['[1, 2]'],
      ['"text"'],
      ['{"a": 1'],
      ['{"a": "open'],
      ['{"a": [1, 2'],
      ['{"a" 1}'],
      ['{"a": 1 "b": 2}'],
      ['{a: 1}'],
      ['{"a": }'],
    ]) {
      const [why, observed] = declined(lines);
      expect(why, lines[0]).toEqual(expect.any(String));
      expect(observed, lines[0]).toBeUndefined();
    }
  });

  it('gives an object used as a map (ever new keys) to the SQL check, with bounded memory', () => {
    const s = new StructureScanner(3);
    for (let i = 1; i <= 6000; i++) s.line(0, i, Buffer.from(`{"by_id": {"${i}": 1}}`));
    expect(s.declined).toMatch(/more than \d+ paths/);
    expect(s.observed()).toBeUndefined();
  });

  it('keeps batches apart: first line and first and last batch of each type', () => {
    const s = new StructureScanner(3);
    s.line(0, 4, Buffer.from('{"a": 1}'));
    s.line(1, 2, Buffer.from('{"a": 1, "b": "x"}'));
    s.line(2, 7, Buffer.from('{"a": 1}'));
    const o = s.observed()!;
    expect(o.get('a')?.get('integer')).toEqual({ rows: 3, first: 4, minF: 0, maxF: 2 });
    expect(o.get('b')?.get('string')).toEqual({ rows: 1, first: 2 ** 32 + 2, minF: 1, maxF: 1 });
  });
});
