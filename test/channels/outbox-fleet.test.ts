import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { startServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

/** `conversations` customers who wrote a minute ago, each with `each` replies queued: the outbox is full before any sender runs. */
async function fillOutbox(store: Store, graph: FakeGraphApi, conversations: number, each: number) {
  const channel = await store.channels.create({
    kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '106540352242922', graphApiUrl: graph.url, sendsPerSecond: 1000 },
    secrets: { accessToken: 'EAAG-token', appSecret: 's', verifyToken: 'v' },
  });
  const ids: string[] = [];
  for (let c = 0; c < conversations; c++) {
    const { conversation } = await store.ingest({ channelId: channel.id, from: { address: `5511${String(c).padStart(9, '0')}` }, externalId: `wamid.in${c}`, content: 'oi', timestamp: Date.now() - 60_000 });
    for (let k = 0; k < each; k++) ids.push((await store.messages.append(conversation.id, { role: 'assistant', content: `c${c}-m${k}` })).message.id);
  }
  return ids;
}

/** Every message the fake received, by content: how many times. */
const received = (graph: FakeGraphApi) => {
  const counts = new Map<string, number>();
  for (const s of graph.sends) counts.set(s.body.text.body, (counts.get(s.body.text.body) ?? 0) + 1);
  return counts;
};

const done = async (store: Store, ids: string[]) => {
  for (const id of ids) if ((await store.messages.get(id))!.status === 'pending') return false;
  return true;
};

describe('the outbox across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-outbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('SIGKILL with a full outbox: after a restart every message was sent once, or (in flight at the kill) failed as ambiguous, never twice', async () => {
    const graph = await startFakeGraphApi({ delayMs: 150 });
    const url = `sqlite:${join(dir, 'outbox.db')}`;
    const store = await openStore({ url });
    try {
      const ids = await fillOutbox(store, graph, 30, 4);
      const first = await startServer(url, ['--outbox-lease', '5000', '--send-timeout', '2000']);
      await waitFor('sends to start', () => graph.sends.length >= 20);
      first.proc.kill('SIGKILL');
      await new Promise((resolve) => first.proc.once('exit', resolve));
      const beforeRestart = received(graph);
      const second = await startServer(url, ['--outbox-lease', '5000', '--send-timeout', '2000']);
      try {
        await waitFor('the outbox to drain', () => done(store, ids), 60_000);
      } finally {
        await second.stop();
      }
      const counts = received(graph);
      let sent = 0;
      for (const id of ids) {
        const m = (await store.messages.get(id))!;
        expect(counts.get(m.content) ?? 0, m.content).toBeLessThanOrEqual(1);
        if (m.status === 'sent') {
          sent++;
          expect(counts.get(m.content), m.content).toBe(1);
          expect(m.externalId).toMatch(/^wamid\.fake/);
        } else {
          // Only what was in flight when the process died, or (on a busy machine) a send that timed out: it may have
          // reached the customer, so it is not resent.
          expect(m).toMatchObject({ status: 'failed', error: { code: expect.stringMatching(/^(interrupted|timeout)$/), reason: 'ambiguous' } });
          if (m.error!.code === 'interrupted') expect(beforeRestart.has(m.content) || !counts.has(m.content)).toBe(true);
        }
      }
      // At most one message per conversation was in flight at the kill, and some were (the fake answers slowly).
      expect(sent).toBeGreaterThanOrEqual(ids.length - 30);
      expect(sent).toBeLessThan(ids.length);
      // Per conversation, in seq order.
      for (let c = 0; c < 30; c++) {
        const order = graph.sends.map((s) => s.body.text.body as string).filter((b) => b.startsWith(`c${c}-`));
        expect(order).toEqual([...order].sort());
      }
    } finally {
      await store.close();
      await graph.close();
    }
  });

  it('two instances sharing one outbox on PostgreSQL send each message once', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    const graph = await startFakeGraphApi({ delayMs: 5 });
    const url = `${POSTGRES_URL}?schema=${schema}`;
    const store = await openStore({ url: POSTGRES_URL, schema });
    try {
      // The servers first (no sender would find anything yet), then the outbox fills while both are sending.
      const servers = await Promise.all([startServer(url), startServer(url)]);
      try {
        const ids = await fillOutbox(store, graph, 40, 5);
        await waitFor('the outbox to drain', () => done(store, ids), 60_000);
        const counts = received(graph);
        for (const id of ids) {
          const m = (await store.messages.get(id))!;
          expect(m.status, m.content).toBe('sent');
          expect(counts.get(m.content), m.content).toBe(1);
        }
        expect(graph.sends).toHaveLength(ids.length);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    } finally {
      await store.close();
      await graph.close();
      await drop();
    }
  });

  it('one WhatsApp delivery sent 20 times at once to two instances on PostgreSQL stores one message', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    const url = `${POSTGRES_URL}?schema=${schema}`;
    const store = await openStore({ url: POSTGRES_URL, schema });
    try {
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'fleet', config: { phoneNumberId: '1' }, secrets: { appSecret: 'fleet-secret', accessToken: 't', verifyToken: 'v' } });
      const servers = await Promise.all([startServer(url), startServer(url)]);
      try {
        const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'x', changes: [{ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, contacts: [{ wa_id: '5511977776666', profile: { name: 'Lia' } }],
          messages: [{ from: '5511977776666', id: 'wamid.fleetstorm', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'uma vez só' } }],
        } }] }] });
        const signature = `sha256=${createHmac('sha256', 'fleet-secret').update(body).digest('hex')}`;
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${servers[i % 2]!.url}/webhooks/whatsapp/${channel.id}`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body,
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { stored: number } }))));
        expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
        expect(answers.reduce((n, a) => n + a.body.stored, 0)).toBe(1);
        const contact = await store.contacts.findByHandle({ channel: 'whatsapp', address: '5511977776666' });
        const conversations = (await store.conversations.list({ contactId: contact!.id })).data;
        expect(conversations).toHaveLength(1);
        expect((await store.messages.list(conversations[0]!.id)).data.map((m) => m.content)).toEqual(['uma vez só']);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    } finally {
      await store.close();
      await drop();
    }
  });
});
