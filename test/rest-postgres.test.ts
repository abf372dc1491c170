import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgServer, startPostgres, stopPostgres } from './support/postgres.js';
import { lacks } from './support/programs.js';
import { restWorkspace } from './support/rest.js';
import { type RestSim, startRestSim } from './support/rest-sim.js';
import { runCli } from './support/workspace.js';

interface Row {
  id: string;
  data: Record<string, unknown>;
}

describe.skipIf(lacks('postgresql'))('rest source into PostgreSQL', () => {
  let server: PgServer | undefined;
  let sim: RestSim | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await sim?.close();
    stopPostgres(server);
  });

  it('sessions that changed upstream are updated in place, not duplicated; dictionaries are replaced', async () => {
    const pg = server as PgServer;
    sim = await startRestSim({ seed: 23, sessions: 120 });
    const url = await pg.database('rest_calls');
    const dir = restWorkspace(sim, { warehouse: { type: 'postgres', url } });
    const run = async () => {
      const r = await runCli(['run', 'calls'], { cwd: dir });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    };
    const rows = (table: string, key = 'id') =>
      pg.query<Row>(`SELECT ${key} AS id, data FROM raw.calls_${table} ORDER BY ${key}`, [], 'rest_calls').then((r) => r as Row[]);

    await run();
    const first = await rows('sessions');
    expect(first).toHaveLength(120);
    const change = sim.tick({ newSessions: 15, updatedSessions: 20 });
    await run();

    const truth = sim.expected();
    const sessions = await rows('sessions');
    expect(sessions).toHaveLength(truth.sessions.length);
    expect(new Set(sessions.map((r) => String(r.id))).size).toBe(sessions.length);
    const byId = new Map(sessions.map((r) => [String(r.id), r.data]));
    for (const want of truth.sessions as Array<{ id: number }>) expect(byId.get(String(want.id))).toEqual(want);
    for (const id of change.updatedSessions) {
      const before = first.find((r) => String(r.id) === String(id))?.data;
      expect(byId.get(String(id))?.updated_at).not.toBe(before?.updated_at);
    }

    const agents = await rows('agents');
    expect(agents.map((r) => r.data).sort((a, b) => Number(a.id) - Number(b.id))).toEqual(truth.agents);
    expect(agents.map((r) => String(r.id))).not.toContain(String(change.deletedAgent));

    const scores = await pg.query<{ k: string; data: Record<string, unknown> }>(
      `SELECT _parent_id || '/' || criterion AS k, data FROM raw.calls_scores`,
      [],
      'rest_calls',
    );
    expect(scores).toHaveLength(truth.scores.length);
    const scoreByKey = new Map(scores.map((r) => [r.k, r.data]));
    for (const { session_id, ...score } of truth.scores)
      expect(scoreByKey.get(`${session_id}/${score.criterion}`)).toEqual({ _parent_id: session_id, ...score });
  });
});
