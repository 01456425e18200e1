import { describe, expect, it } from 'vitest';
import { expectError, HOUR, MINUTE, type Harness } from './harness.js';

export function ingestCases({ second, fresh }: Harness): void {
  describe('ingest', () => {
    it('resolves contact and conversation, then appends; a duplicate changes nothing', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'shop' });
      const first = await store.ingest({ channelId: channel.id, from: { address: '5511', name: 'Bia' }, externalId: 'wamid.A', content: 'oi' });
      expect(first).toMatchObject({ duplicate: false, created: true, reopened: false, message: { seq: 1, role: 'user', status: 'delivered', externalId: 'wamid.A' } });
      expect(first.conversation).toMatchObject({ status: 'open', lastSeq: 1, channelId: channel.id, previousConversationId: null });
      const contact = await store.contacts.findByHandle({ channel: 'whatsapp', address: '5511' });
      expect(contact).toMatchObject({ id: first.conversation.contactId, name: 'Bia' });
      const second_ = await store.ingest({ channelId: channel.id, from: { address: '5511', name: 'Bia S.' }, externalId: 'wamid.B', content: 'tudo bem?' });
      expect(second_).toMatchObject({ duplicate: false, created: false, reopened: false, message: { seq: 2 } });
      expect(second_.conversation.id).toBe(first.conversation.id);
      expect((await store.contacts.get(contact!.id))!.name).toBe('Bia S.');

      const eventsBefore = (await store.events.list({ limit: 1000 })).data;
      await store.conversations.update(first.conversation.id, { status: 'closed' });
      const closedVersion = (await store.conversations.get(first.conversation.id))!;
      const eventsAfterClose = (await store.events.list({ limit: 1000 })).data;
      const dup = await store.ingest({ channelId: channel.id, from: { address: '5511', name: 'Someone Else' }, externalId: 'wamid.A', content: 'oi' });
      expect(dup).toMatchObject({ duplicate: true, created: false, reopened: false });
      expect(dup.message).toEqual(first.message);
      // No side effects: not reopened, no name change, no event.
      expect(await store.conversations.get(first.conversation.id)).toEqual(closedVersion);
      expect((await store.contacts.get(contact!.id))!.name).toBe('Bia S.');
      expect((await store.events.list({ limit: 1000 })).data).toEqual(eventsAfterClose);
      expect(eventsAfterClose.length).toBe(eventsBefore.length + 1);
      await expectError(store.ingest({ channelId: '018f0000-0000-7000-8000-000000000000', from: { address: '1' }, externalId: 'x', content: 'x' }), 'not_found');
      await expectError(store.ingest({ channelId: channel.id, from: { address: '1' }, content: 'x' } as never), 'invalid_argument');
    });

    it('reopens a closed conversation inside the window and starts a linked one outside it', async () => {
      const store = fresh();
      // A one-hour window, so that "later" fits within the day ahead of now that a timestamp may be.
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', config: { reopenWindowSeconds: 3600 } });
      const t0 = Date.now();
      const a = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e1', content: 'a', timestamp: t0 });
      await store.conversations.update(a.conversation.id, { status: 'closed' });
      const inside = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e2', content: 'b', timestamp: new Date(t0 + 50 * MINUTE).toISOString() });
      expect(inside).toMatchObject({ created: false, reopened: true, message: { seq: 2 } });
      expect(inside.conversation).toMatchObject({ id: a.conversation.id, status: 'open', closedAt: null });
      await store.conversations.update(a.conversation.id, { status: 'closed' });
      const outside = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e3', content: 'c', timestamp: t0 + 2 * HOUR + 5 * MINUTE });
      expect(outside).toMatchObject({ created: true, reopened: false, message: { seq: 1 } });
      expect(outside.conversation.id).not.toBe(a.conversation.id);
      expect(outside.conversation.previousConversationId).toBe(a.conversation.id);
      expect(outside.conversation.contactId).toBe(a.conversation.contactId);
      // The old thread keeps its history.
      expect((await store.messages.list(a.conversation.id)).data.map((m) => m.content)).toEqual(['a', 'b']);

      const strict = await store.channels.create({ kind: 'whatsapp', name: 'strict', config: { reopenWindowSeconds: 0 } });
      const s1 = await store.ingest({ channelId: strict.id, from: { address: '77' }, externalId: 's1', content: 'x', timestamp: t0 });
      await store.conversations.update(s1.conversation.id, { status: 'closed' });
      const s2 = await store.ingest({ channelId: strict.id, from: { address: '77' }, externalId: 's2', content: 'y', timestamp: Date.now() + 1000 });
      expect(s2).toMatchObject({ created: true, conversation: { previousConversationId: s1.conversation.id } });
    });

    it('joins a waiting conversation', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'web', name: 'site' });
      const a = await store.ingest({ channelId: channel.id, from: { address: 'u1' }, externalId: '1', content: 'x' });
      await store.conversations.update(a.conversation.id, { status: 'waiting' });
      const b = await store.ingest({ channelId: channel.id, from: { address: 'u1' }, externalId: '2', content: 'y' });
      expect(b).toMatchObject({ created: false, reopened: false, conversation: { id: a.conversation.id, status: 'waiting' } });
    });

    it('stores 20 concurrent deliveries of one externalId once and reports 19 duplicates', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'retries' });
      const peer = second()?.tenant(store.tenantId);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        (peer && i % 2 ? peer : store).ingest({ channelId: channel.id, from: { address: '5599' }, externalId: 'wamid.same', content: 'hello' })));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(results.filter((r) => r.duplicate)).toHaveLength(19);
      expect(new Set(results.map((r) => r.message.id)).size).toBe(1);
      const conversations = await store.conversations.list();
      expect(conversations.data).toHaveLength(1);
      expect((await store.messages.list(conversations.data[0]!.id)).data).toHaveLength(1);
      expect((await store.events.list()).data.filter((e) => e.type === 'message.created')).toHaveLength(1);
    });

    it('puts 20 concurrent first messages of a new contact into one conversation, gapless', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'burst' });
      const peer = second()?.tenant(store.tenantId);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        (peer && i % 2 ? peer : store).ingest({ channelId: channel.id, from: { address: '5588', name: 'Caio' }, externalId: `w${i}`, content: `part ${i}` })));
      expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      const conversationId = results[0]!.conversation.id;
      expect((await store.messages.list(conversationId, { limit: 100 })).data.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const contacts = await Promise.all(results.map((r) => r.conversation.contactId));
      expect(new Set(contacts).size).toBe(1);
      expect((await store.conversations.list()).data).toHaveLength(1);
    });
  });
}
