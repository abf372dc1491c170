import fs from 'node:fs';
import path from 'node:path';
import { LocalStore } from '../src/storage/local/index.js';
import { storageContract } from './storage-contract.js';
import { tempDir } from './support/workspace.js';

storageContract('local', async () => {
  const dir = tempDir('local-store');
  return { store: new LocalStore(path.join(dir, 'lake')), close: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
