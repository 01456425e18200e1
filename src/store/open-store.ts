import { randomBytes } from 'node:crypto';
import { eventIdCodec } from './event-ids.js';
import { createEventTails } from './event-tail.js';
import type { Backend, MigrationReport } from '../backends/backend.js';
import { openBackend } from '../backends/registry.js';
import { createHotTier, type HotTier } from '../cache/hot-tier.js';
import { createMemoryCache } from '../cache/memory-cache.js';
import { ColloquyError } from '../domain/errors.js';
import type { EventBus } from '../events/bus.js';
import { ChangeSignal } from '../events/change-signal.js';
import { assertTenant } from './scope.js';
import { isPlain, openSecretBox, secretContext } from './secret-box.js';
import { createStore, type Store } from './store.js';
import type { PriceTable } from '../domain/usage.js';

export interface StoreConfig {
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://user:pass@host:port/db`. */
  readonly url: string;
  /** Tenant of the returned store; `store.tenant(id)` gives others. Default `default`. */
  readonly tenant?: string;
  /** Apply pending migrations on open. Default true; with false, a database this code cannot run on is an error. */
  readonly migrate?: boolean;
  /** SQLite: create the file (and its directory) when missing. Default true; false fails with `unavailable` (reason `database_missing`). */
  readonly create?: boolean;
  /** SQLite: 'normal' (default, survives a process crash) or 'full' (also survives power loss). */
  readonly durability?: 'normal' | 'full';
  /** PostgreSQL: schema for Colloquy's tables (created if missing); also accepted as `?schema=` in the URL. */
  readonly schema?: string;
  /** PostgreSQL: connection pool size. Default 10. */
  readonly poolSize?: number;
  /** Time source in epoch ms, for tests. Default Date.now. */
  readonly clock?: () => number;
  /**
   * Encrypts channel secrets at rest (AES-256-GCM) when set: at least 32 characters. A database whose secrets
   * were sealed with another key is refused. `colloquy serve` reads it from COLLOQUY_SECRET_KEY.
   */
  readonly secretKey?: string | undefined;
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
  /** Model prices for the cost of usage appended without one (`COLLOQUY_PRICES` for the server). */
  readonly prices?: PriceTable | undefined;
  /** Days a deleted conversation stays in the trash, restorable, before it is erased (COLLOQUY_TRASH_DAYS). Default 7; 0: deleting erases at once. */
  readonly trashDays?: number | undefined;
  /**
   * Let outgoing webhooks target loopback, private and link-local addresses (receivers on the server's own network).
   * Default false: such URLs are refused (`COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1` for the server).
   */
  readonly allowPrivateWebhooks?: boolean | undefined;
  /** Told when the hot tier degrades or recovers, and of risky settings. */
  readonly log?: ((message: string, error?: unknown) => void) | undefined;
}

const backendOf = (config: StoreConfig): Promise<Backend> =>
  openBackend(config.url, { durability: config.durability, schema: config.schema, poolSize: config.poolSize, mustExist: config.create === false });

/** Opens a store: connects, migrates (unless `migrate: false`) and returns the API for `config.tenant`. */
export async function openStore(config: StoreConfig): Promise<Store> {
  assertTenant(config.tenant ?? 'default');
  const ttlMs = (config.cacheTtlSeconds ?? 86_400) * 1000;
  if (config.trashDays !== undefined && !(Number.isInteger(config.trashDays) && config.trashDays >= 0 && config.trashDays <= 3650)) {
    throw new ColloquyError('invalid_argument', `Invalid trash retention "${config.trashDays}": a whole number of days, 0–3650 (0: deleting erases at once).`);
  }
  if (!Number.isFinite(ttlMs) || ttlMs < 1000) {
    throw new ColloquyError('invalid_argument', `Invalid cache TTL "${config.cacheTtlSeconds}": a number of seconds, at least 1.`);
  }
  const backend = await backendOf(config);
  const closing: Array<() => Promise<void>> = [() => backend.admin.close()];
  const closeAll = async () => {
    for (const close of closing.reverse()) await close().catch(() => {});
  };
  try {
    const migrated = config.migrate !== false ? await backend.admin.migrate() : undefined;
    if (!migrated) await backend.admin.checkSchema();
    // With migrate: false the database is opened as it is: nothing is written on open.
    const setUp = config.migrate !== false;
    const box = await openSecretBox(config.secretKey, backend.admin, { setUp, log: config.log ?? (() => {}) });
    // Secrets set before the key was: sealed now, so that nothing stays in the clear once a key is set.
    if (box.encrypting && setUp) {
      await backend.admin.resealSecrets((tenant, channelId, sealed) => Object.fromEntries(Object.entries(sealed).map(([name, value]) => {
        const context = secretContext(tenant, channelId, name);
        return [name, isPlain(value) ? box.seal(box.open(value, context), context) : value];
      })));
    }
    const fleet = await openFleet(config, backend, ttlMs);
    closing.push(fleet.close);
    // Handles respelled on open merged contacts around the fleet's hot tier: it may hold them as they were.
    if (migrated?.handles?.merged) await fleet.hot?.clear();
    const signal = new ChangeSignal(fleet.bus);
    const eventIds = eventIdCodec(async () => Buffer.from(await backend.admin.initSetting('secret:event-ids', randomBytes(32).toString('hex')), 'hex'), backend.dialect);
    return createStore({
      backend, clock: config.clock ?? Date.now, signal, hot: fleet.hot, box,
      channelKinds: new Map(), conversationKinds: new Map(), outboxListeners: new Set(), inboundListeners: new Set(), prices: config.prices, allowPrivateWebhooks: config.allowPrivateWebhooks ?? false, trashDays: config.trashDays ?? 7, onClose: fleet.close, eventIds, tails: createEventTails(backend, signal, eventIds),
    }, config.tenant ?? 'default');
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The hot tier and the event bus: both on Redis when configured; otherwise an optional LRU, and the backend's
 * own cross-process wake-ups where several processes may write (PostgreSQL LISTEN/NOTIFY).
 */
async function openFleet(config: StoreConfig, backend: Backend, ttlMs: number): Promise<{ hot?: HotTier; bus?: EventBus; close(): Promise<void> }> {
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
  const { multiProcess, eventBus } = backend.capabilities;
  if (config.cache === 'memory' && multiProcess) {
    log('an in-process cache is correct only while this process is the database\'s only writer: with several instances, use Redis');
  }
  const hot = config.cache === 'memory' ? createHotTier(createMemoryCache({ ttlMs }), log) : undefined;
  const bus = multiProcess ? eventBus?.() : undefined;
  return { ...(hot ? { hot } : {}), ...(bus ? { bus } : {}), close: async () => bus?.close() };
}

/** Applies pending migrations and closes; returns the names applied. The CLI's `colloquy migrate`. */
export async function migrate(config: StoreConfig): Promise<MigrationReport> {
  const backend = await backendOf(config);
  try {
    return await backend.admin.migrate();
  } finally {
    await backend.admin.close();
  }
}
