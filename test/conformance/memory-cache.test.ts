import { createMemoryCache } from '../../src/cache/memory-cache.js';
import { cacheConformance } from './cache-conformance.js';

// One LRU behind every open(), as one process has one.
cacheConformance('memory', async () => ({ open: async (options) => createMemoryCache(options), cleanup: async () => {} }));
