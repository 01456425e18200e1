import { randomUUID } from 'node:crypto';
import type { Cache } from './cache.js';

/** What the store asks of the cache after a commit. */
export type CacheChange =
  | { op: 'write'; key: string; version: number; value: unknown }
  | { op: 'push'; key: string; version: number; item: unknown }
  | { op: 'invalidate'; keys: string[]; deleted?: boolean };

export interface HotTierStats {
  kind: Cache['kind'];
  /** `degraded`: the cache failed or is slow; every request is served from the database meanwhile. */
  status: 'ok' | 'degraded';
  hits: number;
  misses: number;
  /** Cache operations skipped or failed, each served or written by the database alone. */
  fallbacks: number;
}

export interface HotTier {
  /** Read-through: the cached value, or `load()`'s (then installed unless a change happened meanwhile). */
  read<T>(key: string, load: () => Promise<{ version: number; value: T } | undefined>): Promise<T | undefined>;
  /** Read-through for the newest `count` items of a list; `load` returns up to `PAGE_MAX` newest first. */
  readList<T>(key: string, count: number, load: () => Promise<{ version: number; items: T[] } | undefined>): Promise<T[] | undefined>;
  /**
   * As readList, but a hit answers the items' JSON as the cache holds it — joined by commas, newest first, with
   * the list's version (the newest item's number) and how many — for a reader that sends them on unparsed.
   */
  readListJoined<T>(key: string, count: number, load: () => Promise<{ version: number; items: T[] } | undefined>):
    Promise<{ joined: string | Uint8Array; version: number; count: number } | { items: T[] } | undefined>;
  /** Applies a commit's changes; never throws (a failure degrades the tier and is repaired on recovery). */
  apply(changes: CacheChange[]): Promise<void>;
  /** Removes every entry (after an import wrote around the tier). */
  clear(): Promise<void>;
  stats(): HotTierStats;
  close(): Promise<void>;
}

/** Newest messages kept per conversation: the largest page served from the cache. */
export const PAGE_MAX = 50;
/** A fill whose database read took longer than this is dropped: its lease may have outlived its tombstone. */
const FILL_WINDOW_MS = 10_000;
const PROBE_MS = 250;
/**
 * How long the cache must answer every probe before it is read again. An instance that cannot reach Redis
 * cannot invalidate what it writes; after an outage every other instance reconnects within about 2 s
 * (reconnects at most 1 s apart, 1 s connect timeout) and then invalidates what it changed meanwhile, so
 * reading from Redis only 3 s after recovering never serves what another instance changed while cut off.
 */
const HOLD_DOWN_MS = 3_000;
/** Keys whose changes the cache missed, to invalidate on recovery; beyond this many, recovery clears everything. */
const DIRTY_MAX = 100_000;
/** How long an instance's "repairing" mark lasts unless renewed (each probe renews it while repairing). */
const REPAIR_MARK_MS = 10_000;
const CLEAR_MARK_MS = 60_000;
/** How long a recovered instance waits for others' repairs before it reads the cache regardless. */
const MAX_WAIT_FOR_OTHERS_MS = 30_000;

/**
 * The store's view of a cache: JSON in and out, statistics, and the failure rules. Any cache error or timeout
 * marks the tier degraded: reads and fills skip the cache, and the keys of every change made meanwhile are
 * remembered (and invalidated at once where the cache still takes commands). A probe pings the cache; once it
 * answers, those keys are invalidated, and the cache is read again only after it has answered for the whole
 * hold-down, so that neither this instance's changes nor those of instances reconnecting after it are hidden
 * by entries older than them.
 */
export function createHotTier(
  cache: Cache,
  log: (message: string, error?: unknown) => void = () => {},
  timing: { probeMs?: number; holdDownMs?: number } = {},
): HotTier {
  const probeMs = timing.probeMs ?? PROBE_MS;
  const holdDownMs = timing.holdDownMs ?? HOLD_DOWN_MS;
  let degraded = false;
  let closed = false;
  let probe: NodeJS.Timeout | undefined;
  /** Keys changed while the cache failed, each with the number of its latest change (repair forgets only that one). */
  const dirty = new Map<string, number>();
  let changes = 0;
  let overflow = false;
  /** Counts failures: a recovery that saw one happen while it ran starts over. */
  let failures = 0;
  const instance = randomUUID();
  const stats = { hits: 0, misses: 0, fallbacks: 0 };

  const remember = (change: CacheChange) => {
    for (const key of change.op === 'invalidate' ? change.keys : [change.key]) {
      if (dirty.size < DIRTY_MAX || dirty.has(key)) dirty.set(key, ++changes);
      else overflow = true;
    }
  };
  const forget = (batch: Array<[string, number]>) => {
    for (const [key, change] of batch) if (dirty.get(key) === change) dirty.delete(key);
  };
  const fail = (error: unknown) => {
    stats.fallbacks++;
    failures++;
    if (degraded || closed) return;
    degraded = true;
    log('cache unavailable: serving from the database until it answers again', error);
    probe = setInterval(() => void recover(), probeMs);
    probe.unref();
  };
  let recovering = false;
  let answeringSince: number | undefined;
  /** Invalidates what this instance changed meanwhile as soon as the cache answers; keys leave `dirty` only once done. */
  const repair = async () => {
    if (overflow) {
      const covered = [...dirty];
      overflow = false; // an overflow during the clear sets it again
      try {
        await cache.clear();
      } catch (error) {
        overflow = true;
        throw error;
      }
      forget(covered); // cleared with everything else; keys changed since stay
    }
    // Changes made while this runs land in `dirty` again; loop until none is left.
    for (let round = 1; dirty.size; round++) {
      const batch = [...dirty].slice(0, 500);
      await cache.invalidate(batch.map(([key]) => key));
      forget(batch);
      if (round % 20 === 0) await cache.hold(instance, REPAIR_MARK_MS); // a long repair keeps its mark
    }
  };
  const recover = async () => {
    if (recovering || closed) return;
    recovering = true;
    const failuresBefore = failures;
    try {
      await cache.ping();
      answeringSince ??= performance.now();
      // Other instances wait while this one repairs: the mark outlives a crash by a few seconds only (a clear,
      // which may scan a large keyspace, gets longer).
      if (dirty.size || overflow) await cache.hold(instance, overflow ? CLEAR_MARK_MS : REPAIR_MARK_MS);
      await repair();
      await cache.release(instance);
      const othersRepairing = await cache.held();
      // Read again only if nothing failed meanwhile, after the hold-down (other instances cut off meanwhile have
      // reconnected), and once no instance is still repairing — but not forever for one whose repair keeps failing.
      if (failures !== failuresBefore) {
        answeringSince = undefined;
        return;
      }
      const answering = performance.now() - answeringSince;
      if (overflow || dirty.size || answering < holdDownMs) return;
      if (othersRepairing) {
        if (answering < holdDownMs + MAX_WAIT_FOR_OTHERS_MS) return;
        log('cache: another instance has been repairing for too long; reading the cache again anyway');
      }
      degraded = false;
      clearInterval(probe);
      log('cache answers again: the hot tier is back');
    } catch {
      answeringSince = undefined; // still failing: the next probe retries, with every key not yet invalidated
    } finally {
      recovering = false;
    }
  };

  const fillLater = (started: number, fill: () => Promise<boolean>) => {
    if (degraded || performance.now() - started > FILL_WINDOW_MS) return;
    fill().catch(fail);
  };

  // A lost connection degrades the tier even without traffic: writes another instance makes meanwhile may
  // have missed the cache, and this instance must not read it again before the hold-down.
  cache.onUnavailable((error) => fail(error));

  const readListJoined: HotTier['readListJoined'] = async (key, count, load) => {
    const page = <T>(loaded: { items: T[] } | undefined) => loaded && { items: loaded.items.slice(0, count) };
    if (degraded) {
      stats.fallbacks++;
      return page(await load());
    }
    const started = performance.now();
    let lease: number;
    try {
      const found = await cache.getList(key, count);
      if (found.hit) {
        stats.hits++;
        return { joined: found.joined, version: found.version, count: found.count };
      }
      lease = found.lease;
    } catch (error) {
      fail(error);
      return page(await load());
    }
    stats.misses++;
    const loaded = await load();
    if (loaded) fillLater(started, () => cache.fillList(key, lease, loaded.version, loaded.items.map((item) => JSON.stringify(item))));
    return page(loaded);
  };

  return {
    async read(key, load) {
      if (degraded) {
        stats.fallbacks++;
        return (await load())?.value;
      }
      const started = performance.now();
      let lease: number;
      try {
        const found = await cache.get(key);
        if (found.hit) {
          stats.hits++;
          return JSON.parse(found.value);
        }
        lease = found.lease;
      } catch (error) {
        fail(error);
        return (await load())?.value;
      }
      stats.misses++;
      const loaded = await load();
      if (loaded) fillLater(started, () => cache.fill(key, lease, loaded.version, JSON.stringify(loaded.value)));
      return loaded?.value;
    },

    async readList(key, count, load) {
      const found = await readListJoined(key, count, load);
      return found && ('joined' in found ? JSON.parse(`[${found.joined}]`) : found.items);
    },

    readListJoined,



    async apply(changes) {
      if (degraded) {
        // Still try to invalidate (bounded by the cache's timeout): a cache that is only slow executes it
        // before anything sent later, so another instance that recovers first cannot read the old entry.
        stats.fallbacks += changes.length;
        changes.forEach(remember);
        await cache.invalidate(changes.flatMap((change) => (change.op === 'invalidate' ? change.keys : [change.key]))).catch(() => {});
        return;
      }
      const results = await Promise.allSettled(changes.map((change) => {
        if (change.op === 'write') return cache.write(change.key, change.version, JSON.stringify(change.value));
        if (change.op === 'push') return cache.pushList(change.key, change.version, JSON.stringify(change.item), PAGE_MAX);
        return cache.invalidate(change.keys, change.deleted);
      }));
      results.forEach((result, index) => {
        if (result.status === 'fulfilled') return;
        remember(changes[index]!);
        fail(result.reason);
      });
    },

    async clear() {
      try {
        await cache.clear();
      } catch (error) {
        overflow = true; // recovery clears everything
        fail(error);
      }
    },

    stats: () => ({ kind: cache.kind, status: degraded ? 'degraded' : 'ok', ...stats }),

    async close() {
      closed = true;
      clearInterval(probe);
      await cache.close();
    },
  };
}
