// GitHub-shaped events (~1 KB each) in hourly batches, for the load benchmarks.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export const ROWS_PER_BATCH = 1000;
const HOUR = 3_600_000;

/** A deterministic stream of GitHub-shaped events (~1 KB each), as the events API returns them. */
export function* githubEvents(total, startMs) {
  // created_at falls in the hour of the batch the event is written to (ROWS_PER_BATCH per hour).
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const types = ['PushEvent', 'WatchEvent', 'IssueCommentEvent', 'PullRequestEvent', 'CreateEvent', 'IssuesEvent'];
  for (let i = 0; i < total; i++) {
    const actor = Math.floor(rnd() * 50_000);
    const repo = Math.floor(rnd() * 5_000);
    const type = types[Math.floor(rnd() * types.length)];
    const sha = Math.floor(rnd() * 2 ** 48)
      .toString(16)
      .padStart(12, '0')
      .repeat(3)
      .slice(0, 40);
    yield {
      id: String(30_000_000_000 + i),
      type,
      actor: {
        id: actor,
        login: `user${actor}`,
        display_login: `user${actor}`,
        gravatar_id: '',
        url: `https://api.github.com/users/user${actor}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${actor}?`,
      },
      repo: { id: 100_000 + repo, name: `org${repo % 97}/repo${repo}`, url: `https://api.github.com/repos/org${repo % 97}/repo${repo}` },
      payload:
        type === 'PushEvent'
          ? {
              repository_id: 100_000 + repo,
              push_id: 10_000_000_000 + i,
              size: 1,
              distinct_size: 1,
              ref: 'refs/heads/main',
              head: sha,
              before: sha.split('').reverse().join(''),
              commits: [
                {
                  sha,
                  author: { email: 'dev@example.com', name: 'Dev' },
                  message: 'Fix the "flaky" test\nand\tmore',
                  distinct: true,
                  url: `https://api.github.com/repos/org${repo % 97}/repo${repo}/commits/${sha}`,
                },
              ],
            }
          : {
              action: 'created',
              issue: { number: Math.floor(rnd() * 20_000), title: 'Improve the loader', state: 'open' },
              comment: { id: 2_000_000_000 + i, body: 'LGTM, thanks! 🚀' },
            },
      public: true,
      created_at: new Date(startMs + Math.floor(i / ROWS_PER_BATCH) * HOUR + (i % ROWS_PER_BATCH) * 3000).toISOString().replace('.000Z', 'Z'),
      org: {
        id: 9_000 + (repo % 97),
        login: `org${repo % 97}`,
        gravatar_id: '',
        url: `https://api.github.com/orgs/org${repo % 97}`,
        avatar_url: `https://avatars.githubusercontent.com/u/${9_000 + (repo % 97)}?`,
      },
    };
  }
}

/** Writes the lake (one gzip batch per hour, storage layout) and the same lines as one plain file. */
export function writeData(dir, total) {
  const lake = path.join(dir, 'lake');
  const plain = fs.openSync(path.join(dir, 'all.jsonl'), 'w');
  const startMs = Date.UTC(2026, 0, 1);
  let lines = [];
  let hour = 0;
  const flush = () => {
    const text = `${lines.join('\n')}\n`;
    const t = new Date(startMs + hour * HOUR).toISOString();
    const file = path.join(lake, 'github', 'events', `dt=${t.slice(0, 10)}`, `hr=${t.slice(11, 13)}`, `bench-${String(hour).padStart(5, '0')}.jsonl.gz`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, zlib.gzipSync(text, { level: 6 }));
    fs.writeSync(plain, text);
    lines = [];
    hour++;
  };
  for (const ev of githubEvents(total, startMs)) {
    lines.push(JSON.stringify(ev));
    if (lines.length === ROWS_PER_BATCH) flush();
  }
  if (lines.length) flush();
  fs.closeSync(plain);
  return { lake, plain: path.join(dir, 'all.jsonl'), batches: hour };
}
