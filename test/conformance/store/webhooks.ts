import { describe, expect, it } from 'vitest';
import { webhookOps } from '../../../src/store/webhook-ops.js';
import { expectError, type Harness } from './harness.js';

const URL = 'https://203.0.113.10/hook';
const state = { attempts: 0, failingSince: null, nextAttemptAt: 0, lastError: null, lastSuccessAt: null };

/** What outgoing webhooks store: endpoints, a lease per endpoint, a cursor written only by its holder, the attempt log. */
export function webhooksCases({ fresh, second }: Harness): void {
  describe('webhook storage', () => {
    it('starts an endpoint at the head of the log, keeps its secret sealed, lists it for deliverers', async () => {
      const store = fresh();
      const c = await store.conversations.create({});
      const before = (await store.events.list()).data.at(-1)!;
      const endpoint = await store.webhooks.create({ url: URL, events: ['message.created'] });
      expect(endpoint).toMatchObject({ deliveredTo: before.id, status: 'active', attempts: 0, description: null });
      const ops = webhookOps(store);
      const record = (await ops.get(store.tenantId, endpoint.id))!;
      expect(ops.secrets(store.tenantId, record)).toEqual([endpoint.secret]);
      expect(JSON.stringify([await store.webhooks.get(endpoint.id), await store.webhooks.list()])).not.toContain(endpoint.secret.slice(6));
      expect(await ops.enabled()).toContainEqual({ tenant: store.tenantId, id: endpoint.id });
      await store.messages.append(c.id, { role: 'user', content: 'x' });
      const page = await ops.events(store.tenantId, record.deliveredTo, 10);
      expect(page.map((p) => p.event.type)).toEqual(['message.created']);
      await store.webhooks.update(endpoint.id, { enabled: false });
      expect(await ops.enabled()).not.toContainEqual({ tenant: store.tenantId, id: endpoint.id });
      // Another tenant sees none of it.
      expect(await store.tenant(`${store.tenantId}x`).webhooks.get(endpoint.id)).toBeNull();
      await expectError(store.tenant(`${store.tenantId}x`).webhooks.update(endpoint.id, { enabled: true }), 'not_found');
    });

    it('gives the lease to one owner at a time, across instances, and takes the cursor only from its holder at its version', async () => {
      const store = fresh();
      const other = second()?.tenant(store.tenantId) ?? store;
      const { id } = await store.webhooks.create({ url: URL, events: ['*'] });
      const t = store.tenantId;
      const [a, b] = [webhookOps(store), webhookOps(other)];
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim(t, id, `owner-${i}`, 60_000)));
      const winners = claims.filter(Boolean);
      expect(winners).toHaveLength(1);
      const holder = winners[0]!.owner!;
      expect(await a.claim(t, id, holder, 60_000)).toBeDefined(); // renewal
      const record = (await a.get(t, id))!;
      expect(await b.progress(t, record, 'not-the-holder', { ...state, deliveredTo: 'x' }, [])).toBe(false);
      const attempt = { eventId: 'e1', eventType: 'message.created', attempt: 1, ok: true, httpStatus: 200, latencyMs: 3, error: null, at: Date.now() };
      expect(await a.progress(t, record, holder, { ...state, deliveredTo: record.deliveredTo, lastSuccessAt: Date.now() }, [attempt])).toBe(true);
      // A settings change leaves the cursor to its holder; a replay moves it (a new generation): progress from the
      // older generation is refused, and the attempts behind it are recorded all the same (they were made).
      await store.webhooks.update(id, { description: 'renamed' });
      expect(await a.progress(t, record, holder, { ...state, deliveredTo: record.deliveredTo }, [])).toBe(true);
      const firstEvent = (await store.conversations.create({}), (await store.events.list()).data.at(-1)!);
      await store.webhooks.replay(id, { after: firstEvent.id });
      expect(await a.progress(t, record, holder, { ...state, deliveredTo: null }, [{ ...attempt, eventId: 'e2' }])).toBe(false);
      expect((await store.webhooks.deliveries(id)).data.map((d) => d.eventId)).toEqual(['e2', 'e1']);
      expect((await store.webhooks.get(id))!.deliveredTo).toBe(firstEvent.id);
      // Given up, the lease goes to the next at once; a live one is not taken over.
      await a.release(t, id, holder);
      expect(await b.claim(t, id, 'next', 60_000)).toMatchObject({ owner: 'next' });
      expect(await a.claim(t, id, holder, 60_000)).toBeUndefined();
      await expectError(store.webhooks.replay(id, { after: 'not-an-event' }), 'invalid_argument');
      // An old-style position no event can have (beyond what an id encodes) is refused too, never stored.
      for (const after of ['281474976710656-1', '1-9007199254740993', '9007199254740993']) await expectError(store.webhooks.replay(id, { after }), 'invalid_argument');
      expect((await store.webhooks.get(id))!.deliveredTo).toBe(firstEvent.id);
    });

    it('records a failing run, disables with a reason, and clears it all when enabled again', async () => {
      const store = fresh();
      const t = store.tenantId;
      const ops = webhookOps(store);
      const { id } = await store.webhooks.create({ url: URL, events: ['*'] });
      const record = (await ops.claim(t, id, 'o', 60_000))!;
      const failed = { eventId: 'e', eventType: 'conversation.created', attempt: 1, ok: false, httpStatus: 500, latencyMs: 9, error: 'HTTP 500', at: Date.now() };
      expect(await ops.progress(t, record, 'o', { ...state, deliveredTo: record.deliveredTo, attempts: 7, failingSince: 1000, nextAttemptAt: 5000, lastError: { httpStatus: 500 }, disable: 'retries ran out' }, [failed])).toBe(true);
      expect(await store.webhooks.get(id)).toMatchObject({ enabled: false, status: 'disabled', attempts: 7, disabledReason: 'retries ran out', lastError: { httpStatus: 500 } });
      expect(await ops.claim(t, id, 'o', 60_000)).toBeUndefined(); // disabled: nobody delivers it
      expect(await store.webhooks.update(id, { enabled: true })).toMatchObject({ enabled: true, status: 'active', attempts: 0, disabledReason: null, failingSince: null });
      expect((await store.webhooks.deliveries(id)).data[0]).toMatchObject({ status: 'failed', httpStatus: 500, error: 'HTTP 500', attempt: 1 });
    });

    it('pages the attempt log newest first and prunes it by age and by count', async () => {
      const store = fresh();
      const ops = webhookOps(store);
      const { id } = await store.webhooks.create({ url: URL, events: ['*'] });
      const old = Date.now() - 10 * 86_400_000;
      await ops.record(store.tenantId, id, Array.from({ length: 7 }, (_, i) => ({ eventId: `e${i}`, eventType: 'webhook.test', attempt: 1, ok: true, httpStatus: 200, latencyMs: 1, error: null, at: i < 2 ? old : Date.now() })));
      const first = await store.webhooks.deliveries(id, { limit: 3 });
      expect(first.data.map((d) => d.eventId)).toEqual(['e6', 'e5', 'e4']);
      const next = await store.webhooks.deliveries(id, { limit: 3, cursor: first.nextCursor! });
      expect(next.data.map((d) => d.eventId)).toEqual(['e3', 'e2', 'e1']);
      await ops.prune(7 * 86_400_000, 3);
      expect((await store.webhooks.deliveries(id)).data.map((d) => d.eventId)).toEqual(['e6', 'e5', 'e4']);
      expect(await store.webhooks.delete(id)).toBe(true);
      await expectError(store.webhooks.deliveries(id), 'not_found');
    });
  });
}
