import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type StoreEvent } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { storeTargets } from '../helpers/services.js';

interface Received {
  id: string;
  type: string;
  event: StoreEvent;
}

/** Reads server-sent events until `count` arrived (or the timeout), then disconnects. */
async function readEvents(url: string, count: number, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Received[]> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const received: Received[] = [];
  try {
    const response = await fetch(url, { headers, signal: abort.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.data) received.push({ id: fields.id!, type: fields.event!, event: JSON.parse(fields.data) });
        if (received.length >= count) return received;
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return received;
}


for (const target of storeTargets) {
  describe(`GET /v1/events (server-sent events) on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let store: Store;
      let app: App;
      let base: string;
      beforeAll(async () => {
        store = opened!.store;
        app = await buildApp({ store, logger: false });
        base = await app.listen({ port: 0, host: '127.0.0.1' });
      });
      afterAll(async () => {
        await app?.close();
        await store?.close();
        await opened?.cleanup();
      });

      it('streams new events live, then resumes after Last-Event-ID without loss or repetition', async () => {
        const start = (await store.events.list({ limit: 1000 })).data.at(-1)?.id;
        const live = readEvents(`${base}/v1/events${start ? `?after=${start}` : ''}`, 4);
        await new Promise((r) => setTimeout(r, 100)); // the stream is open before the writes
        const conversation = await store.conversations.create();
        await Promise.all([1, 2, 3].map((i) => store.messages.append(conversation.id, { role: 'user', content: `m${i}` })));
        const first = await live;
        expect(first.map((e) => e.type)).toEqual(['conversation.created', 'message.created', 'message.created', 'message.created']);
        expect(first.map((e) => e.id)).toEqual(first.map((e) => e.event.id));
        expect(first.map((e) => e.event)).toEqual((await store.events.list({ after: start, limit: 4 } as never)).data);

        // Disconnect after the second event; write more while nobody listens; resume.
        await store.state.set(conversation.id, { state: 'a', expectedVersion: 0 });
        await store.conversations.update(conversation.id, { status: 'closed' });
        const resumed = await readEvents(`${base}/v1/events`, 4, { 'last-event-id': first[1]!.id });
        expect(resumed.map((e) => e.id)).toEqual([first[2]!.id, first[3]!.id, ...resumed.slice(2).map((e) => e.id)]);
        expect(resumed.map((e) => e.type)).toEqual(['message.created', 'message.created', 'state.updated', 'conversation.updated']);
      });

      it('filters by conversation', async () => {
        const a = await store.conversations.create();
        const b = await store.conversations.create();
        await store.messages.append(b.id, { role: 'user', content: 'other' });
        await store.messages.append(a.id, { role: 'user', content: 'mine' });
        const events = await readEvents(`${base}/v1/events?conversationId=${a.id}`, 2);
        expect(events.map((e) => [e.type, e.event.conversationId])).toEqual([['conversation.created', a.id], ['message.created', a.id]]);
      });

      it('streams each event with the record itself with include=data, read when it is sent', async () => {
        const conversation = await store.conversations.create({ title: 'with data' });
        const { message } = await store.messages.append(conversation.id, { role: 'user', content: 'full text' });
        await store.messages.updateStatus(message.id, 'read');
        const events = await readEvents(`${base}/v1/events?conversationId=${conversation.id}&include=data`, 3);
        expect(events.map((e) => e.type)).toEqual(['conversation.created', 'message.created', 'message.status']);
        expect(events[0]!.event.data).toMatchObject({ id: conversation.id, title: 'with data', lastSeq: 1 });
        // The current record: the message as it is now (read), not as it was when created.
        expect(events[1]!.event.data).toMatchObject({ id: message.id, content: 'full text', seq: 1, status: 'read' });
        const thin = await readEvents(`${base}/v1/events?conversationId=${conversation.id}`, 2);
        expect(thin[1]!.event.data).toEqual({ messageId: message.id, seq: 1, role: 'user' });
      });

      it('answers a malformed cursor with a JSON 400 before streaming', async () => {
        const response = await fetch(`${base}/v1/events`, { headers: { 'last-event-id': 'not a cursor' } });
        expect(response.status).toBe(400);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_argument');
      });
    });
  });
}

describe('graceful shutdown with a live event stream', () => {
  it('ends open streams so that close() completes', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const app = await buildApp({ store, logger: false });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const response = await fetch(`${base}/v1/events`);
    expect(response.status).toBe(200);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    await store.close();
  });
});
