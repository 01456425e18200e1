import { openStore } from '../../src/index.js';
import { storeConformance } from './store-conformance.js';

storeConformance('sqlite (memory)', async () => ({
  open: () => openStore({ url: 'sqlite::memory:' }),
  sharedAcrossInstances: false,
  cleanup: async () => {},
}));
