import type { Project } from '../pipeline/project.js';

export interface DemoMetrics {
  events: number;
  byType: Array<{ type: string; events: number }>;
  byRepo: Array<{ repo: string; events: number }>;
  /** Amplitude: events, distinct users and the top event types. */
  amplitude: { events: number; users: number; byType: Array<{ type: string; events: number }> };
}

/** Top figures from the demo warehouse, read through its SQL target after the runs. */
export async function demoMetrics(project: Project): Promise<DemoMetrics> {
  const target = await project.sqlTarget();
  try {
    const all = (sql: string) => target.all(sql);
    const [total] = await all('SELECT count(*) AS n FROM raw.github_events');
    const byType = await all(`SELECT data->>'type' AS type, count(*) AS events FROM raw.github_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`);
    const byRepo = await all(`SELECT data->'repo'->>'name' AS repo, count(*) AS events FROM raw.github_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`);
    const [amp] = await all(`SELECT count(*) AS n, count(DISTINCT data->>'user_id') AS users FROM raw.amplitude_events`);
    const ampTypes = await all(`SELECT data->>'event_type' AS type, count(*) AS events FROM raw.amplitude_events GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`);
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
    await target.close();
  }
}
