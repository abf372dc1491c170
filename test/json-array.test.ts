import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asLine, scanJsonArray, splitJsonArray } from '../src/sources/json-array.js';
import { githubFixture } from './support/github.js';

describe('splitJsonArray', () => {
  it('returns the exact text of each element', () => {
    expect(splitJsonArray('[{"a":1},{"b":[2,3]},"x",4,-2.5e3,true,false,null]')).toEqual([
      '{"a":1}',
      '{"b":[2,3]}',
      '"x"',
      '4',
      '-2.5e3',
      'true',
      'false',
      'null',
    ]);
  });

  it('is not fooled by brackets, braces, commas and escaped quotes inside strings', () => {
    const elements = ['{"s":"a],b}[{,"}', '"\\"],["', '{"t":"back\\\\slash\\\\","u":"q\\"uote"}', '"\\\\"', '{"n":"\\u005d"}'];
    const text = `[${elements.join(',')}]`;
    expect(splitJsonArray(text)).toEqual(elements);
    expect(JSON.parse(text)).toHaveLength(elements.length);
  });

  it('keeps nested arrays and objects whole', () => {
    expect(splitJsonArray('[[1,[2,[3]]],{"a":{"b":{"c":[{}]}}},[]]')).toEqual(['[1,[2,[3]]]', '{"a":{"b":{"c":[{}]}}}', '[]']);
  });

  it('keeps big integers and number formats byte for byte', () => {
    expect(splitJsonArray('[{"id":123456789012345678901234567890,"f":1.50}]')).toEqual(['{"id":123456789012345678901234567890,"f":1.50}']);
  });

  it('trims the whitespace between elements of pretty-printed input', () => {
    const text = '\n  [\n  {\n    "a": 1,\n    "b": [ 1, 2 ]\n  } ,\n\t"x"  \r\n]\n ';
    expect(splitJsonArray(text)).toEqual(['{\n    "a": 1,\n    "b": [ 1, 2 ]\n  }', '"x"']);
  });

  it('splits an empty array into no elements', () => {
    expect(splitJsonArray('[]')).toEqual([]);
    expect(splitJsonArray(' [ \n ] ')).toEqual([]);
  });

  it('returns undefined for text that is not one top-level array', () => {
    for (const text of ['{"a":1}', '"[1]"', '', '   ', '[1,2', '[1,2] [3]', '[1],', '[,1]', '[1}', 'null']) {
      expect(splitJsonArray(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});

describe('asLine', () => {
  it('keeps a one-line element as it is; line breaks between tokens become spaces', () => {
    expect(asLine('{"a": 1.50}')).toBe('{"a": 1.50}');
    expect(asLine('{\r\n  "a": 1\n}')).toBe('{    "a": 1 }');
    expect(JSON.parse(asLine('{\n  "a": [1,\n2]\n}'))).toEqual({ a: [1, 2] });
  });

  it('does the same on bytes, copying only when there is a line break to replace', () => {
    const one = Buffer.from('{"a": "東京"}');
    expect(asLine(one)).toBe(one);
    const page = Buffer.from('{\r\n  "a": "東京"\n}');
    expect(asLine(page).toString('utf8')).toBe('{    "a": "東京" }');
    expect(page.toString('utf8')).toBe('{\r\n  "a": "東京"\n}'); // the page itself is left as it came
  });
});

describe('scanJsonArray', () => {
  it('reads the wanted top-level fields of each object element, not nested ones', () => {
    const text = `[
      {"type":"x","payload":{"id":"nested","created_at":"1999-01-01T00:00:00Z"},"id":"1","created_at":"2025-01-01T10:00:00Z"},
      { "id" : 12345678901234567890 , "created_at" : null },
      {"i\\u0064":"esc\\"aped","created_at":"2025-01-01T11:00:00Z","created_at":"2025-01-01T12:00:00Z"},
      {"other":{"id":"deep"}},
      ["id","not an object"],
      "id",
      {"id":{"obj":1},"created_at":true}
    ]`;
    const elements = scanJsonArray(text, ['id', 'created_at']);
    expect(elements?.map((e) => e.fields)).toEqual([
      ['1', '2025-01-01T10:00:00Z'],
      ['12345678901234567890', undefined],
      ['esc"aped', '2025-01-01T12:00:00Z'],
      [],
      [],
      [],
      [undefined, 'true'],
    ]);
    expect(elements?.map((e) => e.raw.toString('utf8'))).toEqual(splitJsonArray(text));
  });

  it('reads the same ids and times as JSON.parse on a real recorded GitHub page', () => {
    const text = fs.readFileSync(githubFixture('repos-duckdb-duckdb-events-page1.json'), 'utf8');
    const parsed = JSON.parse(text) as Array<{ id: string; created_at: string }>;
    expect(scanJsonArray(text, ['id', 'created_at'])?.map((e) => e.fields)).toEqual(parsed.map((e) => [e.id, e.created_at]));
  });
});

describe('splitJsonArray on a real recorded GitHub events page', () => {
  it('yields 100 slices that each parse to the matching element', () => {
    const text = fs.readFileSync(githubFixture('repos-duckdb-duckdb-events-page1.json'), 'utf8');
    const parsed = JSON.parse(text) as unknown[];
    const slices = splitJsonArray(text);
    expect(slices).toBeDefined();
    expect(slices).toHaveLength(100);
    expect(parsed).toHaveLength(100);
    slices!.forEach((slice, i) => {
      expect(JSON.parse(slice)).toEqual(parsed[i]);
      expect(text.includes(slice)).toBe(true);
      expect(slice).toBe(slice.trim());
    });
    // The slices cover the array in order: each starts after the previous one ends.
    let from = 0;
    for (const slice of slices!) {
      const at = text.indexOf(slice, from);
      expect(at).toBeGreaterThanOrEqual(from);
      from = at + slice.length;
    }
  });
});
