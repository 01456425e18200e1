import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { retryDelay } from '../../src/webhooks/retry-delay.js';
import { createWebhookDeliverer } from '../../src/webhooks/webhook-deliverer.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/fake-webhook-receiver.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const receivers: WebhookReceiver[] = [];
const receiver = async (options?: Parameters<typeof startWebhookReceiver>[0]) => {
  const r = await startWebhookReceiver(options);
  receivers.push(r);
  return r;
};
afterAll(async () => {
  for (const r of receivers) await r.close();
});

const fill = async (store: Store, conversationId: string, count: number) => {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await store.messages.append(conversationId, { role: 'user', content: `m${i}` })).message.id);
  return ids;
};
/** Whether the first delivery of each message came in seq order. */
const inOrder = (r: WebhookReceiver) => {
  const seqs: number[] = [];
  for (const h of r.accepted()) if (!seqs.includes(h.payload.data.seq)) seqs.push(h.payload.data.seq);
  return seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!);
};

describe('the retry schedule', () => {
  it('doubles from the base, stops growing at an hour, and spreads each wait by ±25% (so 45–75 min at most)', () => {
    const exact = (attempts: number) => retryDelay(attempts, 5_000, () => 0.5);
    expect([1, 2, 3, 4, 5].map(exact)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000]);
    expect(exact(10)).toBe(2_560_000);
    expect(exact(11)).toBe(3_600_000);
    expect(exact(500)).toBe(3_600_000);
    expect(retryDelay(3, 5_000, () => 0)).toBe(15_000);
    expect(retryDelay(3, 5_000, () => 0.999999)).toBeCloseTo(25_000, 0);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay(2, 5_000)));
    expect(spread.size).toBeGreaterThan(40);
    for (const wait of spread) expect(wait >= 7_500 && wait <= 12_500).toBe(true);
    // 3 days of retries about an hour apart (45–75 min): about 80 attempts before an endpoint is disabled.
    let total = 0;
    let attempts = 0;
    while (total < 3 * 86_400_000) total += retryDelay(++attempts, 5_000, () => 0.5);
    expect(attempts).toBeGreaterThan(70);
    expect(attempts).toBeLessThan(90);
  });
});

describe('outgoing webhooks under faults', () => {
  it('keeps its lease through a batch longer than the lease: two instances, each event once, in order', async () => {
    if (!(await postgresAvailable())) return;
    const { schema, drop } = await throwawaySchema();
    const url = `${POSTGRES_URL}?schema=${schema}`;
    const [a, b] = [await openStore({ url, allowPrivateWebhooks: true }), await openStore({ url, allowPrivateWebhooks: true })];
    const r = await receiver({ delayMs: 25 });
    const deliverers = [a, b].map((store, i) => createWebhookDeliverer({ store, owner: `i${i}`, leaseMs: 1_500, scanMs: 100 }));
    try {
      await a.webhooks.create({ url: r.url, events: ['message.created'] });
      const c = await a.conversations.create({});
      const ids = await fill(a, c.id, 120); // one conversation: 120 posts in a row, ~3 s of them, twice the lease
      for (const d of deliverers) d.start();
      await waitFor('all 120 delivered', () => new Set(r.accepted().map((h) => h.id)).size >= 120, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(r.requests).toHaveLength(120); // none twice
      expect(r.accepted().map((h) => h.payload.data.id)).toEqual(ids);
    } finally {
      await Promise.all(deliverers.map((d) => d.stop()));
      await a.close();
      await b.close();
      await drop();
    }
  }, 90_000);

  it('stops mid-batch when asked: what was delivered is recorded, the rest goes out from the next deliverer', async () => {
    const store = await openStore({ url: 'sqlite::memory:', allowPrivateWebhooks: true });
    const r = await receiver({ delayMs: 30 });
    try {
      const endpoint = await store.webhooks.create({ url: r.url, events: ['message.created'] });
      const c = await store.conversations.create({});
      const ids = await fill(store, c.id, 100);
      const first = createWebhookDeliverer({ store, owner: 'first', scanMs: 20 });
      first.start();
      await waitFor('a few delivered', () => r.accepted().length >= 5);
      await first.stop();
      const atStop = r.requests.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(r.requests.length).toBeLessThanOrEqual(atStop + 1); // at most the one cut short
      expect(atStop).toBeLessThan(100);
      const recorded = (await store.webhooks.deliveries(endpoint.id, { limit: 200 })).data.filter((d) => d.status === 'succeeded').length;
      expect(recorded).toBeGreaterThanOrEqual(atStop - 1);
      const second = createWebhookDeliverer({ store, owner: 'second', scanMs: 20 });
      second.start();
      try {
        await waitFor('the rest delivered', () => new Set(r.accepted().map((h) => h.payload.data.id)).size >= 100, 60_000);
      } finally {
        await second.stop();
      }
      expect(r.requests.length).toBeLessThanOrEqual(102); // nothing sent again but what was in flight
      expect(new Set(r.accepted().map((h) => h.payload.data.id))).toEqual(new Set(ids));
      expect(inOrder(r)).toBe(true);
    } finally {
      await store.close();
    }
  }, 90_000);

  it('sends no more to the old URL once it is changed mid-batch, and the rest to the new one', async () => {
    const store = await openStore({ url: 'sqlite::memory:', allowPrivateWebhooks: true });
    const old = await receiver({ delayMs: 30 });
    const next = await receiver();
    const deliverer = createWebhookDeliverer({ store, owner: 'd', scanMs: 20 });
    try {
      const endpoint = await store.webhooks.create({ url: old.url, events: ['message.created'] });
      const c = await store.conversations.create({});
      const ids = await fill(store, c.id, 100);
      deliverer.start();
      await waitFor('a few delivered to the old URL', () => old.accepted().length >= 5);
      await store.webhooks.update(endpoint.id, { url: next.url });
      const atChange = old.requests.length;
      await waitFor('the rest at the new URL', () => new Set([...old.accepted(), ...next.accepted()].map((h) => h.payload.data.id)).size >= 100, 60_000);
      expect(old.requests.length).toBeLessThanOrEqual(atChange + 10); // the one in flight, and any sent before the change was read
      expect(old.requests.length).toBeLessThan(60);
      expect(new Set([...old.accepted(), ...next.accepted()].map((h) => h.payload.data.id))).toEqual(new Set(ids));
    } finally {
      await deliverer.stop();
      await store.close();
    }
  }, 90_000);

  it('keeps a receiver that fails now and then: each event retried on its own, none given up on', async () => {
    const store = await openStore({ url: 'sqlite::memory:', allowPrivateWebhooks: true });
    const seen = new Set<string>();
    // Every event is refused once, then taken.
    const r = await receiver({ answer: (hook) => (seen.has(hook.id) ? 200 : (seen.add(hook.id), 500)) });
    const deliverer = createWebhookDeliverer({ store, owner: 'd', scanMs: 20, retryBaseMs: 10, giveUpMs: 2_000 });
    try {
      const endpoint = await store.webhooks.create({ url: r.url, events: ['message.created'] });
      const c = await store.conversations.create({});
      const ids = await fill(store, c.id, 30);
      deliverer.start();
      await waitFor('all 30 delivered', () => r.accepted().length >= 30, 60_000);
      expect(r.accepted().map((h) => h.payload.data.id)).toEqual(ids);
      await waitFor('the endpoint at rest', async () => (await store.webhooks.get(endpoint.id))?.status === 'active');
      expect(await store.webhooks.get(endpoint.id)).toMatchObject({ enabled: true, attempts: 0, disabledReason: null });
    } finally {
      await deliverer.stop();
      await store.close();
    }
  }, 90_000);

  it('signs with the previous secret only until its grace period ends', async () => {
    let now = Date.now();
    const store = await openStore({ url: 'sqlite::memory:', allowPrivateWebhooks: true, clock: () => now });
    const r = await receiver();
    const deliverer = createWebhookDeliverer({ store, owner: 'd', scanMs: 20 });
    try {
      const endpoint = await store.webhooks.create({ url: r.url, events: ['message.created'] });
      const { secret } = await store.webhooks.rotateSecret(endpoint.id, { graceSeconds: 60 });
      const c = await store.conversations.create({});
      deliverer.start();
      await store.messages.append(c.id, { role: 'user', content: 'within the grace period' });
      await waitFor('the first delivery', () => r.accepted().length >= 1);
      expect(r.accepted()[0]!.signature.split(' ')).toHaveLength(2);
      now += 61_000;
      await store.messages.append(c.id, { role: 'user', content: 'after it' });
      await waitFor('the second delivery', () => r.accepted().length >= 2);
      const late = r.accepted()[1]!;
      expect(late.signature.split(' ')).toHaveLength(1);
      r.verify(secret, [late]);
      expect(() => r.verify(endpoint.secret, [late])).toThrow();
    } finally {
      await deliverer.stop();
      await store.close();
    }
  });
});
