import { connectRedis } from '../../src/cache/redis/redis-client.js';
import { createRedisCache } from '../../src/cache/redis/redis-cache.js';
import { REDIS_URL, redisAvailable, uniqueName } from '../helpers/services.js';
import { cacheConformance } from './cache-conformance.js';

cacheConformance('redis', async () => {
  if (!(await redisAvailable())) return undefined;
  const client = connectRedis(REDIS_URL, { timeoutMs: 1_000 });
  await new Promise((resolve) => client.once('ready', resolve));
  const prefix = `${uniqueName('test')}:`; // the suite's keys only, so that clear() touches nothing else
  return {
    open: async (options) => createRedisCache(client, { ...options, prefix }),
    cleanup: async () => {
      await client.quit();
    },
  };
});
