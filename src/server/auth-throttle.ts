import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../cache/redis/redis-client.js';

export interface AuthThrottleConfig {
  /** Failed authentications per address in one window before that address is refused. Default 20. */
  readonly limit?: number;
  /** The window, and how long an address that went over stays refused. Default 60 s. */
  readonly windowMs?: number;
  /** Counters shared by a fleet; each instance counts alone without it (or while it fails). */
  readonly redis?: RedisClient | undefined;
  readonly prefix?: string;
}

// INCR and, on the first failure of a window, its expiry; answers the count and the ms left.
const COUNT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

/**
 * Throttles failed authentications per client address, so that keys cannot be guessed: past `limit` failures
 * in a window, every request of that address that needs a key is refused (429) until the window ends — a
 * right guess included, or refusing only wrong ones would tell the right one. Only failures are counted, so
 * a valid key costs nothing here; in a fleet they are counted in Redis, and an instance learns that an
 * address is refused from its own next failure of it.
 */
export function createAuthThrottle(config: AuthThrottleConfig = {}) {
  const limit = config.limit ?? 20;
  const windowMs = config.windowMs ?? 60_000;
  const local = new LRUCache<string, { count: number; until: number }>({ max: 100_000 });
  const refused = new LRUCache<string, number>({ max: 100_000 });
  const redisKey = (address: string) => `${config.prefix ?? 'colloquy:'}authfail:${address}`;

  const countLocally = (address: string, now: number): { count: number; until: number } => {
    const entry = local.get(address);
    const current = entry && entry.until > now ? entry : { count: 0, until: now + windowMs };
    current.count++;
    local.set(address, current);
    return current;
  };

  return {
    /** Ms until `address` may try again, or 0. */
    refusedFor(address: string, now = Date.now()): number {
      const until = refused.get(address);
      return until !== undefined && until > now ? until - now : 0;
    },

    /** Counts a failure of `address`; the ms it is now refused for (0 while under the limit). */
    async failed(address: string, now = Date.now()): Promise<number> {
      let count: number;
      let until: number;
      try {
        if (!config.redis) throw new Error('no redis');
        const [n, ttl] = (await config.redis.eval(COUNT, 1, redisKey(address), windowMs)) as [number, number];
        count = n;
        until = now + (ttl > 0 ? ttl : windowMs);
      } catch {
        ({ count, until } = countLocally(address, now));
      }
      if (count <= limit) return 0;
      refused.set(address, until);
      return until - now;
    },
  };
}

export type AuthThrottle = ReturnType<typeof createAuthThrottle>;
