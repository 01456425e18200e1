import { LRUCache } from 'lru-cache';
import { DEFAULT_TOMBSTONE_TTL_MS, DEFAULT_TTL_MS, DELETED_VERSION, type Cache, type CacheOptions } from './cache.js';

export interface MemoryCacheOptions extends CacheOptions {
  /** At most this many entries (tombstones included). Default 100,000. */
  readonly maxEntries?: number;
  /** At most about this many bytes of keys and values. Default 64 MiB. */
  readonly maxBytes?: number;
}

/** A value, a list (`items`) or, with neither, a tombstone. Frozen: entries are replaced, never changed. */
interface Entry {
  readonly version: number;
  readonly gen: number;
  readonly value?: string;
  readonly items?: readonly string[];
}

/**
 * The in-process hot tier: an LRU bounded by entries and bytes, with the same lease and version rules as Redis.
 * Only correct while this process is the database's only writer (one `colloquy serve`, no fleet).
 */
export function createMemoryCache(options: MemoryCacheOptions = {}): Cache {
  const ttl = options.ttlMs ?? DEFAULT_TTL_MS;
  const tombstoneTtl = options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  // UTF-16 code units ≈ bytes for the ASCII-heavy JSON cached here; plus a fixed cost per entry.
  const sizeOf = (entry: Entry, key: string) => key.length + 64 + (entry.value?.length ?? 0) + (entry.items?.reduce((sum, item) => sum + item.length + 16, 0) ?? 0);
  const lru = new LRUCache<string, Entry>({ max: options.maxEntries ?? 100_000, maxSize: maxBytes, sizeCalculation: sizeOf });
  /** Installs a value unless it is too big to cache (lru-cache would then drop the key, tombstone included). */
  const install = (key: string, entry: Entry): boolean => {
    if (sizeOf(entry, key) > maxBytes / 16) return false;
    lru.set(key, entry, { ttl });
    return true;
  };
  let lastGen = 0;
  const nextGen = () => ++lastGen;
  const live = (entry: Entry | undefined) => entry !== undefined && (entry.value !== undefined || entry.items !== undefined);
  const tombstone = (key: string, present: Entry | undefined, version: number) => {
    lru.set(key, { version: Math.max(version, present?.version ?? 0), gen: nextGen() }, { ttl: tombstoneTtl });
  };
  /** The rule shared by `fill` and `fillList`: see the Cache contract. */
  const fillable = (present: Entry | undefined, lease: number, version: number) => {
    if (live(present)) return present!.version < version;
    if (present) return present.gen === lease && present.version <= version;
    return false; // its tombstone was lost (evicted): the reader must miss again
  };
  /** A miss leases the tombstone present, or one left now. */
  const leaseOf = (key: string, entry: Entry | undefined): number => {
    if (entry) return entry.gen;
    tombstone(key, entry, 0);
    return lru.peek(key)!.gen;
  };

  return {
    kind: 'memory',
    async get(key) {
      const entry = lru.get(key);
      if (entry?.value !== undefined) return { hit: true, value: entry.value };
      return { hit: false, lease: leaseOf(key, entry) };
    },
    async fill(key, lease, version, value) {
      const present = lru.peek(key);
      if (!fillable(present, lease, version)) return false;
      return install(key, { version, gen: present!.gen, value });
    },
    async write(key, version, value) {
      const present = lru.peek(key);
      if (live(present) && present!.version >= version) return false;
      if (live(present) && install(key, { version, gen: present!.gen, value })) return true;
      tombstone(key, present, 0);
      return false;
    },
    async invalidate(keys, deleted = false) {
      for (const key of keys) tombstone(key, lru.peek(key), deleted ? DELETED_VERSION : 0);
    },
    async getList(key, count) {
      const entry = lru.get(key);
      if (entry?.items) {
        const items = entry.items.slice(0, count);
        return { hit: true, version: entry.version, count: items.length, joined: items.join(',') };
      }
      return { hit: false, lease: leaseOf(key, entry) };
    },
    async fillList(key, lease, version, items) {
      const present = lru.peek(key);
      if (!fillable(present, lease, version)) return false;
      return install(key, { version, gen: present!.gen, items: Object.freeze([...items]) });
    },
    async pushList(key, version, item, max) {
      const present = lru.peek(key);
      if (present?.items && present.version === version - 1
        && install(key, { version, gen: present.gen, items: Object.freeze([item, ...present.items.slice(0, max - 1)]) })) return true;
      tombstone(key, present, 0);
      return false;
    },
    // One process: nobody else repairs.
    async hold() {},
    async release() {},
    async held() {
      return false;
    },
    onUnavailable() {},
    async ping() {},
    async clear() {
      lru.clear();
    },
    async close() {
      lru.clear();
    },
  };
}
