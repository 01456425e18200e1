import { readFileSync } from 'node:fs';
import { DEFAULT_TOMBSTONE_TTL_MS, DEFAULT_TTL_MS, DELETED_VERSION, type Cache, type CacheOptions } from '../cache.js';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-client.js';

const SCRIPTS = ['mark-1', 'get-1', 'fill-1', 'write-1', 'invalidate-1', 'get-list-1', 'fill-list-1', 'push-list-1'] as const;
const shared = readFileSync(new URL('./scripts/_entry.lua', import.meta.url), 'utf8');

type Scripted = RedisClient & Record<string, (...args: Array<string | number>) => Promise<unknown>>;

export interface RedisCacheOptions extends CacheOptions {
  /** Prefix of the deployment, so that several can share one Redis: keys are `<prefix>cache:…`. Default `colloquy:`. */
  readonly prefix?: string;
}

/**
 * The shared hot tier on Redis (or Redis Cluster: every script touches one key). The rules live in the Lua
 * scripts under ./scripts, so that each check and its change are one atomic step on the server.
 */
export function createRedisCache(client: RedisClient, options: RedisCacheOptions = {}): Cache {
  const prefix = `${options.prefix ?? 'colloquy:'}cache:`;
  // Outside the cached keys, so that clear() leaves other instances' marks alone.
  const marks = `${options.prefix ?? 'colloquy:'}repairing`;
  const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  const tombstoneTtl = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
  for (const name of SCRIPTS) {
    if (name in client) continue; // defined by another cache on the same client
    const body = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    client.defineCommand(name, { numberOfKeys: Number(name.split('-').at(-1)), lua: `${shared}\n${body}` });
  }
  const redis = client as Scripted;
  const call = (name: (typeof SCRIPTS)[number], key: string, ...args: Array<string | number>) => redis[name]!(prefix + key, ...args);

  return {
    kind: 'redis',
    async get(key) {
      const [found, data] = (await call('get-1', key, tombstoneTtl)) as [number, string];
      return found === 1 ? { hit: true, value: data } : { hit: false, lease: Number(data) };
    },
    async fill(key, lease, version, value) {
      return (await call('fill-1', key, lease, version, value, ttl)) === 1;
    },
    async write(key, version, value) {
      return (await call('write-1', key, version, value, ttl, tombstoneTtl)) === 1;
    },
    async invalidate(keys, deleted = false) {
      await Promise.all(keys.map((key) => call('invalidate-1', key, deleted ? DELETED_VERSION : 0, tombstoneTtl).catch(async (error: unknown) => {
        // A Redis at maxmemory refuses scripts that write, but not UNLINK; a missing entry refuses every fill.
        await client.unlink(prefix + key).catch(() => { throw error; });
      })));
    },
    async getList(key, count) {
      // The Buffer form of the script: the page's bytes stay bytes (a hot page read is ~10 KB of UTF-8).
      const [found, version, taken, joined] = (await redis['get-list-1Buffer']!(prefix + key, count, tombstoneTtl)) as [number, Buffer | number, number?, Buffer?];
      const number = (value: Buffer | number) => Number(typeof value === 'number' ? value : value.toString());
      return found === 1 ? { hit: true, version: number(version), count: taken!, joined: joined! } : { hit: false, lease: number(version) };
    },
    async fillList(key, lease, version, items) {
      return (await call('fill-list-1', key, lease, version, ttl, ...items)) === 1;
    },
    async pushList(key, version, item, max) {
      return (await call('push-list-1', key, version, item, max, ttl, tombstoneTtl)) === 1;
    },
    // One sorted set of holders scored by expiry: a crashed holder's mark lapses by itself.
    // Scored by the clock of the node holding the set, so that instances' clocks need not agree.
    async hold(holder, ms) {
      await redis['mark-1']!(marks, holder, ms);
    },
    async release(holder) {
      await client.zrem(marks, holder);
    },
    async held() {
      return Number(await redis['mark-1']!(marks, '', 0)) > 0;
    },
    onUnavailable(listener) {
      client.on('close', () => listener(new Error('the connection to Redis closed')));
      if (client instanceof Cluster) client.on('node error', (error: Error) => listener(error));
    },
    async ping() {
      await client.ping();
    },
    async clear() {
      // Each master of a cluster holds its own share of the keys.
      const nodes = 'nodes' in client ? client.nodes('master') : [client];
      for (const node of nodes) {
        for await (const keys of node.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
          if (keys.length) await Promise.all(keys.map((key) => node.unlink(key)));
        }
      }
    },
    async close() {
      // The client is the caller's: it may also carry rate limits and events.
    },
  };
}
