import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/cli/logger.js';
import { SluiceError } from '../src/core/errors.js';
import { redact, redactText, Secret } from '../src/core/redact.js';
import { basicAuthorization } from '../src/http/basic-auth.js';
import { withParams } from '../src/sources/rest/url.js';
import { formsOf, leaks } from './support/secret-forms.js';

// Every character that an encoding changes: plus, slash, equals, ampersand, a percent-encoded
// slash already in the value, a double quote, a backslash, a space.
const AWKWARD = 'k+y/Ab=c&d%2F"q\\ z-7f3a9c';
const secret = new Secret(AWKWARD);
const forms = formsOf(AWKWARD);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase());

describe('redactText finds a secret in every spelling', () => {
  const cases: Array<[string, string]> = [
    ['raw', `token ${AWKWARD} rejected on page 2`],
    ['encodeURIComponent', `GET /items?api_key=${encodeURIComponent(AWKWARD)}&page=2`],
    ['encodeURIComponent, lower-case hex', `GET /items?api_key=${lowerHex(encodeURIComponent(AWKWARD))}&page=2`],
    ['URLSearchParams (+ for a space)', withParams('http://127.0.0.1:9/items?page=2', { api_key: AWKWARD })],
    ['form body', new URLSearchParams({ user: 'me', password: AWKWARD, page: '2' }).toString()],
    ['WHATWG URL', new URL(`http://127.0.0.1:9/items?api_key=${AWKWARD}&page=2`).href],
    ['encodeURI', encodeURI(`http://127.0.0.1:9/items?api_key=${AWKWARD}&page=2`)],
    ['encoded twice', `next=${encodeURIComponent(`http://h/items?api_key=${encodeURIComponent(AWKWARD)}`)}&page=2`],
    ['JSON-escaped', JSON.stringify({ password: AWKWARD, page: 2 })],
    ['JSON-escaped twice', JSON.stringify({ body: JSON.stringify({ password: AWKWARD }), page: 2 })],
    ['JSON \\u escapes', JSON.stringify({ password: AWKWARD, page: 2 }).replace(/\\"/g, '\\u0022')],
    ['HTML', `<td>${AWKWARD.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}</td> page 2`],
    ['base64', `x-key: ${b64(AWKWARD)} page 2`],
    ['base64url', `x-key: ${b64url(AWKWARD)} page 2`],
    ['base64 after 1 byte', `x-key: ${b64(`u:${AWKWARD}`)} page 2`],
    ['base64 after 2 bytes', `x-key: ${b64(`us:${AWKWARD}`)} page 2`],
    ['base64 after 3 bytes, with a tail', `x-key: ${b64(`usr:${AWKWARD}@host`)} page 2`],
    ['base64 in a URL', `GET /x?sig=${encodeURIComponent(b64(`svc-user:${AWKWARD}`))}&page=2`],
  ];
  it.each(cases)('%s', (_name, text) => {
    const out = redactText(text);
    expect(out).toContain('[redacted]');
    expect(out).toMatch(/page\W{1,3}2/); // the rest of the text stays
    expect(leaks(out, forms)).toEqual([]);
    expect(out).not.toContain(b64url(AWKWARD).slice(0, 20));
    for (const user of ['u', 'us', 'usr', 'svc-user']) expect(leaks(out, formsOf(AWKWARD, user))).toEqual([]);
  });

  it('a Basic header is redacted whole, user included', () => {
    const header = basicAuthorization('svc-7c1e', AWKWARD);
    const out = redactText(`authorization: ${header}`);
    expect(out).toBe('authorization: Basic [redacted]');
    expect(leaks(out, formsOf(AWKWARD, 'svc-7c1e'))).toEqual([]);
  });

  it('a value shorter than four characters is not a secret to redact', () => {
    new Secret('Xq9');
    expect(redactText('Xq9 and Xq9Xq9')).toBe('Xq9 and Xq9Xq9');
    new Secret('Zw8!');
    expect(redactText('Zw8! and Zw8%21')).toBe('[redacted] and [redacted]');
  });

  it('the Secret itself prints as [redacted]', () => {
    expect(`${secret}`).toBe('[redacted]');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
  });
});

describe('redact walks a value before it is serialised', () => {
  it('redacts strings and keys at any depth, and keeps numbers, booleans and shape', () => {
    new Secret('40964096');
    const doc = {
      [AWKWARD]: 1,
      run: { url: `http://h/x?k=${encodeURIComponent(AWKWARD)}`, bytes: 40964096, ok: true, none: null },
      errors: [{ message: `login "${AWKWARD}" refused`, at: new Date(0) }, 'plain'],
    };
    const text = JSON.stringify(redact(doc));
    expect(leaks(text, forms)).toEqual([]);
    expect(JSON.parse(text)).toEqual({
      '[redacted]': 1,
      run: { url: 'http://h/x?k=[redacted]', bytes: 40964096, ok: true, none: null },
      errors: [{ message: 'login "[redacted]" refused', at: '1970-01-01T00:00:00.000Z' }, 'plain'],
    });
    expect(leaks(JSON.stringify(doc), forms)).not.toEqual([]); // the input is left as it was
  });

  it('returns what holds no secret as it is, without copying', () => {
    const clean = { a: [1, 'two', { three: 3 }], b: 'text' };
    expect(redact(clean)).toBe(clean);
    const mixed = { keep: clean, drop: `x ${AWKWARD}` };
    expect(redact(mixed).keep).toBe(clean);
  });

  it('redacts errors as JSON would show them, and survives cycles', () => {
    const e = new SluiceError('auth', `401 from /x?k=${encodeURIComponent(AWKWARD)}`, { hint: `check ${AWKWARD}`, context: { url: AWKWARD } });
    const plain = new Error(`boom ${AWKWARD}`);
    const cyclic: Record<string, unknown> = { name: AWKWARD };
    cyclic.self = cyclic;
    const text = JSON.stringify(redact({ e, plain, cyclic }));
    expect(leaks(text, forms)).toEqual([]);
    const back = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(back.e).toMatchObject({ code: 'auth', message: '401 from /x?k=[redacted]', hint: 'check [redacted]', url: '[redacted]' });
    expect(back.plain?.message).toBe('boom [redacted]');
    expect(back.cyclic).toEqual({ name: '[redacted]', self: '[Circular]' });
  });

  it('keeps a key named __proto__ a key', () => {
    const doc = JSON.parse(`{"__proto__": {"x": "${AWKWARD.replace(/["\\]/g, '\\$&')}"}}`) as object;
    const out = redact(doc);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"x":"[redacted]"}}');
  });
});

describe('the logger redacts values, not the serialised line', () => {
  function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
    return { lines, log };
  }

  it('a secret with " and \\ in a key, a value, a binding or the event never shows', () => {
    const { lines, log } = capture();
    log
      .child({ source: 'q', login: AWKWARD })
      .warn({ [AWKWARD]: 'k', url: `/x?api_key=${encodeURIComponent(AWKWARD)}`, nested: [{ why: `"${AWKWARD}"` }] }, 'http.retry');
    log.info({ attempt: 2 }, `event ${AWKWARD}`);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(leaks(line, forms)).toEqual([]);
    }
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      login: '[redacted]',
      '[redacted]': 'k',
      url: '/x?api_key=[redacted]',
      nested: [{ why: '"[redacted]"' }],
    });
  });

  it('a short secret that matches a number or JSON syntax leaves every line valid JSON', () => {
    new Secret('4096');
    new Secret('":"x');
    const { lines, log } = capture();
    log.info({ bytes: 4096, rows: 14096, name: 'a":"x' }, 'load.done');
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(parsed).toMatchObject({ bytes: 4096, rows: 14096, name: 'a[redacted]', event: 'load.done' });
  });
});
