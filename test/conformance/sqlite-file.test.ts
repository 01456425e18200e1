import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/index.js';
import { storeConformance } from './store-conformance.js';

storeConformance('sqlite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-'));
  return {
    open: () => openStore({ url: `sqlite:${join(dir, 'nested', 'colloquy.db')}` }),
    sharedAcrossInstances: false,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
