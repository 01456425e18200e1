import { openStore } from '../../src/index.js';
import { POSTGRES_URL, REDIS_URL, dropRedisPrefix, postgresAvailable, redisAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';
import { storeConformance } from './store-conformance.js';

// The fleet: two store instances on one database and one Redis hot tier. Every case, and every race across
// the two instances, must read exactly as without the cache.
storeConformance('postgres + redis hot tier', async () => {
  if (!(await postgresAvailable()) || !(await redisAvailable())) return undefined;
  const { schema, drop } = await throwawaySchema();
  const redisPrefix = `${uniqueName('test')}:`;
  return {
    open: () => openStore({ url: POSTGRES_URL, schema, redis: REDIS_URL, redisPrefix }),
    sharedAcrossInstances: true,
    cleanup: async () => {
      await drop();
      await dropRedisPrefix(redisPrefix);
    },
  };
});
