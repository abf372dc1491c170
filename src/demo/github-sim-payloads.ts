type Json = Record<string, unknown>;

/** What a payload needs of its repository. */
interface RepoRef {
  name: string;
  id: number;
}

/** Draws from the simulated world's random stream (one stream, so a seed fixes every event). */
export interface Draw {
  rng(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  hex(n: number): string;
}

/** Event types with their weights, about as often as on a busy open-source repository. */
export const TYPES: Array<[string, number]> = [
  ['PushEvent', 45],
  ['WatchEvent', 12],
  ['IssueCommentEvent', 12],
  ['PullRequestEvent', 10],
  ['IssuesEvent', 6],
  ['CreateEvent', 5],
  ['DeleteEvent', 3],
  ['ForkEvent', 3],
  ['PullRequestReviewEvent', 2],
  ['ReleaseEvent', 2],
];
const VERBS = ['Fix', 'Add', 'Refactor', 'Support', 'Bump', 'Speed up', 'Document'];
const TOPICS = ['parser', 'window functions', 'CI', 'docs', 'httpfs', 'planner', 'join order', 'parquet reader'];

/** The `payload` of a generated event of this type, shaped as GitHub's. */
export function eventPayload(type: string, r: RepoRef, d: Draw, actors: ReadonlyArray<{ login: string }>): Json {
  const num = d.int(1, 20_000);
  const title = `${d.pick(VERBS)} ${d.pick(TOPICS)}`;
  const issue = { number: num, title, state: 'open', html_url: `https://github.com/${r.name}/issues/${num}` };
  const short = r.name.split('/')[1] ?? r.name;
  switch (type) {
    case 'PushEvent': {
      const size = d.int(1, 3);
      const commits = Array.from({ length: size }, () => {
        const sha = d.hex(40);
        return {
          sha,
          author: { email: 'dev@example.com', name: 'Dev' },
          message: title,
          distinct: true,
          url: `https://api.github.com/repos/${r.name}/commits/${sha}`,
        };
      });
      return {
        repository_id: r.id,
        push_id: d.int(10_000_000_000, 30_000_000_000),
        size,
        distinct_size: size,
        ref: 'refs/heads/main',
        head: commits[size - 1]?.sha,
        before: d.hex(40),
        commits,
      };
    }
    case 'WatchEvent':
      return { action: 'started' };
    case 'IssueCommentEvent':
      return { action: 'created', issue, comment: { id: d.int(1e9, 3e9), body: 'LGTM, thanks!' } };
    case 'PullRequestEvent': {
      const action = d.pick(['opened', 'closed', 'reopened', 'synchronize']);
      return {
        action,
        number: num,
        pull_request: { number: num, title, state: action === 'closed' ? 'closed' : 'open', merged: action === 'closed' && d.rng() < 0.7 },
      };
    }
    case 'IssuesEvent': {
      const action = d.pick(['opened', 'closed']);
      return { action, issue: { ...issue, state: action === 'closed' ? 'closed' : 'open' } };
    }
    case 'CreateEvent': {
      const tag = d.rng() < 0.3;
      return {
        ref: tag ? `v${d.int(0, 2)}.${d.int(0, 20)}.${d.int(0, 9)}` : `feature-${num}`,
        ref_type: tag ? 'tag' : 'branch',
        master_branch: 'main',
        description: null,
        pusher_type: 'user',
      };
    }
    case 'DeleteEvent':
      return { ref: `fix-${num}`, ref_type: 'branch', pusher_type: 'user' };
    case 'ForkEvent':
      return { forkee: { id: d.int(1e8, 9e8), name: short, full_name: `${d.pick(actors).login}/${short}`, private: false, fork: true } };
    case 'PullRequestReviewEvent':
      return {
        action: 'created',
        review: { id: d.int(1e9, 3e9), state: d.pick(['approved', 'commented', 'changes_requested']) },
        pull_request: { number: num, title },
      };
    default:
      return { action: 'published', release: { tag_name: `v1.${d.int(0, 20)}.${d.int(0, 9)}`, name: title, prerelease: false } };
  }
}
