import { describe, expect, it } from 'vitest';
import { scopeOfStore, type Store } from '../../../src/store/store.js';
import { expectError, type Harness } from './harness.js';

const DAY = 86_400_000;
/** The events the log still holds of a conversation, as [type, data]. */
const eventsOf = async (store: Store, id: string) => (await store.events.list({ conversationId: id, limit: 100 })).data.map((e) => [e.type, e.data]);

/** The trash: a deleted conversation hidden from every read, restorable as it was, purged after its retention. */
export function trashCases({ fresh, second, setup }: Harness): void {
  describe('trash', () => {
    it('hides a deleted conversation from every read and restores it with the same ids, seqs and state', async () => {
      const store = fresh();
      const agent = await store.agents.create({ name: 'a', model: 'm:x' });
      const c = await store.conversations.create({ title: 'kept', agentId: agent.id });
      const sent = [];
      for (let i = 0; i < 5; i++) sent.push((await store.messages.append(c.id, { role: i % 2 ? 'assistant' : 'user', content: `m${i}` })).message);
      await store.state.set(c.id, { state: 'booking', data: { doctor: 'Silva' }, expectedVersion: 0 });
      await store.conversations.markRead(c.id, { seq: 3 });
      const before = (await store.conversations.get(c.id))!;
      expect(await store.conversations.delete(c.id)).toBe(true);
      // Hidden from every read.
      expect(await store.conversations.get(c.id)).toBeNull();
      expect((await store.conversations.list()).data.map((x) => x.id)).not.toContain(c.id);
      expect(await store.messages.get(sent[0]!.id)).toBeNull();
      await expectError(store.messages.list(c.id), 'not_found');
      await expectError(store.state.get(c.id), 'not_found');
      await expectError(store.messages.append(c.id, { role: 'user', content: 'x' }), 'not_found');
      expect((await store.events.list({ conversationId: c.id })).data.map((e) => e.type)).toEqual(['conversation.deleted']);
      // Listed in the trash, with its retention.
      const listed = await store.trash.list();
      expect(listed.data).toEqual([expect.objectContaining({ id: c.id, messages: 5, conversation: expect.objectContaining({ title: 'kept', lastSeq: 5, readSeq: 3, unreadCount: 2 }) })]);
      expect(Date.parse(listed.data[0]!.purgeAt) - Date.parse(listed.data[0]!.deletedAt)).toBe(7 * DAY);
      // Restored as it was.
      const restored = await store.trash.restore(c.id);
      expect(restored).toMatchObject({ closed: false, externalIdsDropped: 0, conversation: { id: c.id, status: 'open', title: 'kept', agentId: agent.id, lastSeq: 5, version: before.version + 1 } });
      expect(await store.conversations.get(c.id)).toMatchObject({ id: c.id, status: 'open', lastSeq: 5, readSeq: 3, unreadCount: 2, version: before.version + 1 });
      expect((await store.messages.list(c.id)).data.map((m) => [m.id, m.seq, m.content])).toEqual(sent.map((m) => [m.id, m.seq, m.content]));
      expect(await store.state.get(c.id)).toMatchObject({ state: 'booking', data: { doctor: 'Silva' }, version: 1 });
      expect((await store.messages.append(c.id, { role: 'user', content: 'after' })).message.seq).toBe(6);
      expect((await store.trash.list()).data).toEqual([]);
      expect((await store.events.list({ conversationId: c.id })).data.map((e) => e.type)).toContain('conversation.restored');
      await expectError(store.trash.restore(c.id), 'not_found');
      // Another tenant cannot see or restore it.
      await store.conversations.delete(c.id);
      expect((await store.tenant(`${store.tenantId}x`).trash.list()).data).toEqual([]);
      await expectError(store.tenant(`${store.tenantId}x`).trash.restore(c.id), 'not_found');
    });

    it('restores as closed when the contact has a newer open conversation, and links its successor again', async () => {
      const store = fresh();
      const { channel, contact, conversation } = await setup(store, { reopenWindowSeconds: 0 });
      await store.ingest({ channelId: channel.id, from: { address: contact.handles[0]!.address }, externalId: 'wamid.t1', content: 'first' });
      await store.conversations.update(conversation.id, { status: 'closed' });
      await new Promise((resolve) => setTimeout(resolve, 10)); // past its reopen window of 0 s (within one millisecond it reopens)
      const later = await store.ingest({ channelId: channel.id, from: { address: contact.handles[0]!.address }, externalId: 'wamid.t2', content: 'later' });
      expect(later.conversation.previousConversationId).toBe(conversation.id);
      // The newer one goes to the trash, then the contact writes again: a third conversation opens.
      await store.conversations.delete(later.conversation.id);
      const third = await store.ingest({ channelId: channel.id, from: { address: contact.handles[0]!.address }, externalId: 'wamid.t3', content: 'again' });
      expect(third.conversation.id).not.toBe(later.conversation.id);
      const restored = await store.trash.restore(later.conversation.id);
      expect(restored.closed).toBe(true);
      expect(restored.conversation).toMatchObject({ status: 'closed', closedAt: expect.any(String), previousConversationId: conversation.id });
      expect((await store.messages.list(later.conversation.id)).data.map((m) => m.content)).toEqual(['later']);
      // The one before the trashed one keeps pointing nowhere new; a successor's link comes back.
      await store.conversations.delete(conversation.id);
      expect((await store.conversations.get(later.conversation.id))!.previousConversationId).toBeNull();
      await store.trash.restore(conversation.id);
      expect((await store.conversations.get(later.conversation.id))!.previousConversationId).toBe(conversation.id);
    });

    it('erases at once with purge, when the contact is erased, and when the retention ends', async () => {
      const store = fresh();
      const { contact, conversation } = await setup(store);
      const lone = await store.conversations.create({});
      expect(await store.conversations.delete(lone.id, { purge: true })).toBe(true);
      expect(await store.trash.get(lone.id)).toBeNull();
      await store.messages.append(conversation.id, { role: 'user', content: 'held in the trash' });
      await store.conversations.delete(conversation.id);
      expect(await store.trash.get(conversation.id)).not.toBeNull();
      // A person's export shows what the trash still holds of theirs.
      const exported = (await store.contacts.export(contact.id))!;
      expect(exported.conversations.map((c) => c.id)).not.toContain(conversation.id);
      expect(exported.trashed).toEqual([expect.objectContaining({ id: conversation.id, purgeAt: expect.any(String), messages: [expect.objectContaining({ content: 'held in the trash' })] })]);
      await store.contacts.erase(contact.id);
      expect(await store.trash.get(conversation.id)).toBeNull(); // the right to erasure reaches the trash
      // ... and says so: the erasure names it, and its "trashed" event is gone with the rest.
      const erasure = (await store.events.list({ limit: 1000 })).data.find((e) => e.type === 'contact.erased' && e.data.contactId === contact.id);
      expect(erasure?.data.conversationIds).toContain(conversation.id);
      expect(await eventsOf(store, conversation.id)).toEqual([]);
      const other = await store.conversations.create({});
      await store.conversations.delete(other.id);
      const { backend } = scopeOfStore(store);
      expect(await backend.trash.purgeExpired(Date.now() + 6 * DAY)).toBe(0);
      expect(await backend.trash.purgeExpired(Date.now() + 8 * DAY)).toBeGreaterThanOrEqual(1);
      expect(await store.trash.get(other.id)).toBeNull();
      // A purge is announced, in place of the events that said "trashed".
      expect(await eventsOf(store, other.id)).toEqual([['conversation.deleted', { purged: true }]]);
      await expectError(store.trash.restore(other.id), 'not_found');
      const again = await store.conversations.create({});
      await store.conversations.delete(again.id);
      expect(await store.trash.purge(again.id)).toBe(true);
      expect(await store.trash.purge(again.id)).toBe(false);
      expect(await eventsOf(store, again.id)).toEqual([['conversation.deleted', { purged: true }]]);
      // Erasing a contact's conversations reaches the trash even when none is left outside it.
      const { contact: bea, conversation: beas } = await setup(store.tenant(`${store.tenantId}-b`));
      const b = store.tenant(`${store.tenantId}-b`);
      await b.conversations.delete(beas.id);
      expect(await b.conversations.deleteByContact(bea.id)).toEqual([]);
      expect(await b.trash.get(beas.id)).toBeNull();
      expect(await eventsOf(b, beas.id)).toEqual([['conversation.deleted', { purged: true }]]);
    });

    it('brings back a reply that waited in the outbox as failed, never to be sent blindly', async () => {
      const store = fresh();
      const { channel, contact } = await setup(store);
      const inbound = await store.ingest({ channelId: channel.id, from: { address: contact.handles[0]!.address }, externalId: 'wamid.p1', content: 'oi' });
      const { message } = await store.messages.append(inbound.conversation.id, { role: 'assistant', content: 'Olá!' });
      expect(message.status).toBe('pending');
      await store.conversations.delete(inbound.conversation.id);
      await store.trash.restore(inbound.conversation.id);
      expect(await store.messages.get(message.id)).toMatchObject({ status: 'failed', error: { code: 'deleted_before_sent', reason: 'ambiguous' } });
    });

    it('lets an erasure and deletes into the trash race without a deadlock or anything left behind', async () => {
      const store = fresh();
      const other = second()?.tenant(store.tenantId) ?? store;
      for (let round = 0; round < 5; round++) {
        const { contact } = await setup(store.tenant(`${store.tenantId}-r${round}`));
        const t = store.tenant(`${store.tenantId}-r${round}`);
        const o = other.tenant(`${store.tenantId}-r${round}`);
        const extra = await Promise.all([1, 2, 3].map(() => t.conversations.create({ contactId: contact.id })));
        const results = await Promise.allSettled([o.contacts.erase(contact.id), ...extra.map((c, i) => (i % 2 ? t : o).conversations.delete(c.id))]);
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect((await t.trash.list()).data).toEqual([]);
      }
    });
  });
}
