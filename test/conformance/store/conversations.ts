import { describe, expect, it } from 'vitest';
import { expectError, HOUR, MINUTE, type Harness } from './harness.js';

export function conversationsCases({ fresh, second, setup }: Harness): void {
  describe('conversations', () => {
    it('creates, gets and allows one open conversation per contact and channel', async () => {
      const store = fresh();
      const { contact, channel, conversation } = await setup(store);
      expect(conversation).toMatchObject({ status: 'open', version: 1, lastSeq: 0, contactId: contact.id, channelId: channel.id, previousConversationId: null });
      expect(await store.conversations.get(conversation.id)).toEqual(conversation);
      const error = await expectError(store.conversations.create({ contactId: contact.id, channelId: channel.id }), 'conflict');
      expect(error.message).toMatch(/already has an open/);
      // Without a contact/channel pair there is no such limit.
      await store.conversations.create();
      await store.conversations.create();
      await expectError(store.conversations.create({ contactId: '018f0000-0000-7000-8000-000000000000' }), 'not_found');
      await expectError(store.conversations.create({ channelId: '018f0000-0000-7000-8000-000000000000' }), 'not_found');
      await expectError(store.conversations.create({ status: 'closed' } as never), 'invalid_argument');
    });

    it('lists newest activity first with filters and cursor paging that visits each once', async () => {
      const store = fresh();
      const { channel, conversation } = await setup(store);
      const others = [];
      for (let i = 0; i < 6; i++) others.push(await store.conversations.create({ title: `c${i}`, channelId: i % 2 ? channel.id : undefined }));
      await store.messages.append(conversation.id, { role: 'user', content: 'bump', createdAt: Date.now() + HOUR });
      const all = await store.conversations.list({ limit: 200 });
      expect(all.data[0]!.id).toBe(conversation.id);
      expect(all.data).toHaveLength(7);
      expect(all.nextCursor).toBeNull();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.conversations.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(all.data.map((c) => c.id));
      const onChannel = await store.conversations.list({ channelId: channel.id });
      expect(onChannel.data.map((c) => c.id).sort()).toEqual([conversation.id, others[1]!.id, others[3]!.id, others[5]!.id].sort());
      await store.conversations.update(others[0]!.id, { status: 'closed' });
      expect((await store.conversations.list({ status: 'closed' })).data.map((c) => c.id)).toEqual([others[0]!.id]);
      await expectError(store.conversations.list({ cursor: 'garbage' }), 'invalid_argument');
      await expectError(store.conversations.list({ limit: 0 }), 'invalid_argument');
      await expectError(store.conversations.list({ limit: 201 }), 'invalid_argument');
    });

    it('updates with optimistic concurrency; closing sets closedAt; reopening respects the one-open rule', async () => {
      const store = fresh();
      const { contact, channel, conversation } = await setup(store);
      const closed = await store.conversations.update(conversation.id, { status: 'closed', expectedVersion: 1 });
      expect(closed).toMatchObject({ status: 'closed', version: 2 });
      expect(closed.closedAt).not.toBeNull();
      await expectError(store.conversations.update(conversation.id, { title: 'x', expectedVersion: 1 }), 'version_mismatch');
      expect((await store.conversations.get(conversation.id))!.title).toBeNull();
      const retitled = await store.conversations.update(conversation.id, { title: 'Consulta' });
      expect(retitled).toMatchObject({ title: 'Consulta', version: 3, status: 'closed' });
      const newer = await store.conversations.create({ contactId: contact.id, channelId: channel.id });
      await expectError(store.conversations.update(conversation.id, { status: 'open' }), 'conflict');
      await store.conversations.update(newer.id, { status: 'closed' });
      const reopened = await store.conversations.update(conversation.id, { status: 'open' });
      expect(reopened).toMatchObject({ status: 'open', closedAt: null, version: 4 });
      const unchanged = await store.conversations.update(conversation.id, { status: 'open' });
      expect(unchanged.version).toBe(4);
      const tagged = await store.conversations.update(conversation.id, { metadata: { bb: 1, a: { y: 2, x: 1 } } });
      expect(tagged.version).toBe(5);
      // The same metadata with keys in another order is no change: no new version, no event.
      expect((await store.conversations.update(conversation.id, { metadata: { a: { x: 1, y: 2 }, bb: 1 } })).version).toBe(5);
      await expectError(store.conversations.update('018f0000-0000-7000-8000-000000000000', { title: 'x' }), 'not_found');
      await expectError(store.conversations.update(conversation.id, { status: 'archived' as never }), 'invalid_argument');
      const types = (await store.events.list({ conversationId: conversation.id })).data.map((e) => e.type);
      expect(types).toEqual(['conversation.created', 'conversation.updated', 'conversation.updated', 'conversation.updated', 'conversation.updated']);
    });

    it('counts unread messages after a read marker that only moves forward, with no new version and no event', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      const { id } = conversation;
      expect(conversation).toMatchObject({ lastSeq: 0, readSeq: 0, unreadCount: 0 });
      for (const content of ['a', 'b', 'c']) await store.messages.append(id, { role: 'user', content });
      // Read into the hot tier (where there is one) first: each move of the marker must replace the record there.
      const before = (await store.conversations.get(id))!;
      expect(before).toMatchObject({ lastSeq: 3, readSeq: 0, unreadCount: 3, version: 1 });
      const events = (await store.events.list({ conversationId: id })).data.length;

      expect(await store.conversations.markRead(id, { seq: 2 })).toMatchObject({ readSeq: 2, unreadCount: 1 });
      expect(await store.conversations.get(id)).toMatchObject({ readSeq: 2, unreadCount: 1 });
      const read = await store.conversations.markRead(id);
      // Nothing else moves: not the version, updatedAt, or the activity the inbox is ordered by.
      expect(read).toEqual({ ...before, readSeq: 3, unreadCount: 0 });
      expect(await store.conversations.get(id)).toEqual(read);
      const peer = second()?.tenant(store.tenantId) ?? store;
      expect(await peer.conversations.get(id)).toEqual(read);
      // Never back; a seq beyond the newest message marks up to the newest.
      expect(await store.conversations.markRead(id, { seq: 1 })).toEqual(read);
      expect(await peer.conversations.markRead(id, { seq: 99 })).toEqual(read);
      expect(await store.conversations.get(id)).toEqual(read);
      expect((await store.events.list({ conversationId: id })).data).toHaveLength(events);
      // A bot's expectedVersion stays good however often someone reads.
      expect(await store.conversations.update(id, { title: 'Consulta', expectedVersion: 1 })).toMatchObject({ version: 2, readSeq: 3, unreadCount: 0 });

      await store.messages.append(id, { role: 'user', content: 'd' });
      const unread = await store.conversations.get(id);
      expect(unread).toMatchObject({ lastSeq: 4, readSeq: 3, unreadCount: 1, version: 2, title: 'Consulta' });
      expect((await store.conversations.list()).data.find((c) => c.id === id)).toEqual(unread);
      expect(await peer.conversations.get(id)).toEqual(unread);

      await expectError(store.conversations.markRead(id, { seq: -1 }), 'invalid_argument');
      await expectError(store.conversations.markRead(id, { seq: 1.5 }), 'invalid_argument');
      await expectError(store.conversations.markRead(id, { upTo: 1 } as never), 'invalid_argument');
      await expectError(store.conversations.markRead('018f0000-0000-7000-8000-000000000000'), 'not_found');
      await expectError(fresh().conversations.markRead(id), 'not_found');
      expect(await store.conversations.get(id)).toEqual(unread);
    });

    it('keeps the read marker and the hot tier right while messages and reads race, across instances', async () => {
      const store = fresh();
      const { conversation: { id } } = await setup(store);
      const peer = second()?.tenant(store.tenantId) ?? store;
      await store.conversations.get(id);
      await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => (i % 2 ? peer : store).messages.append(id, { role: 'user', content: `m${i}` })),
        ...Array.from({ length: 6 }, (_, i) => (i % 2 ? store : peer).conversations.markRead(id)),
      ]);
      const final = await store.conversations.markRead(id, { seq: 0 });
      expect(final).toMatchObject({ lastSeq: 6, version: 1 });
      expect(final.readSeq).toBeLessThanOrEqual(6);
      expect(final.unreadCount).toBe(6 - final.readSeq);
      // What the hot tier answers is what the database holds (a list always reads the database).
      const [listed] = (await store.conversations.list()).data.filter((c) => c.id === id);
      expect(await store.conversations.get(id)).toEqual(listed);
      expect(await peer.conversations.get(id)).toEqual(listed);
      expect(await store.conversations.markRead(id)).toMatchObject({ readSeq: 6, unreadCount: 0 });
      expect(await peer.conversations.get(id)).toMatchObject({ readSeq: 6, unreadCount: 0 });
    });

    it('deletes a conversation with its messages and state; later ones lose the link only', async () => {
      const store = fresh();
      const { contact, channel, conversation } = await setup(store);
      await store.messages.append(conversation.id, { role: 'user', content: 'a' });
      await store.state.set(conversation.id, { state: 's', expectedVersion: 0 });
      await store.conversations.update(conversation.id, { status: 'closed' });
      await store.channels.update(channel.id, { config: { reopenWindowSeconds: 60 } });
      const next = await store.ingest({ channelId: channel.id, from: { address: '5511999999999' }, externalId: 'w1', content: 'b', timestamp: Date.now() + 2 * MINUTE });
      expect(next.conversation.previousConversationId).toBe(conversation.id);
      expect(await store.conversations.delete(conversation.id)).toBe(true);
      expect(await store.conversations.get(conversation.id)).toBeNull();
      await expectError(store.messages.list(conversation.id), 'not_found');
      expect((await store.conversations.get(next.conversation.id))!.previousConversationId).toBeNull();
      expect(await store.contacts.get(contact.id)).not.toBeNull();
      expect((await store.events.list({ conversationId: conversation.id })).data.map((e) => e.type)).toEqual(['conversation.deleted']);
      expect(await store.conversations.delete(conversation.id)).toBe(false);
    });
  });
}
