import { describe, expect, it } from 'vitest';
import type { Cache } from '../../src/cache/cache.js';
import { createHotTier } from '../../src/cache/hot-tier.js';
import { createMemoryCache } from '../../src/cache/memory-cache.js';

/**
 * The hot tier's failure rules, over the real in-process cache with faults injected in front of it: the
 * outages a Redis has (refused commands, a lost connection) on demand, and at exactly the step under test.
 */
function faulty(cache: Cache) {
  const failing = new Set<string>();
  let unavailable: ((error: Error) => void) | undefined;
  const wrapped = new Proxy(cache, {
    get(target, name: string) {
      const member = (target as unknown as Record<string, unknown>)[name];
      if (name === 'onUnavailable') return (listener: (error: Error) => void) => { unavailable = listener; };
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        if (failing.has(name) || failing.has('*')) return Promise.reject(new Error(`injected: ${name} failed`));
        return (member as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { cache: wrapped, failing, dropConnection: () => unavailable?.(new Error('injected: connection closed')) };
}

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('hot tier failure rules', () => {
  const timing = { probeMs: 10, holdDownMs: 200 };

  it('serves from the database while the cache fails, and never the entry a missed invalidation left behind', async () => {
    const { cache, failing } = faulty(createMemoryCache());
    const tier = createHotTier(cache, () => {}, timing);
    let database = { version: 1, value: 'v1' };
    const read = () => tier.read('k', async () => database);
    expect(await read()).toBe('v1');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the fill happens after the answer
    expect(await read()).toBe('v1');
    expect(tier.stats().hits).toBe(1);

    failing.add('*');
    database = { version: 2, value: 'v2' };
    await tier.apply([{ op: 'write', key: 'k', version: 2, value: 'v2' }]); // never throws to the writer
    expect(tier.stats().status).toBe('degraded');
    expect(await read()).toBe('v2'); // from the database

    // Redis answers again, but the first invalidation of the recovery fails: the key must stay remembered.
    failing.clear();
    failing.add('invalidate');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tier.stats().status).toBe('degraded');
    failing.clear();
    await until(() => tier.stats().status === 'ok');
    expect(await read()).toBe('v2');
    expect(tier.stats().fallbacks).toBeGreaterThan(0);
    await tier.close();
  });

  it('reads the cache again only after it answered for the whole hold-down', async () => {
    const { cache, failing } = faulty(createMemoryCache());
    const tier = createHotTier(cache, () => {}, { probeMs: 10, holdDownMs: 400 });
    failing.add('get');
    await tier.read('k', async () => ({ version: 1, value: 'v1' }));
    failing.clear();
    const answering = Date.now();
    await until(() => tier.stats().status === 'ok');
    expect(Date.now() - answering).toBeGreaterThanOrEqual(350);
    await tier.close();
  });

  it('degrades on a lost connection even without traffic, and repairs before reading again', async () => {
    const { cache, dropConnection } = faulty(createMemoryCache());
    const tier = createHotTier(cache, () => {}, timing);
    dropConnection();
    expect(tier.stats().status).toBe('degraded');
    let loads = 0;
    await tier.read('k', async () => ({ version: 1, value: `v${++loads}` }));
    await tier.read('k', async () => ({ version: 1, value: `v${++loads}` }));
    expect(loads).toBe(2); // degraded: no fills, every read from the database
    await until(() => tier.stats().status === 'ok');
    await tier.close();
  });

  it('a write while degraded still invalidates the cache when it takes commands (a slow cache)', async () => {
    const inner = createMemoryCache();
    const { cache, failing } = faulty(inner);
    const tier = createHotTier(cache, () => {}, { probeMs: 10, holdDownMs: 60_000 });
    const lease = await inner.get('k');
    await inner.fill('k', (lease as { lease: number }).lease, 1, JSON.stringify('v1'));
    failing.add('get');
    await tier.read('k', async () => ({ version: 1, value: 'v1' })); // degrades
    await tier.apply([{ op: 'write', key: 'k', version: 2, value: 'v2' }]);
    expect((await inner.get('k')).hit).toBe(false); // the old entry is gone at once, not at recovery
    await tier.close();
  });
});

describe('hot tier recovery across failures and instances', () => {
  it('a failure reported while the recovery repairs starts the hold-down over', async () => {
    const inner = createMemoryCache();
    const { cache, failing, dropConnection } = faulty(inner);
    const slow = new Proxy(cache, {
      get(target, name: string) {
        const member = (target as unknown as Record<string, unknown>)[name];
        if (name !== 'invalidate') return typeof member === 'function' ? (member as (...a: unknown[]) => unknown).bind(target) : member;
        return async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return (member as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const tier = createHotTier(slow, () => {}, { probeMs: 10, holdDownMs: 300 });
    failing.add('*');
    await tier.apply([{ op: 'invalidate', keys: ['k'] }]); // degraded, 'k' remembered
    failing.clear();
    await new Promise((resolve) => setTimeout(resolve, 60)); // the recovery is repairing now
    const lost = Date.now();
    dropConnection(); // e.g. another cluster node failed meanwhile
    await until(() => tier.stats().status === 'ok');
    expect(Date.now() - lost).toBeGreaterThanOrEqual(290); // a full hold-down after the failure, not sooner
    await tier.close();
  });

  it('waits while another instance is still repairing', async () => {
    const inner = createMemoryCache();
    let held = true;
    const marked = new Proxy(inner, {
      get(target, name: string) {
        if (name === 'held') return async () => held;
        const member = (target as unknown as Record<string, unknown>)[name];
        return typeof member === 'function' ? (member as (...a: unknown[]) => unknown).bind(target) : member;
      },
    });
    const { cache, failing } = faulty(marked);
    const tier = createHotTier(cache, () => {}, { probeMs: 10, holdDownMs: 50 });
    failing.add('get');
    await tier.read('k', async () => ({ version: 1, value: 'v1' }));
    failing.clear();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(tier.stats().status).toBe('degraded'); // hold-down long over, but another instance's mark is live
    held = false;
    await until(() => tier.stats().status === 'ok');
    await tier.close();
  });
});
