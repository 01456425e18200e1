import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache, CacheOptions, ListLookup } from '../../src/cache/cache.js';

export interface CacheTarget {
  open(options: CacheOptions): Promise<Cache>;
  cleanup(): Promise<void>;
}

/**
 * What every hot-tier cache must do, written once. `setup` answers undefined when the cache's service is
 * unreachable (and not required), which skips the suite.
 */
/** A list lookup with its items as text, whichever form (string or the reply's UTF-8 bytes) the cache gives them in. */
const asText = (lookup: ListLookup): ListLookup => (lookup.hit ? { ...lookup, joined: Buffer.from(lookup.joined).toString('utf8') } : lookup);

export function cacheConformance(name: string, setup: () => Promise<CacheTarget | undefined>): void {
  describe(`cache conformance: ${name}`, () => {
    let target: CacheTarget | undefined;
    let cache: Cache;
    let n = 0;
    // Keys carry a hash tag, as the store's do, so that every case also holds on a Redis Cluster.
    const key = (what = 'c') => `t:{${name}-${process.pid}-${++n}}:${what}`;

    beforeAll(async () => {
      target = await setup();
      if (target) cache = await target.open({ ttlMs: 60_000, tombstoneTtlMs: 60_000 });
    });
    afterAll(async () => {
      await cache?.close();
      await target?.cleanup();
    });
    const leaseOf = (lookup: { hit: boolean; lease?: number }) => {
      expect(lookup.hit).toBe(false);
      return lookup.lease!;
    };
    /** A reader's miss and fill, as the store does it. */
    const missAndFill = async (k: string, version: number, value: string) => cache.fill(k, leaseOf(await cache.get(k)), version, value);
    const missAndFillList = async (l: string, version: number, items: string[]) => cache.fillList(l, leaseOf(await cache.getList(l, 50)), version, items);
    const run = (title: string, body: () => Promise<void>) =>
      it(title, async (context) => {
        if (!target) return context.skip('service unreachable');
        await body();
      });

    run('a miss hands out a lease; filling with it makes a hit; a made-up lease fills nothing', async () => {
      const k = key();
      const lease = leaseOf(await cache.get(k));
      expect(leaseOf(await cache.get(k))).toBe(lease); // the same until something changes
      expect(await cache.fill(k, lease + 1, 3, 'forged')).toBe(false);
      expect(await cache.fill(k, 0, 3, 'forged')).toBe(false);
      expect(await cache.fill(k, lease, 3, 'v3')).toBe(true);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v3' });
    });

    run('a fill whose lease outlived its tombstone (expired, evicted, cleared) is refused', async () => {
      const k = key();
      const lease = leaseOf(await cache.get(k));
      await cache.clear(); // the tombstone is gone, as after an eviction or a restart
      expect(await cache.fill(k, lease, 1, 'read before a change nobody recorded')).toBe(false);
      const l = key('p');
      const listLease = leaseOf(await cache.getList(l, 5));
      await cache.clear();
      expect(await cache.fillList(l, listLease, 0, [])).toBe(false);
    });

    run('a fill never replaces a value by an older or equal version, and replaces an older one', async () => {
      const k = key();
      const lease = leaseOf(await cache.get(k));
      await cache.fill(k, lease, 5, 'v5');
      expect(await cache.fill(k, lease, 4, 'v4')).toBe(false);
      expect(await cache.fill(k, lease, 5, 'other')).toBe(false);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v5' });
      expect(await cache.fill(k, lease, 6, 'v6')).toBe(true);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v6' });
    });

    run('a write installs the committed value over an older value, never over nothing or an older one over a newer', async () => {
      const k = key();
      const lease = leaseOf(await cache.get(k));
      expect(await cache.write(k, 1, 'v1')).toBe(false); // nothing cached: only a tombstone, voiding the lease
      expect(await cache.fill(k, lease, 1, 'v1')).toBe(false);
      await missAndFill(k, 1, 'v1');
      expect(await cache.write(k, 2, 'v2')).toBe(true);
      expect(await cache.write(k, 1, 'v1')).toBe(false);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v2' });
      expect(await cache.write(k, 3, 'v3')).toBe(true);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v3' });
    });

    run('an invalidation between a miss and its fill makes the slow reader\'s fill refused', async () => {
      const k = key();
      const miss = await cache.get(k);
      expect(miss.hit).toBe(false);
      await cache.invalidate([k]); // a writer committed while the reader was reading the database
      expect(await cache.fill(k, (miss as { lease: number }).lease, 1, 'read before the commit')).toBe(false);
      const after = await cache.get(k);
      expect(after.hit).toBe(false);
      expect((after as { lease: number }).lease).not.toBe(0);
      // A reader that missed after the invalidation holds the current lease and may fill.
      expect(await cache.fill(k, (after as { lease: number }).lease, 1, 'read after the commit')).toBe(true);
      expect(await cache.get(k)).toEqual({ hit: true, value: 'read after the commit' });
    });

    run('every invalidation hands out a new lease, also of a value or a list', async () => {
      const k = key();
      await missAndFill(k, 1, 'v1');
      await cache.invalidate([k]);
      const first = (await cache.get(k)) as { lease: number };
      await cache.invalidate([k]);
      const second = (await cache.get(k)) as { lease: number };
      expect(second.lease).not.toBe(first.lease);
      expect(await cache.fill(k, first.lease, 2, 'stale lease')).toBe(false);
      const l = key('p');
      await missAndFillList(l, 1, ['m1']);
      await cache.invalidate([l]);
      expect((await cache.getList(l, 5)).hit).toBe(false);
    });

    run('a write over a tombstone installs nothing and voids the leases of readers in flight', async () => {
      const k = key();
      await cache.invalidate([k]);
      const miss = (await cache.get(k)) as { lease: number };
      expect(await cache.write(k, 9, 'v9')).toBe(false);
      expect((await cache.get(k)).hit).toBe(false);
      expect(await cache.fill(k, miss.lease, 8, 'v8 read earlier')).toBe(false);
    });

    run('the tombstone of a deleted record refuses every fill, whatever the lease or version', async () => {
      const k = key();
      await missAndFill(k, 1, 'v1');
      await cache.invalidate([k], true);
      const miss = (await cache.get(k)) as { lease: number };
      expect(await cache.fill(k, miss.lease, 1_000_000, 'resurrected')).toBe(false);
      await cache.invalidate([k]); // a later plain invalidation keeps it deleted
      const again = (await cache.get(k)) as { lease: number };
      expect(await cache.fill(k, again.lease, 1_000_000, 'resurrected')).toBe(false);
    });

    run('concurrent writes of versions 1..50 in shuffled order leave version 50', async () => {
      const k = key();
      await missAndFill(k, 0, 'v0');
      const versions = Array.from({ length: 50 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      await Promise.all(versions.map((v) => cache.write(k, v, `v${v}`)));
      expect(await cache.get(k)).toEqual({ hit: true, value: 'v50' });
    });

    run('lists: fill, read the newest items, push in order, trim to the maximum', async () => {
      const l = key('p');
      expect(await missAndFillList(l, 3, ['m3', 'm2', 'm1'])).toBe(true);
      expect(asText(await cache.getList(l, 2))).toEqual({ hit: true, version: 3, count: 2, joined: 'm3,m2' });
      expect(asText(await cache.getList(l, 20))).toEqual({ hit: true, version: 3, count: 3, joined: 'm3,m2,m1' });
      expect(await cache.pushList(l, 4, 'm4', 4)).toBe(true);
      expect(await cache.pushList(l, 5, 'm5', 4)).toBe(true);
      expect(asText(await cache.getList(l, 20))).toEqual({ hit: true, version: 5, count: 4, joined: 'm5,m4,m3,m2' });
    });

    run('lists: an empty list at version 0 takes item 1; items hold any text', async () => {
      const l = key('p');
      expect(await missAndFillList(l, 0, [])).toBe(true);
      expect(asText(await cache.getList(l, 5))).toEqual({ hit: true, version: 0, count: 0, joined: '' });
      const text = '{"content":"comma, ] bracket \\" quote, emoji 😀, NUL-free"}';
      expect(await cache.pushList(l, 1, text, 50)).toBe(true);
      expect(asText(await cache.getList(l, 5))).toEqual({ hit: true, version: 1, count: 1, joined: text });
    });

    run('lists: a push out of order (a gap) or onto nothing leaves a tombstone, never a wrong list', async () => {
      const l = key('p');
      await missAndFillList(l, 2, ['m2', 'm1']);
      expect(await cache.pushList(l, 4, 'm4', 50)).toBe(false); // item 3 has not arrived here
      expect(await cache.pushList(l, 3, 'm3', 50)).toBe(false); // and the list is gone now
      const miss = await cache.getList(l, 5);
      expect(miss.hit).toBe(false);
      const fresh = key('p');
      expect(await cache.pushList(fresh, 1, 'm1', 50)).toBe(false);
      const lease = (await cache.getList(fresh, 5)) as { hit: false; lease: number };
      expect(await cache.fillList(fresh, lease.lease - 1, 0, [])).toBe(false); // a reader that missed before the push
      expect(await cache.fillList(fresh, lease.lease, 1, ['m1'])).toBe(true);
    });

    run('lists: a slow reader cannot fill over a push that happened meanwhile', async () => {
      const l = key('p');
      const miss = (await cache.getList(l, 5)) as { lease: number };
      await cache.pushList(l, 1, 'm1', 50);
      expect(await cache.fillList(l, miss.lease, 0, [])).toBe(false);
      await missAndFillList(l, 1, ['m1']);
      expect(await cache.fillList(l, leaseOf(await cache.getList(key('p'), 5)), 0, [])).toBe(false);
      const present = (await cache.getList(l, 5)) as { version: number };
      expect(present.version).toBe(1); // a list is never replaced by an older one
    });

    run('values and lists expire after the TTL; tombstones after theirs', async () => {
      const short = await target!.open({ ttlMs: 150, tombstoneTtlMs: 150 });
      try {
        const k = key();
        const l = key('p');
        const dead = key();
        await short.fill(k, leaseOf(await short.get(k)), 1, 'v1');
        await short.fillList(l, leaseOf(await short.getList(l, 5)), 1, ['m1']);
        await short.invalidate([dead], true);
        expect((await short.get(k)).hit).toBe(true);
        const deadLease = leaseOf(await short.get(dead));
        await new Promise((resolve) => setTimeout(resolve, 400));
        expect((await short.get(k)).hit).toBe(false);
        expect((await short.getList(l, 5)).hit).toBe(false);
        // The deleted record's tombstone expired: a new miss leases a new one, and fills again.
        const lease = leaseOf(await short.get(dead));
        expect(lease).not.toBe(deadLease);
        expect(await short.fill(dead, lease, 1, 'back')).toBe(true);
      } finally {
        await short.close();
      }
    });

    run("repair marks: held while any holder's mark is live, until released or lapsed", async () => {
      if (cache.kind === 'memory') {
        await cache.hold('a', 1_000);
        expect(await cache.held()).toBe(false); // one process: nobody else to wait for
        return;
      }
      const a = `a-${n++}`;
      const b = `b-${n++}`;
      expect(await cache.held()).toBe(false);
      await cache.hold(a, 10_000);
      await cache.hold(b, 150);
      expect(await cache.held()).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await cache.held()).toBe(true); // b's short mark lapsed, a's is still live
      await cache.clear();
      expect(await cache.held()).toBe(true); // clearing the cache leaves the marks alone
      await cache.release(a);
      expect(await cache.held()).toBe(false);
      await cache.hold(b, 150);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await cache.held()).toBe(false); // a crashed holder's mark lapses by itself
    });

    run('clear removes every entry', async () => {
      const k = key();
      await missAndFill(k, 1, 'v1');
      await cache.clear();
      expect((await cache.get(k)).hit).toBe(false);
      await cache.ping();
    });
  });
}
