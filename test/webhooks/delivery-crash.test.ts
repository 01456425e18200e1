import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { createWebhookDeliverer } from '../../src/webhooks/webhook-deliverer.js';
import { startWebhookReceiver } from '../fakes/fake-webhook-receiver.js';
import { startServer } from '../helpers/server-process.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'colloquy-webhooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('outgoing webhooks through crashes and fleets', () => {
  it('loses nothing when the delivering server is killed mid-delivery (SIGKILL), in order per conversation', async () => {
    const db = `sqlite:${join(dir, 'crash.db')}`;
    const receiver = await startWebhookReceiver({ delayMs: 20 });
    const env = { COLLOQUY_WEBHOOKS_ALLOW_PRIVATE: '1' };
    const args = ['--webhook-lease', '1500'];
    let server = await startServer(db, args, env);
    try {
      const post = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
      const endpoint = await post('/v1/webhooks', { url: `${receiver.url}/hook`, events: ['message.created'] });
      expect(endpoint.secret).toMatch(/^whsec_/);
      const conversations = [await post('/v1/conversations', {}), await post('/v1/conversations', {})];
      const sent: Array<{ id: string; conversationId: string; seq: number }> = [];
      for (let i = 0; i < 60; i++) {
        const { message } = await post(`/v1/conversations/${conversations[i % 2].id}/messages`, { role: 'user', content: `m${i}` });
        sent.push(message);
      }
      await waitFor('some deliveries before the kill', () => receiver.accepted().length >= 8, 60_000);
      server.proc.kill('SIGKILL');
      await new Promise((resolve) => server.proc.once('exit', resolve));
      expect(receiver.accepted().length).toBeLessThan(60); // killed mid-delivery
      server = await startServer(db, args, env);
      await waitFor('every message delivered after the restart', () => new Set(receiver.accepted().map((h) => h.payload.data.id)).size >= 60, 90_000);
      receiver.verify(endpoint.secret);
      const delivered = receiver.accepted().map((h) => h.payload.data as { id: string; conversationId: string; seq: number });
      expect(new Set(delivered.map((m) => m.id))).toEqual(new Set(sent.map((m) => m.id)));
      // In order per conversation: the first delivery of each message comes after its predecessor's.
      for (const c of conversations) {
        const firsts: number[] = [];
        for (const m of delivered) if (m.conversationId === c.id && !firsts.includes(m.seq)) firsts.push(m.seq);
        expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
      }
    } finally {
      await server.stop();
      await receiver.close();
    }
  }, 240_000);

  it('two instances on one PostgreSQL deliver each event once per endpoint in a steady state', async () => {
    if (!(await postgresAvailable())) return;
    const { schema, drop } = await throwawaySchema();
    const url = `${POSTGRES_URL}?schema=${schema}`;
    const a = await openStore({ url, allowPrivateWebhooks: true });
    const b = await openStore({ url, allowPrivateWebhooks: true });
    const receivers = await Promise.all([1, 2, 3, 4].map(() => startWebhookReceiver()));
    const deliverers = [a, b].map((store, i) => createWebhookDeliverer({ store, owner: `instance-${i}`, scanMs: 100, leaseMs: 10_000 }));
    try {
      const endpoints = [];
      for (const r of receivers) endpoints.push(await a.webhooks.create({ url: r.url, events: ['message.created'] }));
      for (const d of deliverers) d.start();
      const conversations = await Promise.all(Array.from({ length: 8 }, () => a.conversations.create({})));
      const ids: string[] = [];
      // Written through both instances at once.
      await Promise.all(conversations.map(async (c, i) => {
        for (let n = 0; n < 15; n++) ids.push((await (i % 2 ? b : a).messages.append(c.id, { role: 'user', content: `${i}/${n}` })).message.id);
      }));
      for (const [i, r] of receivers.entries()) {
        await waitFor(`endpoint ${i} got all 120`, () => r.accepted().length >= 120, 60_000);
      }
      // Settle: nothing more arrives (no second delivery by the other instance).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const [i, r] of receivers.entries()) {
        r.verify(endpoints[i]!.secret);
        const got = r.accepted().map((h) => h.id);
        expect(got.length, `endpoint ${i}`).toBe(120);
        expect(new Set(got).size).toBe(120);
        expect(new Set(r.accepted().map((h) => h.payload.data.id))).toEqual(new Set(ids));
      }
    } finally {
      await Promise.all(deliverers.map((d) => d.stop()));
      await a.close();
      await b.close();
      for (const r of receivers) await r.close();
      await drop();
    }
  }, 120_000);
});
