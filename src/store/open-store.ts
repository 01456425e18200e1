import type { Backend } from '../backends/backend.js';
import { createHotTier, type HotTier } from '../cache/hot-tier.js';
import { createMemoryCache } from '../cache/memory-cache.js';
import { ColloquyError } from '../domain/errors.js';
import type { EventBus } from '../events/bus.js';
import { ChangeSignal } from '../events/change-signal.js';
import { assertTenant, createStore, type Store } from './store.js';

export interface StoreConfig {
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://user:pass@host:port/db`. */
  readonly url: string;
  /** Tenant of the returned store; `store.tenant(id)` gives others. Default `default`. */
  readonly tenant?: string;
  /** Apply pending migrations on open. Default true; with false, a database not exactly at this code's schema is an error. */
  readonly migrate?: boolean;
  /** SQLite: 'normal' (default, survives a process crash) or 'full' (also survives power loss). */
  readonly durability?: 'normal' | 'full';
  /** PostgreSQL: schema for Colloquy's tables (created if missing); also accepted as `?schema=` in the URL. */
  readonly schema?: string;
  /** PostgreSQL: connection pool size. Default 10. */
  readonly poolSize?: number;
  /** Time source in epoch ms, for tests. Default Date.now. */
  readonly clock?: () => number;
  /**
   * Redis for the hot tier and for live events between instances: `redis://host:6379`, `rediss://…`, or a Redis
   * Cluster as comma-separated node URLs. A fleet of servers on one database shares one Redis.
   */
  readonly redis?: string | undefined;
  /** Prefix of every Redis key and channel, so that deployments can share a Redis. Default `colloquy:`. */
  readonly redisPrefix?: string | undefined;
  /**
   * Without Redis: `memory` for an in-process LRU, correct only while this process is the database's only
   * writer (one server, no fleet, no other process writing); `none` (default) reads the database every time.
   */
  readonly cache?: 'memory' | 'none' | undefined;
  /** Cached records expire this long after their last change or fill. Default 86400 (24 h). */
  readonly cacheTtlSeconds?: number | undefined;
  /** Told when the hot tier degrades or recovers. */
  readonly log?: ((message: string, error?: unknown) => void) | undefined;
}

/** Opens the backend named by `config.url`. Drivers load lazily: PostgreSQL users never load better-sqlite3. */
export async function openBackend(config: StoreConfig): Promise<Backend> {
  const url = config.url;
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw new ColloquyError('invalid_argument', 'The SQLite URL has no path: use sqlite:./data/colloquy.db or sqlite::memory:.');
    const { createSqliteBackend } = await import('../backends/sqlite/sqlite-backend.js');
    return createSqliteBackend({ path, ...(config.durability ? { durability: config.durability } : {}) });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // `?schema=name` in the URL is the same as the `schema` option (handy for the CLI and COLLOQUY_DB_URL).
    const parsed = new URL(url);
    const schema = config.schema ?? parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    const { createPostgresBackend } = await import('../backends/postgres/postgres-backend.js');
    return createPostgresBackend({
      url: parsed.toString(), ...(schema ? { schema } : {}), ...(config.poolSize ? { poolSize: config.poolSize } : {}),
    });
  }
  throw new ColloquyError('invalid_argument', `Unsupported database URL "${url.split(':')[0]}:…": use sqlite:<path>, sqlite::memory: or postgres://…`);
}

/** Opens a store: connects, migrates (unless `migrate: false`) and returns the API for `config.tenant`. */
export async function openStore(config: StoreConfig): Promise<Store> {
  assertTenant(config.tenant ?? 'default');
  const backend = await openBackend(config);
  try {
    if (config.migrate !== false) await backend.migrate();
    else await backend.checkSchema();
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  let fleet: { hot?: HotTier; bus?: EventBus; close(): Promise<void> };
  try {
    fleet = await openFleet(config);
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  return createStore(backend, config.tenant ?? 'default', {
    clock: config.clock ?? Date.now, signal: new ChangeSignal(fleet.bus), hot: fleet.hot, onClose: fleet.close,
  });
}

/**
 * The hot tier and the event bus: both on Redis when configured; otherwise an optional LRU, and PostgreSQL
 * LISTEN/NOTIFY so that the live events of several instances on one database still reach each other.
 */
async function openFleet(config: StoreConfig): Promise<{ hot?: HotTier; bus?: EventBus; close(): Promise<void> }> {
  const ttlMs = (config.cacheTtlSeconds ?? 86_400) * 1000;
  if (!Number.isFinite(ttlMs) || ttlMs < 1000) {
    throw new ColloquyError('invalid_argument', `Invalid cache TTL "${config.cacheTtlSeconds}": a number of seconds, at least 1.`);
  }
  const log = config.log ?? (() => {});
  if (config.redis) {
    const { connectRedis } = await import('../cache/redis/redis-client.js');
    const { createRedisCache } = await import('../cache/redis/redis-cache.js');
    const { createRedisBus } = await import('../events/redis-bus.js');
    const client = connectRedis(config.redis);
    client.on('error', () => {}); // each failed command is handled where it fails; ioredis reconnects by itself
    const prefix = config.redisPrefix ?? 'colloquy:';
    const bus = createRedisBus(client, prefix);
    return {
      hot: createHotTier(createRedisCache(client, { prefix, ttlMs }), log),
      bus,
      async close() {
        await bus.close();
        client.disconnect();
      },
    };
  }
  const hot = config.cache === 'memory' ? createHotTier(createMemoryCache({ ttlMs }), log) : undefined;
  if (config.url.startsWith('sqlite:')) return { ...(hot ? { hot } : {}), close: async () => {} };
  const { createPostgresBus } = await import('../events/postgres-bus.js');
  const url = new URL(config.url);
  url.searchParams.delete('schema');
  const bus = createPostgresBus(url.toString());
  return { ...(hot ? { hot } : {}), bus, close: () => bus.close() };
}

/** Applies pending migrations and closes; returns the names applied. The CLI's `colloquy migrate`. */
export async function migrate(config: StoreConfig): Promise<{ applied: string[]; current: string | null }> {
  const backend = await openBackend(config);
  try {
    return await backend.migrate();
  } finally {
    await backend.close();
  }
}
