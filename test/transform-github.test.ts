import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { BUNDLED_DIR } from '../src/transform/bundled.js';
import { runTransform } from '../src/transform/engine.js';
import { exportMetrics } from '../src/transform/export.js';
import { loadTransformProject } from '../src/transform/models.js';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { describeDialects, type GithubEvent, loadRaw, openTarget, readGithubFixture } from './support/transform.js';
import { tempDir } from './support/workspace.js';

/** The figures the marts must hold, computed from the JSON on its own. */
function expected(events: GithubEvent[]) {
  const valid = events.filter((e) => e.type && e.repo?.name && !Number.isNaN(Date.parse(e.created_at ?? '')));
  const tally = <K>(keys: K[]) => {
    const m = new Map<K, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const contributions = valid.filter((e) => e.type !== 'WatchEvent' && e.type !== 'ForkEvent');
  const byActor = [...tally(contributions.map((e) => e.actor.login))].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const count = (f: (e: GithubEvent) => boolean) => valid.filter(f).length;
  return {
    valid: valid.length,
    eventCounts: [...tally(valid.map((e) => `${e.created_at.slice(0, 10)}|${e.type}`))]
      .map(([k, events]) => ({ key: k, events }))
      .sort((a, b) => (a.key < b.key ? -1 : 1)),
    types: [...tally(valid.map((e) => e.type))].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([type, events]) => ({ type, events })),
    repo: {
      repo: 'duckdb/duckdb',
      total_events: valid.length,
      unique_contributors: new Set(contributions.map((e) => e.actor.login)).size,
      pushes: count((e) => e.type === 'PushEvent'),
      prs_opened: count((e) => e.type === 'PullRequestEvent' && e.payload.action === 'opened'),
      prs_merged: count((e) => e.type === 'PullRequestEvent' && e.payload.action === 'closed' && e.payload.pull_request?.merged === true),
      issues_opened: count((e) => e.type === 'IssuesEvent' && e.payload.action === 'opened'),
      issues_closed: count((e) => e.type === 'IssuesEvent' && e.payload.action === 'closed'),
    },
    topContributors: byActor.slice(0, 5).map(([actor, contributions], i) => ({ rank: i + 1, actor, contributions })),
    hourly: [...tally(valid.map((e) => `${e.created_at.slice(0, 13)}`))].sort().map(([hour, events]) => ({ hour, events })),
  };
}

describeDialects('bundled GitHub models on %s over real events', (dialect) => {
  let pg: PgServer | undefined;
  beforeAll(async () => {
    if (dialect === 'postgres') pg = await startPostgres();
  }, 120_000);
  afterAll(() => stopPostgres(pg));

  test('build, pass their tests and hold the hand-checked figures; incremental hours on a second run', async () => {
    const events = readGithubFixture();
    // Two events that break the contract: staging leaves them out, the source test counts them.
    const broken = [
      { ...events[0]!, id: '900000000001', created_at: 'not a time' },
      { ...events[1]!, id: '900000000002', type: undefined as unknown as string },
    ];
    const dir = tempDir(`transform-github-${dialect}`);
    const target = await openTarget(dialect, dialect === 'duckdb' ? path.join(dir, 'warehouse.duckdb') : await pg!.database('github'));
    try {
      await loadRaw(target, 'github_events', 'id', [...events, ...broken] as unknown as Array<Record<string, unknown>>);
      const project = loadTransformProject(path.join(BUNDLED_DIR, 'github'));
      const result = await runTransform(target, project);
      expect(result.models.map((m) => [m.model, m.status])).toEqual([
        ['stg_github__events', 'built'],
        ['dim_github__repos', 'built'],
        ['fct_github__event_counts', 'built'],
        ['fct_github__hourly_activity', 'built'],
        ['fct_github__top_contributors', 'built'],
      ]);
      expect(result.tests.filter((t) => t.status !== 'pass').map((t) => [t.model, t.column, t.test, t.status, t.failures])).toEqual([
        ['source:github.events', 'id', 'relationships', 'warn', 2],
      ]);
      expect(result.exit_code).toBe(0);

      const want = expected(events);
      const [staged] = await target.all('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM analytics.stg_github__events');
      expect(staged).toEqual({ n: want.valid, ids: want.valid });
      const counts = await target.all('SELECT CAST(event_date AS VARCHAR) AS d, type, events FROM analytics.fct_github__event_counts ORDER BY 1, 2');
      expect(counts.map((r) => ({ key: `${r.d}|${r.type}`, events: r.events }))).toEqual(want.eventCounts);

      const metrics = await exportMetrics(target, project);
      expect(metrics.missing).toEqual([]);
      expect(metrics.event_types).toEqual(want.types);
      expect(metrics.repos).toEqual([want.repo]);
      expect(metrics.top_repos).toEqual([{ repo: 'duckdb/duckdb', events: want.valid }]);
      expect(metrics.top_contributors.slice(0, 5).map(({ rank, actor, contributions }) => ({ rank, actor, contributions }))).toEqual(want.topContributors);
      // Hand-checked against the recorded page (2023-04-04 to 2023-04-08, duckdb/duckdb).
      expect(want.valid).toBe(100);
      expect(want.types[0]).toEqual({ type: 'PullRequestReviewCommentEvent', events: 23 });
      expect(want.repo).toMatchObject({ unique_contributors: 14, pushes: 8, prs_opened: 3, prs_merged: 8, issues_opened: 3, issues_closed: 2 });

      const hours = async () =>
        (await target.all(
          `SELECT ${dialect === 'duckdb' ? "strftime(activity_hour, '%Y-%m-%dT%H')" : 'to_char(activity_hour, \'YYYY-MM-DD"T"HH24\')'} AS hour, events FROM analytics.fct_github__hourly_activity ORDER BY 1`,
        )) as Array<{ hour: string; events: number }>;
      expect(await hours()).toEqual(want.hourly);

      // New events after the last hour, and one a few hours late: an incremental run merges them.
      const later = [
        { ...events[0]!, id: '900000000010', created_at: '2023-04-08T07:05:00Z' },
        { ...events[0]!, id: '900000000011', created_at: '2023-04-08T07:45:00Z' },
        { ...events[0]!, id: '900000000012', created_at: '2023-04-08T03:10:00Z' },
      ];
      await loadRaw(target, 'github_events', 'id', later as unknown as Array<Record<string, unknown>>);
      const second = await runTransform(target, project, { select: ['stg_github__events+'] });
      expect(second.models.find((m) => m.model === 'fct_github__hourly_activity')).toMatchObject({ status: 'built', mode: 'incremental' });
      expect(await hours()).toEqual(expected([...events, ...later]).hourly);
    } finally {
      await target.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
