import { isIPv6 } from 'node:net';
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

// INCR and, on the first attempt of a window, its expiry; answers the count and the ms left.
const COUNT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;
// Gives one back, unless the window (and its count) is gone or nothing is left to give.
const REFUND = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;

/**
 * Who is counted: an IPv4 address, or the /64 an IPv6 address is in (one host gets a whole /64, so counting
 * single IPv6 addresses would give it millions of buckets).
 */
export function clientBucket(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Throttles authentication attempts per client address, so that keys cannot be guessed. An attempt is counted
 * before its key is judged (and given back when the key holds), so that a burst of guesses sent at once is
 * bounded like guesses sent one by one; a key this instance has just seen hold is judged without being counted.
 * Past `limit` failures in a window, every request of that address that carries a key is refused (429) until the
 * window ends — a right guess included, or refusing only wrong ones would tell the right one. In a fleet the
 * counts are Redis's, so guesses spread over instances count together.
 */
export function createAuthThrottle(config: AuthThrottleConfig = {}) {
  const limit = config.limit ?? 20;
  const windowMs = config.windowMs ?? 60_000;
  const local = new LRUCache<string, { count: number; until: number }>({ max: 100_000 });
  const refused = new LRUCache<string, number>({ max: 100_000 });
  const redisKey = (bucket: string) => `${config.prefix ?? 'colloquy:'}authfail:${bucket}`;

  const countLocally = (bucket: string, now: number, by: number): { count: number; until: number } => {
    const entry = local.get(bucket);
    const current = entry && entry.until > now ? entry : { count: 0, until: now + windowMs };
    current.count = Math.max(0, current.count + by);
    local.set(bucket, current);
    return current;
  };

  return {
    /** Ms until `address` may try again, or 0. */
    refusedFor(address: string, now = Date.now()): number {
      const until = refused.get(clientBucket(address));
      return until !== undefined && until > now ? until - now : 0;
    },

    /**
     * Counts an attempt of `address` about to be judged: the ms it is now refused for (0: go on and judge it),
     * and how to give the attempt back (where it was counted) once its key held.
     */
    async attempt(address: string, now = Date.now()): Promise<{ waitMs: number; giveBack(): Promise<void> }> {
      const bucket = clientBucket(address);
      let count: number;
      let until: number;
      let giveBack: () => Promise<void>;
      try {
        if (!config.redis) throw new Error('no redis');
        const redis = config.redis;
        const [n, ttl] = (await redis.eval(COUNT, 1, redisKey(bucket), windowMs)) as [number, number];
        count = n;
        until = now + (ttl > 0 ? ttl : windowMs);
        giveBack = async () => {
          await redis.eval(REFUND, 1, redisKey(bucket)).catch(() => {}); // a lost refund costs one guess of the limit, no more
        };
      } catch {
        ({ count, until } = countLocally(bucket, now, 1));
        giveBack = async () => {
          countLocally(bucket, Date.now(), -1);
        };
      }
      if (count <= limit) return { waitMs: 0, giveBack };
      refused.set(bucket, until);
      return { waitMs: until - now, giveBack };
    },
  };
}

export type AuthThrottle = ReturnType<typeof createAuthThrottle>;
