import { duckdb } from '../warehouse/duckdb/library.js';

export interface DemoMetrics {
  events: number;
  byType: Array<{ type: string; events: number }>;
  byRepo: Array<{ repo: string; events: number }>;
  /** Amplitude: events, distinct users and the top event types. */
  amplitude: { events: number; users: number; byType: Array<{ type: string; events: number }> };
}

/** Top figures from the demo warehouse, read with DuckDB itself (read-only, after the run). */
export async function demoMetrics(warehouseFile: string): Promise<DemoMetrics> {
  const { DuckDBInstance } = await duckdb();
  const inst = await DuckDBInstance.create(warehouseFile, { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    const all = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
    const [total] = await all('SELECT count(*)::BIGINT AS n FROM raw.github_events');
    const byType = await all(`SELECT data->>'type' AS type, count(*)::BIGINT AS events FROM raw.github_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`);
    const byRepo = await all(`SELECT data->'repo'->>'name' AS repo, count(*)::BIGINT AS events FROM raw.github_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`);
    const [amp] = await all(`SELECT count(*)::BIGINT AS n, count(DISTINCT data->>'user_id')::BIGINT AS users FROM raw.amplitude_events`);
    const ampTypes = await all(
      `SELECT data->>'event_type' AS type, count(*)::BIGINT AS events FROM raw.amplitude_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`,
    );
    return {
      amplitude: {
        events: Number(amp?.n ?? 0),
        users: Number(amp?.users ?? 0),
        byType: ampTypes.map((r) => ({ type: String(r.type), events: Number(r.events) })),
      },
      events: Number(total?.n ?? 0),
      byType: byType.map((r) => ({ type: String(r.type), events: Number(r.events) })),
      byRepo: byRepo.map((r) => ({ repo: String(r.repo), events: Number(r.events) })),
    };
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
