import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { REJECT } from '../pending.js';
import { quoteIdent as qi, quoteLiteral as ql } from '../sql.js';

const STAGE = '_sluice_stage';
export const NOTES = '_sluice_notes';
/** The longest line read (64 MiB); the read buffer is that size too, so DuckDB's memory cap holds. */
const MAX_LINE = 64 * 1024 * 1024;

export interface BatchSource {
  /** The file DuckDB reads: the batch itself, or a cleaned copy (see sanitize.ts). */
  file: string;
  compression: 'gzip' | 'none';
  /** Lines the cleaning already judged: `_sluice_notes (line_no, reason, line)` holds them. */
  notes: boolean;
}

/**
 * The statements that load one batch inside one transaction. DuckDB reads the gzip JSON Lines
 * itself, one line per row (a delimiter that JSON text never holds unescaped), and parses each line
 * once (TRY_CAST to JSON), so rows never pass through JavaScript and every line keeps its number for `_rejects`.
 */
export function batchLoadSql(o: { table: string; spec: TableSpec; batch: BatchToLoad; source: BatchSource; runId: string; partition: string }) {
  const { spec, batch, source } = o;
  const key = ql(batch.key);
  const ks = spec.primaryKey.map((_, i) => `k${i}`).join(', ');
  const keyCols = spec.primaryKey.map((k, i) => `j ->> ${ql(`$.${JSON.stringify(k)}`)} AS k${i}`).join(', ');
  const reader = `read_csv(${ql(source.file)}, columns = {'line': 'VARCHAR'}, header = false, delim = '\x01', quote = '', escape = '', auto_detect = false, new_line = '\\n', compression = '${source.compression}', max_line_size = ${MAX_LINE}, buffer_size = ${MAX_LINE})`;
  const reason = `CASE ${source.notes ? 'WHEN nt.reason IS NOT NULL THEN nt.reason ' : ''}WHEN NOT s.ok THEN ${ql(REJECT.notObject)} ${spec.primaryKey
    .map((k, i) => `WHEN s.k${i} IS NULL THEN ${ql(REJECT.missingKey(k))}`)
    .join(' ')} END`;
  const before = [
    `CREATE OR REPLACE TEMP TABLE ${STAGE} AS
       SELECT s.line_no, ${source.notes ? 'coalesce(nt.line, s.line)' : 's.line'} AS line, s.j, ${reason} AS reason, ${spec.primaryKey.map((_, i) => `s.k${i}`).join(', ')}
       FROM (SELECT line_no, line, j, coalesce(json_type(j) = 'OBJECT', false) AS ok, ${keyCols}
             FROM (SELECT line_no, line, TRY_CAST(line AS JSON) AS j FROM (SELECT row_number() OVER () AS line_no, line FROM ${reader}))) s
       ${source.notes ? `LEFT JOIN ${NOTES} nt ON nt.line_no = s.line_no` : ''}
       WHERE s.line IS NOT NULL AND trim(s.line, chr(32) || chr(9) || chr(13)) <> ''`,
  ];
  const counts = `SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) FROM ${STAGE}`;
  const cols = spec.primaryKey.map(qi).join(', ');
  const apply = (rows: number, rejected: number) => [
    `DELETE FROM sluice._rejects WHERE batch_key = ${key}`,
    ...(rejected > 0 ? [`INSERT INTO sluice._rejects SELECT ${key}, line_no, reason, line, ${ql(o.runId)}, now() FROM ${STAGE} WHERE reason IS NOT NULL`] : []),
    ...(rows > 0
      ? [
          `INSERT INTO ${o.table} (${cols}, data, _sluice_partition, _sluice_batch, _sluice_loaded_at)
             SELECT ${ks}, j, TIMESTAMP ${ql(o.partition)}, ${key}, now()
             FROM ${STAGE} WHERE reason IS NULL
             QUALIFY row_number() OVER (PARTITION BY ${ks} ORDER BY line_no DESC) = 1
           ON CONFLICT (${cols}) DO UPDATE SET data = excluded.data, _sluice_partition = excluded._sluice_partition,
             _sluice_batch = excluded._sluice_batch, _sluice_loaded_at = excluded._sluice_loaded_at`,
        ]
      : []),
    `INSERT INTO sluice._loads (batch_key, source, stream, version, size, rows, rejected, run_id, loaded_at)
       VALUES (${key}, ${ql(spec.source)}, ${ql(spec.stream)}, ${ql(batch.version)}, ${batch.size}, ${rows}, ${rejected}, ${ql(o.runId)}, now())
     ON CONFLICT (batch_key) DO UPDATE SET version = excluded.version, size = excluded.size, rows = excluded.rows,
       rejected = excluded.rejected, run_id = excluded.run_id, loaded_at = excluded.loaded_at`,
    `DROP TABLE ${STAGE}`,
  ];
  return { before, counts, apply };
}
