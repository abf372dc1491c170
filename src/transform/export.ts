import type { SqlTarget } from '../core/sql-target.js';
import { DEFAULT_SCHEMA, type TransformProject } from './models.js';

/**
 * The marts' summary that `--export` writes: the figures a dashboard of such a pipeline shows. A
 * mart says which figure it feeds with `meta: { sluice_export: <role> }` in its YAML (the bundled
 * marts do); the roles and the columns they must have are below.
 */
export type ExportRole = 'event_counts' | 'repos' | 'top_contributors' | 'daily_active_users';

export interface MetricsDocument {
  generated_at: string;
  event_types: Array<{ type: string; events: number }>;
  repos: Array<RepoStats>;
  top_repos: Array<{ repo: string; events: number }>;
  top_contributors: Array<{ rank: number; actor: string; contributions: number; repos: number }>;
  daily_active_users?: Array<{ date: string; active_users: number; events: number }>;
  /** Roles the document draws on that no built mart fills (not built yet, or no mart declares it). */
  missing: string[];
}

export interface RepoStats {
  repo: string;
  total_events: number;
  unique_contributors: number;
  pushes: number;
  prs_opened: number;
  prs_merged: number;
  issues_opened: number;
  issues_closed: number;
}

const TOP = 10;
const num = (v: unknown): number => Number(v ?? 0);
const day = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

export async function exportMetrics(target: SqlTarget, project: TransformProject): Promise<MetricsDocument> {
  const missing: string[] = [];
  const martFor = (role: ExportRole) => [...project.meta].find(([, m]) => m.sluice_export === role)?.[0];
  const rel = async (role: ExportRole): Promise<string | undefined> => {
    const name = martFor(role);
    const r = name ? { schema: project.models.get(name)?.schema ?? DEFAULT_SCHEMA, name } : undefined;
    if (r && (await target.kindOf(r))) return target.relation(r);
    missing.push(role);
    return undefined;
  };
  const counts = await rel('event_counts');
  const repos = await rel('repos');
  const contributors = await rel('top_contributors');
  const event_types = counts
    ? (await target.all(`SELECT type, sum(events) AS events FROM ${counts} GROUP BY type ORDER BY 2 DESC, 1`)).map((r) => ({
        type: String(r.type),
        events: num(r.events),
      }))
    : [];
  const repoRows: RepoStats[] = repos
    ? (await target.all(`SELECT * FROM ${repos} ORDER BY total_events DESC, repo_name`)).map((r) => ({
        repo: String(r.repo_name),
        total_events: num(r.total_events),
        unique_contributors: num(r.unique_contributors),
        pushes: num(r.pushes),
        prs_opened: num(r.prs_opened),
        prs_merged: num(r.prs_merged),
        issues_opened: num(r.issues_opened),
        issues_closed: num(r.issues_closed),
      }))
    : [];
  const top_contributors = contributors
    ? (await target.all(`SELECT * FROM ${contributors} WHERE contributor_rank <= ${TOP} ORDER BY contributor_rank`)).slice(0, TOP).map((r) => ({
        rank: num(r.contributor_rank),
        actor: String(r.actor_login),
        contributions: num(r.contributions),
        repos: num(r.repos),
      }))
    : [];
  const doc: MetricsDocument = {
    generated_at: new Date().toISOString(),
    event_types,
    repos: repoRows,
    top_repos: repoRows.slice(0, TOP).map((r) => ({ repo: r.repo, events: r.total_events })),
    top_contributors,
    missing,
  };
  if (martFor('daily_active_users')) {
    const dau = await rel('daily_active_users');
    if (dau) {
      doc.daily_active_users = (await target.all(`SELECT * FROM ${dau} ORDER BY activity_date`)).map((r) => ({
        date: day(r.activity_date),
        active_users: num(r.active_users),
        events: num(r.events),
      }));
    }
  }
  return doc;
}
