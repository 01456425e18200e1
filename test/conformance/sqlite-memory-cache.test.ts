import { openStore } from '../../src/index.js';
import { storeConformance } from './store-conformance.js';

// One process that is its database's only writer, with the in-process LRU in front.
storeConformance('sqlite + in-process cache', async () => ({
  open: () => openStore({ url: 'sqlite::memory:', cache: 'memory' }),
  sharedAcrossInstances: false,
  cleanup: async () => {},
}));
