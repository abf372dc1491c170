import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../reject-reasons.js';
import { quoteIdent as qi, quoteLiteral as ql, timestampText } from '../sql.js';

/**
 * An in-memory database beside the warehouse, attached to the instance so that every connection
 * of it sees what it holds: the group's stage lives there, read by the load's transaction and, at
 * the same time, by the schema check on a connection of its own (warehouse.ts). Like a temp table,
 * what outgrows the cap spills to the temp directory, and nothing of it outlives the process.
 */
export const SCRATCH = '_sluice_scratch';
/** The group's lines, one row each: `reason` NULL for a good row, whose JSON is `j`. */
export const STAGE = `${SCRATCH}.stage`;
export const NOTES = '_sluice_notes';
/**
 * The longest line DuckDB reads (4 MiB). Its read buffer is that size, and parsing a line takes
 * several times its size (about 16 bytes a value), all counted against the memory cap: a line this
 * long may need a larger cap for its group (see `sliceOf`). A longer line is rejected by the
 * cleaning pass (sanitize.ts).
 */
export const MAX_LINE = 4 * 1024 * 1024;
const JSON_SPACE = 'chr(32) || chr(9) || chr(13) || chr(10)';

export interface BatchSource {
  /** The file DuckDB reads: the batch itself, or a cleaned copy (see sanitize.ts). */
  file: string;
  compression: 'gzip' | 'none';
  /** Lines the cleaning already judged: `_sluice_notes (f, line_no, reason, line)` holds them. */
  notes: boolean;
}

/**
 * Valid JSON (the cast succeeded) that opens with a brace is an object: no second parse needed.
 * The plain test first: trimming copies the line, and almost every line starts with its brace.
 */
const isObject = (col: string) => `(starts_with(${col}, '{') OR starts_with(ltrim(${col}, ${JSON_SPACE}), '{'))`;
const notBlank = (col: string) => `(starts_with(${col}, '{') OR trim(${col}, ${JSON_SPACE}) <> '')`;

/**
 * DuckDB's JSON functions keep every document of a vector (2,048 rows) in memory until the vector
 * is done: about 16 bytes per value, so rows dense with values (arrays of numbers) can need more
 * than the cap. Filtering a vector's rows to one share of them before parsing bounds that, at the
 * price of reading the group's files once per share. This is the condition for share `slice` of
 * `slices` over a staged or scanned row's `line_no`.
 */
export const sliceOf = (slices: number, slice: number, lineNo = 'line_no'): string => (slices > 1 ? ` AND ${lineNo} % ${slices} = ${slice}` : '');

export interface GroupBatch {
  batch: BatchToLoad;
  source: BatchSource;
}

/** A file read by DuckDB's CSV reader one line per row: a delimiter and quote JSON text never holds unescaped. */
export function lineReader(source: Pick<BatchSource, 'file' | 'compression'>): string {
  return `read_csv(${ql(source.file)}, columns = {'line': 'VARCHAR'}, header = false, delim = '\x01', quote = '', escape = '', auto_detect = false, new_line = '\\n', compression = '${source.compression}', max_line_size = ${MAX_LINE}, buffer_size = ${MAX_LINE})`;
}

/**
 * The statements that load a group of batches inside one transaction. DuckDB reads and parses
 * every batch itself (gzip JSON Lines, one line per row), so rows never pass through JavaScript.
 * Each file is its own branch of one scan, numbering its lines as it streams; the stage keeps a
 * line's text only when it is rejected. The merge is a delete of the staged keys and an insert: no
 * index over the table, so memory does not grow with it.
 */
export function groupLoadSql(o: {
  table: string;
  spec: TableSpec;
  group: readonly GroupBatch[];
  runId: string;
  replace: boolean;
  /** Stage the lines in this many passes, each a share of every file's lines (see `sliceOf`). */
  slices?: number;
}) {
  const { spec, group } = o;
  const ks = spec.primaryKey.map((_, i) => `k${i}`);
  const keyCols = spec.primaryKey.map((k, i) => `CASE WHEN ${isObject('line')} THEN j ->> ${ql(`$.${JSON.stringify(k)}`)} END AS k${i}`).join(', ');
  const anyNotes = group.some((g) => g.source.notes);
  const reason = `CASE ${anyNotes ? 'WHEN nt.reason IS NOT NULL THEN nt.reason ' : ''}WHEN s.j IS NULL OR NOT ${isObject('s.line')} THEN ${ql(REJECT.notObject)} ${spec.primaryKey
    .map((k, i) => `WHEN s.k${i} IS NULL THEN ${ql(REJECT.missingKey(k))}`)
    .join(' ')} END`;
  const scans = group.map((g, f) => `SELECT ${f} AS f, row_number() OVER () AS line_no, line FROM ${lineReader(g.source)}`).join('\n       UNION ALL ');
  const slices = o.slices ?? 1;
  const select = (slice: number) => `
    SELECT f, line_no, reason, CASE WHEN reason IS NULL THEN j END AS j, CASE WHEN reason IS NOT NULL THEN ${anyNotes ? 'coalesce(nt_line, line)' : 'line'} END AS line, ${ks.join(', ')}
    FROM (SELECT s.f, s.line_no, s.line, s.j, ${ks.map((k) => `s.${k}`).join(', ')}, ${reason} AS reason${anyNotes ? ', nt.line AS nt_line' : ''}
          FROM (SELECT f, line_no, line, j, ${keyCols}
                FROM (SELECT f, line_no, line, TRY_CAST(line AS JSON) AS j
                      FROM (${scans})
                      WHERE line IS NOT NULL AND ${notBlank('line')}${sliceOf(slices, slice)})) s
          ${anyNotes ? `LEFT JOIN ${NOTES} nt ON nt.f = s.f AND nt.line_no = s.line_no` : ''})`;
  const stage = Array.from({ length: slices }, (_, i) => (i === 0 ? `CREATE OR REPLACE TABLE ${STAGE} AS ${select(i)}` : `INSERT INTO ${STAGE} ${select(i)}`));
  const counts = `SELECT f, count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL),
      (SELECT count(DISTINCT (${ks.join(', ')})) FROM ${STAGE} WHERE reason IS NULL) FROM ${STAGE} GROUP BY f`;
  // A file's batch key and hour, looked up by its number: a join with a VALUES list would build its
  // hash table over the staged rows (the larger side) and hold them all in memory once more.
  const keys = group.map((g) => ql(g.batch.key)).join(', ');
  const batchKeyOf = `[${keys}][s.f + 1]`;
  const partitionOf = `[${group.map((g) => `TIMESTAMP ${ql(timestampText(g.batch.partitionMs))}`).join(', ')}][s.f + 1]`;
  const cols = spec.primaryKey.map(qi);
  // A key that keeps its hour is only in its batch's partition: the table's zone maps on
  // _sluice_partition (rows are appended hour by hour) skip every other row group, so the lookup
  // costs the group's hours, not the whole table.
  const ms = [...new Set(group.map((g) => g.batch.partitionMs))].sort((a, b) => a - b);
  const at = (m: number) => `TIMESTAMP ${ql(timestampText(m))}`;
  // The range is what the scan prunes by; the list keeps the lookup to the group's own hours.
  const inPartitions = spec.keyKeepsItsHour
    ? ` AND t._sluice_partition BETWEEN ${at(ms[0] as number)} AND ${at(ms.at(-1) as number)} AND t._sluice_partition IN (${ms.map(at).join(', ')})`
    : '';

  /** `distinct`: the distinct keys among the good rows (from `counts`); fewer than the rows means duplicates. */
  const apply = (c: { perFile: ReadonlyMap<number, { rows: number; rejected: number }>; distinct: number }) => {
    const rows = [...c.perFile.values()].reduce((n, v) => n + v.rows, 0);
    const rejected = [...c.perFile.values()].reduce((n, v) => n + v.rejected, 0);
    const duplicates = c.distinct < rows;
    return [
      `DELETE FROM sluice._rejects WHERE batch_key IN (${keys})`,
      ...(rejected > 0
        ? [
            `INSERT INTO sluice._rejects SELECT ${batchKeyOf}, s.line_no, s.reason, s.line, ${ql(o.runId)}, now()
               FROM ${STAGE} s WHERE s.reason IS NOT NULL ORDER BY s.f, s.line_no`,
          ]
        : []),
      ...(rows > 0 && !o.replace
        ? [
            `DELETE FROM ${o.table} AS t USING (SELECT DISTINCT ${ks.join(', ')} FROM ${STAGE} WHERE reason IS NULL) s WHERE ${cols.map((c, i) => `t.${c} = s.k${i}`).join(' AND ')}${inPartitions}`,
          ]
        : []),
      ...(rows > 0
        ? [
            `INSERT INTO ${o.table} (${cols.join(', ')}, data, _sluice_partition, _sluice_batch, _sluice_loaded_at)
               SELECT ${ks.map((k) => `s.${k}`).join(', ')}, s.j, ${partitionOf}, ${batchKeyOf}, now()
               FROM ${STAGE} s WHERE s.reason IS NULL
               ${duplicates ? `QUALIFY row_number() OVER (PARTITION BY ${ks.map((k) => `s.${k}`).join(', ')} ORDER BY s.f DESC, s.line_no DESC) = 1` : ''}`,
          ]
        : []),
      `INSERT INTO sluice._loads (batch_key, source, stream, version, checksum, size, rows, rejected, run_id, loaded_at)
         VALUES ${group
           .map((g, f) => {
             const n = c.perFile.get(f) ?? { rows: 0, rejected: 0 };
             const b = g.batch;
             return `(${ql(b.key)}, ${ql(spec.source)}, ${ql(spec.stream)}, ${ql(b.version)}, ${ql(b.checksum)}, ${b.size}, ${n.rows}, ${n.rejected}, ${ql(o.runId)}, now())`;
           })
           .join(', ')}
       ON CONFLICT (batch_key) DO UPDATE SET version = excluded.version, checksum = excluded.checksum, size = excluded.size, rows = excluded.rows,
         rejected = excluded.rejected, run_id = excluded.run_id, loaded_at = excluded.loaded_at`,
    ];
  };
  return { stage, counts, apply };
}
