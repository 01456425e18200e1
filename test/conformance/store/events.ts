import { describe, expect, it } from 'vitest';
import { expectError, type Harness } from './harness.js';

export function eventsCases({ second, fresh, setup }: Harness): void {
  describe('events', () => {
    it('records every change in order and resumes exactly after any cursor', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      const { message } = await store.messages.append(conversation.id, { role: 'user', content: 'x' });
      await store.messages.updateStatus(message.id, 'read');
      await store.state.set(conversation.id, { state: 'a', expectedVersion: 0 });
      await store.conversations.update(conversation.id, { status: 'closed' });
      const events = (await store.events.list()).data;
      expect(events.map((e) => e.type)).toEqual(['conversation.created', 'message.created', 'message.status', 'state.updated', 'conversation.updated']);
      expect(events[1]!.data).toEqual({ messageId: message.id, seq: 1, role: 'user' });
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      for (let i = 0; i < events.length; i++) {
        expect((await store.events.list({ after: events[i]!.id })).data).toEqual(events.slice(i + 1));
      }
      expect((await store.events.list({ limit: 2 })).data).toEqual(events.slice(0, 2));
      await expectError(store.events.list({ after: 'not a cursor' }), 'invalid_argument');
    });

    it('gives the position to go on from in every page, full or not', async () => {
      const store = fresh();
      expect(await store.events.list()).toEqual({ data: [], nextCursor: null });
      for (let i = 0; i < 3; i++) await store.conversations.create();
      const first = await store.events.list({ limit: 2 });
      expect(first.data).toHaveLength(2);
      expect(first.nextCursor).toBe(first.data[1]!.id);
      const rest = await store.events.list({ after: first.nextCursor!, limit: 2 });
      expect(rest.data).toHaveLength(1);
      expect(rest.nextCursor).toBe(rest.data[0]!.id);
      // Caught up: the same position again, until something new is written.
      expect(await store.events.list({ after: rest.nextCursor! })).toEqual({ data: [], nextCursor: rest.nextCursor });
      const later = await store.conversations.create();
      expect((await store.events.list({ after: rest.nextCursor! })).data.map((e) => e.conversationId)).toEqual([later.id]);
    });

    it('gives the head: a reader after it gets only what comes next, of its own tenant', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      const head = await store.events.head();
      expect(head).not.toBeNull();
      expect((await store.events.list({ after: head! })).data).toEqual([]);
      await store.tenant(`${store.tenantId}-other`).conversations.create({ title: 'elsewhere' });
      expect((await store.events.list({ after: (await store.events.head())! })).data).toEqual([]);
      const { message } = await store.messages.append(conversation.id, { role: 'user', content: 'after the head' });
      expect((await store.events.list({ after: head! })).data.map((e) => [e.type, e.data.messageId ?? null])).toEqual([['message.created', message.id]]);
      const empty = store.tenant(`${store.tenantId}-empty`);
      expect((await empty.events.list({ ...(await empty.events.head() ? { after: (await empty.events.head())! } : {}) })).data).toEqual([]);
    });

    it('never reuses an event id, even after the newest events were erased', async () => {
      const store = fresh();
      const { contact, conversation } = await setup(store);
      await store.messages.append(conversation.id, { role: 'user', content: 'x' });
      const before = (await store.events.list()).data;
      const newest = before.at(-1)!;
      expect(newest.conversationId).toBe(conversation.id);
      expect(await store.contacts.erase(contact.id)).toBe(true);
      // A reader that had seen the (now erased) newest event still receives what came after it.
      const after = (await store.events.list({ after: newest.id })).data;
      expect(after.map((e) => e.type)).toEqual(['contact.erased']);
      const other = await store.conversations.create();
      expect((await store.events.list({ after: newest.id })).data.map((e) => e.conversationId)).toEqual([null, other.id]);
      const lone = await store.conversations.create();
      const last = (await store.events.list()).data.at(-1)!;
      expect(await store.conversations.delete(lone.id)).toBe(true);
      expect((await store.events.list({ after: last.id })).data.map((e) => e.type)).toEqual(['conversation.deleted']);
    });

    it('loses no event when many writers race and a reader follows with its cursor', async () => {
      const store = fresh();
      const conversations = await Promise.all(Array.from({ length: 8 }, () => store.conversations.create()));
      const peer = second()?.tenant(store.tenantId);
      const seen: string[] = [];
      let cursor: string | undefined;
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const batch = (await store.events.list({ ...(cursor ? { after: cursor } : {}), limit: 1000 })).data;
          seen.push(...batch.map((e) => e.id));
          cursor = batch.at(-1)?.id ?? cursor;
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      await Promise.all(Array.from({ length: 200 }, (_, i) =>
        (peer && i % 2 ? peer : store).messages.append(conversations[i % 8]!.id, { role: 'user', content: `${i}` })));
      writing = false;
      await reader;
      const rest = (await store.events.list({ ...(cursor ? { after: cursor } : {}), limit: 1000 })).data;
      seen.push(...rest.map((e) => e.id));
      const all = (await store.events.list({ limit: 1000 })).data;
      expect(all).toHaveLength(208);
      expect(seen).toEqual(all.map((e) => e.id));
    });

    it("gives opaque ids, the tenant's own, and still takes the backend's own form as a cursor", async () => {
      const store = fresh();
      for (let i = 0; i < 3; i++) await store.conversations.create();
      const events = (await store.events.list()).data;
      for (const e of events) expect(e.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const legacyStart = store.dialect === 'postgres' ? '0-0' : '0';
      expect((await store.events.list({ after: legacyStart })).data).toEqual(events);
      await expectError(store.events.list({ after: 'AAAAAAAAAAAAAAAAAAAAAA' }), 'invalid_argument');
    });

    it('follows the log live: followers from the start, from a cursor, of one conversation, across instances, nothing lost or repeated', async () => {
      const store = fresh();
      const peer = second()?.tenant(store.tenantId) ?? store;
      const [a, b] = await Promise.all([store.conversations.create(), store.conversations.create()]);
      const early = (await store.events.list()).data;
      const stop = new AbortController();
      const follow = (options: { after?: string; conversationId?: string }) => {
        const got: string[] = [];
        const done = (async () => {
          for await (const batch of store.events.follow({ ...options, stop: stop.signal })) got.push(...batch.map((e) => e.id));
        })();
        return { got, done };
      };
      const followers = [follow({}), follow({ after: early[0]!.id }), follow({ conversationId: b.id }), follow({ after: early.at(-1)!.id, conversationId: a.id })];
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? peer : store).messages.append((i % 3 ? a : b).id, { role: 'user', content: `${i}` })));
      const expected = [
        (await store.events.list({ limit: 1000 })).data,
        (await store.events.list({ after: early[0]!.id, limit: 1000 })).data,
        (await store.events.list({ conversationId: b.id, limit: 1000 })).data,
        (await store.events.list({ after: early.at(-1)!.id, conversationId: a.id, limit: 1000 })).data,
      ].map((page) => page.map((e) => e.id));
      const deadline = Date.now() + 20_000;
      while (followers.some((f, i) => f.got.length < expected[i]!.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      stop.abort();
      await Promise.all(followers.map((f) => f.done));
      followers.forEach((f, i) => expect(f.got, `follower ${i}`).toEqual(expected[i]));
      await expectError((async () => { for await (const _ of store.events.follow({ after: 'garbage', stop: stop.signal })) break; })(), 'invalid_argument');
    });
  });
}
