import { createHash } from 'node:crypto';
import { SluiceError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import { nextLink } from '../../http/link.js';
import type { Requester } from './auth.js';
import type { PaginateConfig } from './config.js';
import { compactJson, rawAt, rawElements, splitPath, valueAt } from './raw-json.js';
import { withParams } from './url.js';

/** One record: its exact JSON text on one line, and its parsed value for the fields we read. */
export interface RawRecord {
  line: string;
  value: unknown;
}

export interface Page {
  records: RawRecord[];
  url: string;
  /** The endpoint answered 404 (only when `notFoundIsEmpty`): no records. */
  notFound: boolean;
}

export interface PaginateOptions {
  stream: string;
  /** Where the stream sits in the config, for messages: `sources[0].streams[2]`. */
  at: string;
  /** The first page's URL: base_url + path + params, without paging parameters. */
  url: string;
  paginate: PaginateConfig;
  recordsPath: string | undefined;
  requester: Requester;
  notFoundIsEmpty?: boolean;
  signal: AbortSignal;
}

/**
 * Yields the pages of one endpoint until a short page, the total, or a missing next cursor/link.
 * A loop that makes no progress (a page whose records came before, a cursor or next URL seen
 * before) is stopped with an error rather than followed forever.
 */
export async function* pages(o: PaginateOptions): AsyncGenerator<Page> {
  const p = o.paginate;
  const seenPages = new Set<string>();
  const seenNext = new Set<string>([o.url]);
  let offset = 0;
  let pageNo = p.type === 'page' ? p.start : 0;
  let next: string | undefined; // cursor token or next URL
  for (let n = 1; ; n++) {
    const url = pageUrl(o, offset, pageNo, next);
    const res = await o.requester.send({ url, accept: o.notFoundIsEmpty ? [404] : [], signal: o.signal });
    if (res.status === 404) {
      yield { records: [], url, notFound: true };
      return;
    }
    const { records, parsed, fingerprint } = parsePage(res.body.toString('utf8'), o, url);
    if (records.length > 0) {
      if (seenPages.has(fingerprint)) throw noProgress(o, url, n, 'it returned the same records as an earlier page');
      seenPages.add(fingerprint);
    }
    yield { records, url, notFound: false };

    const count = records.length;
    if (p.type === 'none' || count === 0) return;
    if (p.type === 'offset') {
      const total = p.total_path === undefined ? undefined : Number(valueAt(parsed, splitPath(p.total_path)));
      if (total !== undefined && Number.isFinite(total)) {
        if (offset + count >= total) return;
      } else if (count < p.page_size) return;
      offset += count;
    } else if (p.type === 'page') {
      if (count < p.page_size) return;
      pageNo++;
    } else if (p.type === 'cursor') {
      const token = valueAt(parsed, splitPath(p.cursor_path));
      if (token === undefined || token === null || token === '' || token === false) return;
      next = String(token);
      if (seenNext.has(`cursor:${next}`)) throw noProgress(o, url, n, `the next cursor "${next.slice(0, 80)}" was returned before`);
      seenNext.add(`cursor:${next}`);
    } else {
      const link = nextLink(res.headers.link);
      if (!link) return;
      next = new URL(link, url).toString();
      if (seenNext.has(next)) throw noProgress(o, url, n, `its Link header points again to ${redactText(next)}`);
      seenNext.add(next);
    }
  }
}

function pageUrl(o: PaginateOptions, offset: number, pageNo: number, next: string | undefined): string {
  const p = o.paginate;
  switch (p.type) {
    case 'offset':
      return withParams(o.url, { [p.limit_param]: String(p.page_size), [p.offset_param]: String(offset) });
    case 'page':
      return withParams(o.url, { [p.page_param]: String(pageNo), ...(p.size_param ? { [p.size_param]: String(p.page_size) } : {}) });
    case 'cursor':
      return next === undefined ? o.url : withParams(o.url, { [p.cursor_param]: next });
    case 'link_header':
      return next ?? o.url;
    default:
      return o.url;
  }
}

function parsePage(text: string, o: PaginateOptions, url: string): { records: RawRecord[]; parsed: unknown; fingerprint: string } {
  const shown = redactText(url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new SluiceError('data', `${o.stream}: ${shown} did not answer JSON`, {
      hint: 'check base_url and the stream path',
      retryable: true,
      cause: error,
      context: { stream: o.stream, url: shown },
    });
  }
  const path = splitPath(o.recordsPath);
  const list = valueAt(parsed, path);
  if (list === null) return { records: [], parsed, fingerprint: '' }; // some APIs say "nothing" with null
  if (!Array.isArray(list)) {
    const where = path.length ? `records_path "${o.recordsPath}"` : 'the response';
    const keys = isObject(parsed) ? ` (its fields: ${Object.keys(parsed).slice(0, 10).join(', ')})` : '';
    throw new SluiceError('data', `${o.stream}: ${where} of ${shown} is ${describe(list)}, not an array of records${keys}`, {
      hint: `set ${o.at}.records_path to the field that holds the array (e.g. data or items)`,
      context: { stream: o.stream, url: shown },
    });
  }
  const arrayText = path.length ? (rawAt(text, path) ?? '[]') : text;
  const raws = rawElements(arrayText);
  if (raws.length !== list.length) {
    throw new SluiceError('internal', `${o.stream}: could not split the records of ${shown} (${raws.length} texts for ${list.length} records)`, {
      context: { stream: o.stream, url: shown },
    });
  }
  const records = list.map((value, i) => ({ line: compactJson(raws[i] as string), value }));
  const fingerprint = createHash('sha1').update(arrayText).digest('hex');
  return { records, parsed, fingerprint };
}

function noProgress(o: PaginateOptions, url: string, n: number, why: string): SluiceError {
  return new SluiceError('data', `${o.stream}: pagination made no progress at page ${n} (${redactText(url)}): ${why}; stopped`, {
    hint: `check ${o.at}.paginate (type and parameter names): the API seems to ignore them`,
    context: { stream: o.stream, url: redactText(url), page: n },
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : `a${typeof v === 'object' ? 'n' : ''} ${typeof v}`;
}
