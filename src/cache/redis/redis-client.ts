import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ColloquyError } from '../../domain/errors.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** Every command fails after this long, so a slow Redis costs a request at most this. Default 50 ms. */
  readonly timeoutMs?: number;
}

/**
 * Connects to `redis://` / `rediss://` URL, or to a Redis Cluster given as a comma-separated list of node URLs
 * (or one URL with `?cluster=1`). Commands never queue while disconnected: they fail at once and the
 * caller falls back to the database. Reconnects forever, at most a second apart.
 */
export function connectRedis(url: string, options: RedisConnectOptions = {}): RedisClient {
  const urls = url.split(',').map((part) => part.trim()).filter(Boolean);
  const parsed = urls.map((each) => {
    try {
      const u = new URL(each);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('protocol');
      return u;
    } catch {
      throw new ColloquyError('invalid_argument', `Invalid Redis URL "${each}": use redis://host:6379 (rediss:// for TLS), or several node URLs separated by commas for a Redis Cluster.`);
    }
  });
  const cluster = parsed.length > 1 || parsed[0]?.searchParams.get('cluster') === '1';
  const common: RedisOptions = {
    commandTimeout: options.timeoutMs ?? 50,
    connectTimeout: 1_000,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
  };
  if (!cluster) return new Redis(urls[0]!.replace(/[?&]cluster=1/, ''), common);
  const first = parsed[0]!;
  return new Cluster(
    parsed.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      redisOptions: {
        ...common,
        ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
        ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
        ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    },
  );
}
