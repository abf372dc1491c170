import { toSluiceError } from '../core/errors.js';
import type { Project } from './project.js';

export interface CheckResult {
  /** "config", "storage", "warehouse" or "source <name>". */
  what: string;
  ok: boolean;
  detail: string;
  code?: string;
  hint?: string;
}

/**
 * Tests every connection a run needs: storage, the warehouse and each source's API (one cheap
 * request). The config itself was validated when the project opened. Every check runs, so one
 * report names everything to fix.
 */
export async function checkProject(project: Project, signal?: AbortSignal): Promise<CheckResult[]> {
  const out: CheckResult[] = [{ what: 'config', ok: true, detail: `${project.config.file}: valid, ${project.sources.length} sources` }];
  const attempt = async (what: string, work: () => Promise<string>) => {
    try {
      out.push({ what, ok: true, detail: await work() });
    } catch (error) {
      const e = toSluiceError(error);
      out.push({ what, ok: false, detail: e.message, code: e.code, ...(e.hint ? { hint: e.hint } : {}) });
    }
  };
  await attempt('storage', async () => `${(await project.storage()).location}: reachable`);
  await attempt('warehouse', async () => `${(await project.warehouse()).type}: opened`);
  for (const resolved of project.sources) {
    await attempt(`source ${resolved.name}`, async () => {
      const source = await resolved.create(project.log.child({ source: resolved.name }));
      try {
        await source.check(signal);
        return `${resolved.type}: the API answered and accepted the credentials`;
      } finally {
        await source.close();
      }
    });
  }
  return out;
}
