import type { BatchToLoad, TableSpec } from '../../core/warehouse.js';
import { quoteIdent as qi, quoteLiteral as ql } from '../sql.js';

const STAGE = '_sluice_stage';

/**
 * The statements that load one batch inside one transaction. DuckDB reads the gzip JSON Lines
 * itself, one line per row (a delimiter that JSON text never holds unescaped), so rows never pass
 * through JavaScript and every line keeps its number for `_rejects`.
 */
export function batchLoadSql(o: { table: string; spec: TableSpec; batch: BatchToLoad; runId: string; partition: string }) {
  const { spec, batch } = o;
  const key = ql(batch.key);
  const keyCols = spec.primaryKey.map((k, i) => `try(line ->> ${ql(`$.${JSON.stringify(k)}`)}) AS k${i}`).join(', ');
  const keysPresent = spec.primaryKey.map((_, i) => `k${i} IS NOT NULL`).join(' AND ');
  const missing = spec.primaryKey.map((k, i) => `WHEN k${i} IS NULL THEN ${ql(`missing primary key: ${k}`)}`).join(' ');
  const reader = `read_csv(${ql(batch.file)}, columns = {'line': 'VARCHAR'}, header = false, delim = '\x01', quote = '', escape = '', auto_detect = false, new_line = '\\n', compression = 'gzip', max_line_size = 268435456)`;
  const before = [
    `CREATE OR REPLACE TEMP TABLE ${STAGE} AS
       SELECT line_no, line, ok, ${spec.primaryKey.map((_, i) => `CASE WHEN ok THEN k${i} END AS k${i}`).join(', ')}
       FROM (SELECT line_no, line, coalesce(try(json_valid(line) AND json_type(line) = 'OBJECT'), false) AS ok, ${keyCols}
             FROM (SELECT row_number() OVER () AS line_no, line FROM ${reader}))
       WHERE line IS NOT NULL AND trim(line) <> ''`,
  ];
  const counts = `SELECT count(*) FILTER (WHERE ok AND ${keysPresent}), count(*) FILTER (WHERE NOT (ok AND ${keysPresent})) FROM ${STAGE}`;
  const cols = spec.primaryKey.map(qi).join(', ');
  const apply = (rows: number, rejected: number) => [
    `DELETE FROM sluice._rejects WHERE batch_key = ${key}`,
    ...(rejected > 0
      ? [
          `INSERT INTO sluice._rejects
             SELECT ${key}, line_no, CASE WHEN NOT ok THEN 'not a JSON object' ${missing} END, line, ${ql(o.runId)}, now()
             FROM ${STAGE} WHERE NOT (ok AND ${keysPresent})`,
        ]
      : []),
    ...(rows > 0
      ? [
          `INSERT INTO ${o.table} (${cols}, data, _sluice_partition, _sluice_batch, _sluice_loaded_at)
             SELECT ${spec.primaryKey.map((_, i) => `k${i}`).join(', ')}, CAST(line AS JSON), TIMESTAMP ${ql(o.partition)}, ${key}, now()
             FROM ${STAGE} WHERE ok AND ${keysPresent}
             QUALIFY row_number() OVER (PARTITION BY ${spec.primaryKey.map((_, i) => `k${i}`).join(', ')} ORDER BY line_no DESC) = 1
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
