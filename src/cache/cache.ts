/**
 * The hot tier's contract: versioned entries and newest-first lists of strings, never a source of truth.
 *
 * Every change leaves the entry either holding the committed value or a tombstone. A tombstone carries a
 * generation that changes with every invalidation: a reader that missed gets the generation as its lease and may
 * fill the entry only if no invalidation happened since (the lease still matches). With the version check
 * (an entry never goes back to an older version) a slow reader or a slow writer can never put back stale data.
 *
 * Keys name one record each; keys sharing a `{hash tag}` land on one Redis Cluster slot.
 */
export interface Cache {
  readonly kind: 'memory' | 'redis';

  /** The value at `key`, or a miss with the lease that `fill` needs (a miss on nothing leaves a tombstone to lease). */
  get(key: string): Promise<Lookup>;
  /**
   * Read-through after a miss: installs `value` read from the database at `version`, only if nothing was
   * invalidated since the lease was handed out and no newer version is present. Returns whether it installed.
   */
  fill(key: string, lease: number, version: number, value: string): Promise<boolean>;
  /**
   * After a commit: replaces a present older value by the committed one. Over a tombstone or nothing it installs
   * nothing (a later commit may have left the tombstone, or one that was lost) but leaves a new tombstone,
   * voiding the leases of readers in flight. Returns whether it installed.
   */
  write(key: string, version: number, value: string): Promise<boolean>;
  /** After a commit: leaves tombstones (voiding leases); `deleted` ones refuse every fill until they expire. */
  invalidate(keys: readonly string[], deleted?: boolean): Promise<void>;

  /**
   * The newest `count` items of a list with its version, or a miss with a lease. The items come joined by
   * commas, newest first: one text (for JSON items, `[${joined}]` parses them all at once) — a string, or the
   * reply's UTF-8 bytes as they came (a shared cache), so that a reader who sends them on never decodes them.
   */
  getList(key: string, count: number): Promise<ListLookup>;
  /** Read-through for lists, as `fill`: `items` newest first. */
  fillList(key: string, lease: number, version: number, items: readonly string[]): Promise<boolean>;
  /**
   * After a commit that added item number `version`: prepends it if the list holds exactly up to `version - 1`,
   * keeping the newest `max`; otherwise leaves a tombstone. Returns whether it prepended.
   */
  pushList(key: string, version: number, item: string, max: number): Promise<boolean>;

  /**
   * Marks `holder` as repairing the cache for `ms` (renewed by calling again); `held()` tells whether any
   * holder's mark is live. A recovering instance waits for other instances' repairs before reading again.
   */
  hold(holder: string, ms: number): Promise<void>;
  release(holder: string): Promise<void>;
  held(): Promise<boolean>;
  /** Calls `listener` whenever the connection to a shared cache is lost (never, for an in-process one). */
  onUnavailable(listener: (error: Error) => void): void;
  /** One round trip; throws when the cache does not answer. */
  ping(): Promise<void>;
  /** Removes every entry (tests, and recovery when the changes missed during an outage are too many to list). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export type Lookup = { hit: true; value: string } | { hit: false; lease: number };
export type ListLookup = { hit: true; version: number; count: number; joined: string | Uint8Array } | { hit: false; lease: number };

export interface CacheOptions {
  /** Values expire this long after their last write or fill. Default 24 h. */
  readonly ttlMs?: number;
  /**
   * Tombstones expire after this long. Safe at any length (a fill over nothing is refused), but a reader can
   * fill only while its lease's tombstone lives: keep it above the hot tier's 10 s fill window. Short, so
   * that misses on absent records (404s) hold little memory. Default 30 s.
   */
  readonly tombstoneTtlMs?: number;
}

export const DEFAULT_TTL_MS = 86_400_000;
export const DEFAULT_TOMBSTONE_TTL_MS = 30_000;
/** Version of a deleted record's tombstone: above any real version, so nothing fills it. */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;
