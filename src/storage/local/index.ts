import path from 'node:path';
import type { StoragePlugin } from '../../core/plugin.js';
import { type LocalConfig, localConfigSchema } from './config.js';
import { LocalStore } from './local-store.js';

/** A folder on this machine laid out exactly like the bucket would be (DESIGN §2): `--dev` and the default. */
export const localStorage: StoragePlugin<LocalConfig> = {
  type: 'local',
  configSchema: localConfigSchema,
  create: (config, ctx) => new LocalStore(path.resolve(ctx.configDir, config.path)),
};

export { LocalStore };
