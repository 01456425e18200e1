import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { eventData } from '../../src/webhooks/event-payload.js';
import { createWebhookDeliverer, type WebhookDeliverer } from '../../src/webhooks/webhook-deliverer.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/fake-webhook-receiver.js';
import { storeUrls } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const targets = storeUrls;

for (const target of targets) {
  describe(`outgoing webhooks (${target.name})`, () => {
    let store: Store;
    let app: App;
    let deliverer: WebhookDeliverer;
    let drop: () => Promise<void> = async () => {};
    const receivers: WebhookReceiver[] = [];
    const receiver = async (options?: Parameters<typeof startWebhookReceiver>[0]) => {
      const r = await startWebhookReceiver(options);
      receivers.push(r);
      return r;
    };
    const create = async (url: string, events: string[] = ['*']) => {
      const response = await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url, events } });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { id: string; secret: string };
    };

    beforeAll(async () => {
      const opened = await target.open();
      if (!opened) return;
      drop = opened.drop;
      store = await openStore({ url: opened.url, allowPrivateWebhooks: true });
      app = await buildApp({ store, logger: false });
      deliverer = createWebhookDeliverer({ store, owner: 'test', retryBaseMs: 50, scanMs: 50, leaseMs: 5_000 });
      deliverer.start();
    });
    afterAll(async () => {
      await deliverer?.stop();
      await app?.close();
      await store?.close();
      for (const r of receivers) await r.close();
      await drop();
    });

    it('manages endpoints: the secret shown once, unknown event types and bad URLs refused', async () => {
      if (!store) return;
      const r = await receiver();
      const created = await create(r.url, ['message.created', 'conversation.*']);
      expect(created).toMatchObject({ secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/), enabled: true, status: 'active', events: ['message.created', 'conversation.*'] });
      const got = await app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}` });
      expect(got.json()).not.toHaveProperty('secret');
      expect(got.body).not.toContain(created.secret.slice(6));
      expect((await app.inject({ method: 'GET', url: '/v1/webhooks' })).json().data.map((e: { id: string }) => e.id)).toContain(created.id);
      for (const events of [['message.creatd'], ['nothing.*'], []]) {
        const bad = await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: r.url, events } });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error.code).toBe('invalid_argument');
      }
      for (const url of ['ftp://example.com/x', 'https://user:pw@example.com/x', 'not a url']) {
        expect((await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url, events: ['*'] } })).statusCode).toBe(400);
      }
      const patched = await app.inject({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, payload: { description: 'CRM', enabled: false } });
      expect(patched.json()).toMatchObject({ description: 'CRM', enabled: false, status: 'disabled' });
      expect((await app.inject({ method: 'PATCH', url: `/v1/webhooks/${created.id}`, payload: { events: ['bogus'] } })).statusCode).toBe(400);
      expect((await app.inject({ method: 'DELETE', url: `/v1/webhooks/${created.id}` })).statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}` })).statusCode).toBe(404);
      expect((await app.inject({ method: 'DELETE', url: `/v1/webhooks/${created.id}` })).statusCode).toBe(404);
    });

    it('delivers signed, complete payloads in order; a receiver failing 3 times gets each event once, in order', async () => {
      if (!store) return;
      let failures = 3;
      const r = await receiver({ answer: () => (failures-- > 0 ? 503 : 200) });
      const endpoint = await create(r.url, ['message.*', 'conversation.created']);
      const conversation = await store.conversations.create({ title: 'order' });
      const sent: string[] = [];
      for (let i = 0; i < 10; i++) sent.push((await store.messages.append(conversation.id, { role: 'user', content: `m${i}` })).message.id);
      await waitFor('ten messages delivered', () => r.accepted().filter((h) => h.payload.type === 'message.created').length >= 10);
      r.verify(endpoint.secret);
      const accepted = r.accepted();
      // Each event once, in the log's order; the first one took 4 attempts with the same webhook-id.
      expect(new Set(accepted.map((h) => h.id)).size).toBe(accepted.length);
      expect(accepted[0]!.payload).toMatchObject({ type: 'conversation.created', data: { id: conversation.id, title: 'order' } });
      expect(accepted.slice(1).map((h) => h.payload.data.id)).toEqual(sent);
      expect(accepted[1]!.payload.data).toMatchObject({ content: 'm0', role: 'user', seq: 1, conversationId: conversation.id });
      expect(r.requests.slice(0, 4).map((h) => h.id)).toEqual(Array(4).fill(accepted[0]!.id));
      // Each retry waits at least its backoff (50 ms doubling, −25% jitter at most); load can only make it later.
      const gaps = r.requests.slice(0, 4).map((h, i, all) => (i ? h.at - all[i - 1]!.at : 0)).slice(1);
      gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(0.75 * 50 * 2 ** i - 2));
      const events = (await store.events.list({ conversationId: conversation.id })).data;
      expect(accepted.map((h) => h.id)).toEqual(events.filter((e) => e.type === 'message.created' || e.type === 'conversation.created').map((e) => e.id));
      // The delivery log (written with the cursor, just after the receiver answered): the failures, then the success.
      await waitFor('the endpoint active again', async () => (await store.webhooks.get(endpoint.id))?.status === 'active' && (await store.webhooks.deliveries(endpoint.id, { limit: 200 })).data.length >= 14);
      const log = (await app.inject({ method: 'GET', url: `/v1/webhooks/${endpoint.id}/deliveries?limit=200` })).json();
      const first = log.data.filter((d: { eventId: string }) => d.eventId === accepted[0]!.id).reverse();
      expect(first.map((d: { attempt: number; status: string; httpStatus: number }) => [d.attempt, d.status, d.httpStatus])).toEqual([[1, 'failed', 503], [2, 'failed', 503], [3, 'failed', 503], [4, 'succeeded', 200]]);
      expect(await store.webhooks.get(endpoint.id)).toMatchObject({ attempts: 0, lastError: null, deliveredTo: expect.any(String) });
    });

    it('delivers each conversation in its order while another is held up, and the current record on retry', async () => {
      if (!store) return;
      const a = await store.conversations.create({ title: 'a' });
      const b = await store.conversations.create({ title: 'b' });
      // a's first message is refused until its status has moved; b's go through meanwhile.
      let holdA = true;
      const r = await receiver({ answer: (hook) => (hook.payload.data.conversationId === a.id && holdA ? 500 : 200) });
      const endpoint = await create(r.url, ['message.created']);
      const first = await store.messages.append(a.id, { role: 'assistant', content: 'a1' });
      await store.messages.append(b.id, { role: 'user', content: 'b1' });
      await store.messages.append(a.id, { role: 'user', content: 'a2' });
      await store.messages.append(b.id, { role: 'user', content: 'b2' });
      await waitFor("b's messages delivered while a is held up", () => r.accepted().filter((h) => h.payload.data.conversationId === b.id).length >= 2);
      expect(r.accepted().filter((h) => h.payload.data.conversationId === a.id)).toEqual([]);
      await store.messages.updateStatus(first.message.id, 'delivered');
      holdA = false;
      await waitFor('four messages delivered', () => r.accepted().length >= 4);
      const contents = (id: string) => r.accepted().filter((h) => h.payload.data.conversationId === id).map((h) => h.payload.data.content);
      expect(contents(a.id)).toEqual(['a1', 'a2']);
      expect(r.accepted().find((h) => h.payload.data.id === first.message.id)!.payload.data.status).toBe('delivered'); // read when delivered
      expect(contents(b.id)).toEqual(['b1', 'b2']);
      expect(new Set(r.accepted().map((h) => h.id)).size).toBe(4);
      r.verify(endpoint.secret);
    });

    it('replays from an event, rotates the secret (both sign for the grace period) and sends a test event', async () => {
      if (!store) return;
      const r = await receiver();
      const endpoint = await create(r.url, ['message.created']);
      const c = await store.conversations.create({});
      for (let i = 0; i < 3; i++) await store.messages.append(c.id, { role: 'user', content: `r${i}` });
      await waitFor('three delivered', () => r.accepted().length >= 3);
      const [one, two, three] = r.accepted();
      const replay = await app.inject({ method: 'POST', url: `/v1/webhooks/${endpoint.id}/replay`, payload: { after: one!.id } });
      expect(replay.statusCode, replay.body).toBe(200);
      await waitFor('the replay', () => r.accepted().length >= 5);
      expect(r.accepted().slice(3).map((h) => h.id)).toEqual([two!.id, three!.id]);
      expect((await app.inject({ method: 'POST', url: `/v1/webhooks/${endpoint.id}/replay`, payload: { after: 'nonsense' } })).statusCode).toBe(400);

      const rotated = await app.inject({ method: 'POST', url: `/v1/webhooks/${endpoint.id}/rotate-secret`, payload: {} });
      expect(rotated.statusCode, rotated.body).toBe(200);
      const { secret, previousSecretExpiresAt } = rotated.json() as { secret: string; previousSecretExpiresAt: string };
      // Both valid for 24 h by default (a minute either way for a slow run).
      expect(Math.abs(Date.parse(previousSecretExpiresAt) - Date.now() - 86_400_000)).toBeLessThan(60_000);
      expect(secret).not.toBe(endpoint.secret);
      await store.messages.append(c.id, { role: 'user', content: 'after rotation' });
      await waitFor('the next delivery', () => r.accepted().length >= 6);
      const latest = r.accepted().slice(5);
      expect(latest[0]!.signature.split(' ')).toHaveLength(2);
      r.verify(secret, latest);
      r.verify(endpoint.secret, latest); // receivers that have not switched yet still verify

      const test = await app.inject({ method: 'POST', url: `/v1/webhooks/${endpoint.id}/test` });
      expect(test.json()).toMatchObject({ ok: true, httpStatus: 200, eventId: expect.stringMatching(/^test_/) });
      const received = r.requests.at(-1)!;
      expect(received.payload).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });
      r.verify(secret, [received]);
      const log = (await app.inject({ method: 'GET', url: `/v1/webhooks/${endpoint.id}/deliveries?limit=1` })).json();
      expect(log.data[0]).toMatchObject({ eventType: 'webhook.test', status: 'succeeded' });
      expect(log.nextCursor).toEqual(expect.any(String));
    });

    it('disables an endpoint whose retries ran out, and resumes it where it stopped when enabled again', async () => {
      if (!store) return;
      let up = false;
      const r = await receiver({ answer: () => (up ? 200 : 500) });
      const shortLived = createWebhookDeliverer({ store, owner: 'give-up', retryBaseMs: 20, giveUpMs: 300, scanMs: 50 });
      await deliverer.stop(); // this test's endpoint is the short-lived deliverer's alone
      shortLived.start();
      try {
        const endpoint = await create(r.url, ['message.created']);
        const c = await store.conversations.create({});
        const m = await store.messages.append(c.id, { role: 'user', content: 'stuck' });
        await waitFor('the endpoint disabled', async () => (await store.webhooks.get(endpoint.id))?.status === 'disabled');
        const disabled = await store.webhooks.get(endpoint.id);
        expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/retries ran out/), lastError: { httpStatus: 500 } });
        up = true;
        await store.webhooks.update(endpoint.id, { enabled: true });
        await waitFor('the stuck event delivered', () => r.accepted().length >= 1);
        expect(r.accepted()[0]!.payload.data.id).toBe(m.message.id);
      } finally {
        await shortLived.stop();
        deliverer = createWebhookDeliverer({ store, owner: 'test', retryBaseMs: 50, scanMs: 50, leaseMs: 5_000 });
        deliverer.start();
      }
    });

    it('gives a record in the trash as { id, trashed: true, purgeAt }, an erased one as { id, erased: true }, a restore the conversation; the SSE page its complete data with include=data', async () => {
      if (!store) return;
      const c = await store.conversations.create({ title: 'to erase' });
      const { message } = await store.messages.append(c.id, { role: 'user', content: 'secret stuff' });
      const events = (await store.events.list({ conversationId: c.id })).data;
      const created = events.find((e) => e.type === 'message.created')!;
      const page = await app.inject({ method: 'GET', url: `/v1/events?conversationId=${c.id}&include=data`, headers: { accept: 'application/json' } });
      expect(page.json().data.find((e: { type: string }) => e.type === 'message.created').data).toMatchObject({ id: message.id, content: 'secret stuff' });
      // In the trash: hidden, but restorable, so never told "erased".
      await store.conversations.delete(c.id);
      const purgeAt = (await store.trash.get(c.id))!.purgeAt;
      const deleted = (await store.events.list({ after: created.id })).data.find((e) => e.type === 'conversation.deleted' && e.conversationId === c.id)!;
      expect(await eventData(store, created)).toEqual({ id: message.id, trashed: true, purgeAt });
      expect(await eventData(store, events.find((e) => e.type === 'conversation.created')!)).toEqual({ id: c.id, trashed: true, purgeAt });
      expect(await eventData(store, deleted)).toEqual({ id: c.id, trashed: true, purgeAt });
      // Restored: the delete says so, the restore carries the conversation itself, its messages come back.
      await store.trash.restore(c.id);
      const restored = (await store.events.list({ after: deleted.id })).data.find((e) => e.type === 'conversation.restored' && e.conversationId === c.id)!;
      expect(await eventData(store, restored)).toMatchObject({ id: c.id, title: 'to erase', lastSeq: 1 });
      expect(await eventData(store, deleted)).toEqual({ id: c.id, trashed: true, restored: true });
      expect(await eventData(store, created)).toMatchObject({ id: message.id, content: 'secret stuff' });
      // In the trash, then erased with its contact: nothing of it is ever sent again, and the erasure names it.
      const contact = await store.contacts.upsert({ name: 'Ana', handle: { channel: 'api', address: 'ana-erased' } });
      const d = await store.conversations.create({ contactId: contact.id });
      const second = await store.messages.append(d.id, { role: 'user', content: 'my address is …' });
      const secondCreated = (await store.events.list({ conversationId: d.id })).data.find((e) => e.type === 'message.created')!;
      await store.conversations.delete(d.id);
      expect(await eventData(store, secondCreated)).toMatchObject({ id: second.message.id, trashed: true });
      await store.contacts.erase(contact.id);
      expect(await eventData(store, secondCreated)).toEqual({ id: second.message.id, erased: true });
      const erasure = (await store.events.list({ limit: 1000 })).data.find((e) => e.type === 'contact.erased' && e.data.contactId === contact.id)!;
      expect(await eventData(store, erasure)).toEqual({ contactId: contact.id, conversationIds: [d.id] });
      await store.conversations.delete(c.id, { purge: true });
      expect(await eventData(store, created)).toEqual({ id: message.id, erased: true });
      expect(await eventData(store, restored)).toEqual({ id: c.id, erased: true });
      expect(await eventData(store, deleted)).toEqual({ id: c.id, erased: true });
    });
  });
}

describe('webhook signing secrets at rest', () => {
  it('are sealed under COLLOQUY_SECRET_KEY, including ones set before the key was', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { webhookOps } = await import('../../src/store/webhook-ops.js');
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-wh-secret-'));
    const url = `sqlite:${join(dir, 'secrets.db')}`;
    const key = 'k'.repeat(40);
    try {
      const plain = await openStore({ url });
      const before = await plain.webhooks.create({ url: 'https://203.0.113.7/a', events: ['*'] });
      await plain.close();
      const keyed = await openStore({ url, secretKey: key });
      const after = await keyed.webhooks.create({ url: 'https://203.0.113.7/b', events: ['*'] });
      const ops = webhookOps(keyed);
      for (const { id, secret } of [before, after]) {
        const record = (await ops.get('default', id))!;
        expect(record.secrets[0]!.value).toMatch(/^v1:/);
        expect(JSON.stringify(record)).not.toContain(secret.slice(6));
        expect(ops.secrets('default', record)).toEqual([secret]);
      }
      await keyed.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
