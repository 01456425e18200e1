import { connectRedis } from '../../src/cache/redis/redis-client.js';
import { createRedisCache } from '../../src/cache/redis/redis-cache.js';
import { ownRedisCluster, uniqueName } from '../helpers/services.js';
import { cacheConformance } from './cache-conformance.js';

// The same rules on a three-master Redis Cluster, reached through ioredis' cluster client.
cacheConformance('redis cluster', async () => {
  const cluster = await ownRedisCluster();
  if (!cluster) return undefined;
  const client = connectRedis(cluster.url, { timeoutMs: 1_000 });
  await new Promise((resolve) => client.once('ready', resolve));
  const prefix = `${uniqueName('test')}:`;
  return {
    open: async (options) => createRedisCache(client, { ...options, prefix }),
    cleanup: async () => {
      client.disconnect();
      await cluster.stop();
    },
  };
});
