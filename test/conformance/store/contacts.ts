import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { expectError, type Harness } from './harness.js';

export function contactsCases({ fresh, second, setup }: Harness): void {
  describe('contacts', () => {
    it('upserts by handle: one contact per handle, name and metadata updated', async () => {
      const store = fresh();
      const a = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '551100' }, name: 'Ana' });
      expect(a).toMatchObject({ name: 'Ana', handles: [{ channel: 'whatsapp', address: '551100' }], metadata: {} });
      const b = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '551100' }, name: 'Ana Souza', metadata: { vip: true } });
      expect(b.id).toBe(a.id);
      expect(b).toMatchObject({ name: 'Ana Souza', metadata: { vip: true } });
      const c = await store.contacts.upsert({ handle: { channel: 'telegram', address: '551100' } });
      expect(c.id).not.toBe(a.id);
      expect(await store.contacts.get(a.id)).toEqual(b);
      expect(await store.contacts.get(a.id.toUpperCase())).toEqual(b); // ids are case-insensitive on every backend
      expect(await store.contacts.findByHandle({ channel: 'whatsapp', address: '551100' })).toEqual(b);
      expect(await store.contacts.findByHandle({ channel: 'whatsapp', address: 'nobody' })).toBeNull();
      expect(await store.contacts.get('018f0000-0000-7000-8000-000000000000')).toBeNull();
    });

    it('rejects invalid input before writing anything', async () => {
      const store = fresh();
      await expectError(store.contacts.upsert({ handle: { channel: 'pigeon' as never, address: 'x' } }), 'invalid_argument');
      await expectError(store.contacts.upsert({ handle: { channel: 'whatsapp', address: '' } }), 'invalid_argument');
      await expectError(store.contacts.upsert({ handle: { channel: 'whatsapp', address: 'a\u0000b' } }), 'invalid_argument');
      await expectError(store.contacts.upsert({ handle: { channel: 'whatsapp', address: 'x' }, extra: 1 } as never), 'invalid_argument');
      await expectError(store.contacts.get('not-a-uuid'), 'invalid_argument');
      expect(await store.contacts.findByHandle({ channel: 'whatsapp', address: 'x' })).toBeNull();
      expect((await store.events.list()).data).toEqual([]);
    });

    it('finds contacts by a part of their name or of a handle address, in any case, wildcards taken literally', async () => {
      const store = fresh();
      const ana = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999990001' }, name: 'Ana Souza' });
      const analia = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999990002' }, name: 'ANALIA' });
      await store.contacts.upsert({ handle: { channel: 'telegram', address: '42' }, name: 'Bruno' });
      const promo = await store.contacts.upsert({ handle: { channel: 'telegram', address: '43' }, name: '50%_off' });
      const ids = async (q: string) => (await store.contacts.list({ q })).data.map((c) => c.id);
      expect(await ids('ana')).toEqual([ana.id, analia.id]);
      expect(await ids('99990001')).toEqual([ana.id]);
      expect(await ids('%')).toEqual([promo.id]);
      expect(await ids('_')).toEqual([promo.id]);
      expect(await ids('nobody')).toEqual([]);
      const first = await store.contacts.list({ q: 'N', limit: 1 });
      const rest = await store.contacts.list({ q: 'N', limit: 10, cursor: first.nextCursor! });
      expect([...first.data, ...rest.data].map((c) => c.name)).toEqual(['Ana Souza', 'ANALIA', 'Bruno']);
      expect((await store.tenant(`${store.tenantId}x`).contacts.list({ q: 'ana' })).data).toEqual([]);
      await expectError(store.contacts.list({ q: '' }), 'invalid_argument');
    });

    it('reads many contacts at once: those that exist, of this tenant only', async () => {
      const store = fresh();
      const ana = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999990011' }, name: 'Ana' });
      const bruno = await store.contacts.upsert({ handle: { channel: 'telegram', address: '77' }, name: 'Bruno' });
      const other = await store.tenant(`${store.tenantId}x`).contacts.upsert({ handle: { channel: 'telegram', address: '78' }, name: 'Not yours' });
      const found = await store.contacts.many([bruno.id, ana.id.toUpperCase(), other.id, crypto.randomUUID(), 'not-an-id', ana.id]);
      expect(found.sort((a, b) => a.id.localeCompare(b.id))).toEqual([ana, bruno].sort((a, b) => a.id.localeCompare(b.id)));
      expect(await store.contacts.many([])).toEqual([]);
      await expectError(store.contacts.many(Array.from({ length: 201 }, () => crypto.randomUUID())), 'invalid_argument');
    });

    it('exports everything of a contact as plain JSON', async () => {
      const store = fresh();
      const { contact, conversation } = await setup(store);
      await store.messages.append(conversation.id, { role: 'user', content: 'quero marcar consulta' });
      await store.messages.append(conversation.id, { role: 'assistant', content: 'Com qual médico?' });
      await store.state.set(conversation.id, { state: 'choosing_doctor', data: { patient: 'Ana' }, expectedVersion: 0 });
      const exported = await store.contacts.export(contact.id);
      expect(exported).not.toBeNull();
      expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);
      expect(exported!.contact.id).toBe(contact.id);
      expect(exported!.conversations).toHaveLength(1);
      expect(exported!.conversations[0]!.messages.map((m) => m.content)).toEqual(['quero marcar consulta', 'Com qual médico?']);
      expect(exported!.conversations[0]!.state).toMatchObject({ state: 'choosing_doctor', data: { patient: 'Ana' }, version: 1 });
      expect(await store.contacts.export('018f0000-0000-7000-8000-000000000000')).toBeNull();
    });

    it('erases a contact with all their conversations, messages, state and events', async () => {
      const store = fresh();
      const { contact, conversation, channel } = await setup(store);
      await store.messages.append(conversation.id, { role: 'user', content: 'meu CPF é 123' });
      await store.state.set(conversation.id, { data: { cpf: '123' }, expectedVersion: 0 });
      const other = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5500000000001' } });
      const kept = await store.conversations.create({ contactId: other.id, channelId: channel.id });
      await store.messages.append(kept.id, { role: 'user', content: 'oi' });

      expect(await store.contacts.erase(contact.id)).toBe(true);
      expect(await store.contacts.get(contact.id)).toBeNull();
      expect(await store.contacts.findByHandle({ channel: 'whatsapp', address: '5511999999999' })).toBeNull();
      expect(await store.conversations.get(conversation.id)).toBeNull();
      await expectError(store.messages.list(conversation.id), 'not_found');
      await expectError(store.state.get(conversation.id), 'not_found');
      expect((await store.events.list({ conversationId: conversation.id })).data).toEqual([]);
      const events = (await store.events.list({ limit: 1000 })).data;
      expect(events.some((e) => e.conversationId === conversation.id)).toBe(false);
      expect(events.at(-1)).toMatchObject({ type: 'contact.erased', data: { contactId: contact.id, conversationIds: [conversation.id] } });
      // Someone else's data is untouched.
      expect((await store.messages.list(kept.id)).data).toHaveLength(1);
      expect(await store.contacts.erase(contact.id)).toBe(false);
      // The handle is free again: the same number starts from nothing.
      const again = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999999999' } });
      expect(again.id).not.toBe(contact.id);
      expect(again.name).toBeNull();
    });

    it("erasing a contact unlinks other contacts' conversations that followed theirs (imported links)", async () => {
      const store = fresh();
      const { contact, conversation, channel } = await setup(store);
      const other = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5500000000001' } });
      const template = await store.conversations.create({ contactId: other.id, channelId: channel.id });
      // Only an import can link one contact's conversation to another's.
      const id = randomUUID();
      const state = { ...(await store.state.get(template.id)), conversationId: id };
      await store.importAll([{ kind: 'conversation', tenant: store.tenantId, data: { ...template, id, status: 'closed', closedAt: template.createdAt, previousConversationId: conversation.id, state } }]);
      expect((await store.conversations.get(id))!.previousConversationId).toBe(conversation.id); // read (and cached) with the link
      expect(await store.contacts.erase(contact.id)).toBe(true);
      expect((await store.conversations.get(id))!.previousConversationId).toBeNull();
    });
  });

  describe('the contact-merge rule (imports)', () => {
    it('merges a contact given a handle of another: the older survives, the older-activity open conversation closes and links', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
      const older = await store.ingest({ channelId: channel.id, from: { address: '5511000000001', name: 'Ana' }, externalId: 'm-a', content: 'oi', timestamp: Date.now() - 60_000 });
      const newer = await store.ingest({ channelId: channel.id, from: { address: '5511000000002' }, externalId: 'm-b', content: 'olá' });
      const olderContact = older.conversation.contactId!;
      const newerContact = (await store.contacts.get(newer.conversation.contactId!))!;
      // The newer contact's record, as an export of another database would carry it, with Ana's handle as well.
      const record = { kind: 'contact', tenant: store.tenantId, data: { ...newerContact, handles: [...newerContact.handles, { channel: 'whatsapp', address: '5511000000001' }] } };
      const races = [store, ...(second() ? [second()!.tenant(store.tenantId)] : []), store];
      const reports = await Promise.all(races.map((s) => s.importAll([record])));
      expect(reports.map((r) => r.merged + r.present)).toEqual(races.map(() => 1));
      expect(reports.reduce((n, r) => n + r.merged, 0)).toBe(1);
      expect(reports.reduce((n, r) => n + r.closed, 0)).toBe(1);

      const survivor = (await store.contacts.get(olderContact))!;
      expect(survivor.handles.map((h) => h.address).sort()).toEqual(['5511000000001', '5511000000002']);
      expect(await store.contacts.get(newerContact.id)).toBeNull();
      expect(await store.conversations.get(older.conversation.id)).toMatchObject({ status: 'closed', version: older.conversation.version + 1 });
      expect(await store.conversations.get(newer.conversation.id)).toMatchObject({
        status: 'open', contactId: olderContact, previousConversationId: older.conversation.id, version: newer.conversation.version + 1,
      });
      const events = (await store.events.list({ limit: 100 })).data.filter((e) => e.type === 'contact.merged' || (e.type === 'conversation.updated'));
      expect(events.map((e) => e.type)).toEqual(['conversation.updated', 'conversation.updated', 'contact.merged']);
      expect(events.at(-1)!.data).toEqual({ survivorId: olderContact, mergedId: newerContact.id, closed: [older.conversation.id], moved: [newer.conversation.id] });
      // Both numbers now reach the survivor's one open conversation; the merged id still imports as present.
      for (const address of ['5511000000001', '5511000000002']) {
        const next = await store.ingest({ channelId: channel.id, from: { address }, externalId: `again-${address}`, content: '?' });
        expect(next.conversation.id).toBe(newer.conversation.id);
      }
      expect(await store.importAll([record])).toMatchObject({ present: 1, merged: 0 });
      expect(await store.importAll([record], { dryRun: true })).toMatchObject({ present: 1, merged: 0 });
    });
  });

  describe('imports at once', () => {
    it('two imports whose contacts share handles in the opposite order both finish, and every pair of handles ends on one contact', async () => {
      const store = fresh();
      const other = second()?.tenant(store.tenantId) ?? store;
      const now = new Date().toISOString();
      const contact = (handles: Array<[string, string]>) => ({
        kind: 'contact', tenant: store.tenantId,
        data: { id: randomUUID(), name: null, metadata: {}, createdAt: now, updatedAt: now, handles: handles.map(([channel, address]) => ({ channel, address })) },
      });
      const one = [];
      const two = [];
      for (let i = 0; i < 30; i++) {
        one.push(contact([['whatsapp', `5500${i}`], ['telegram', `7700${i}`]]));
        two.push(contact([['telegram', `7700${i}`], ['whatsapp', `5500${i}`]]));
      }
      const [a, b] = await Promise.all([store.importAll(one), other.importAll(two)]);
      for (const r of [a, b]) expect(r.inserted + r.present + r.merged + r.skipped).toBe(30);
      expect(a.merged + b.merged).toBe(30);
      for (let i = 0; i < 30; i++) {
        const byPhone = await store.contacts.findByHandle({ channel: 'whatsapp', address: `5500${i}` });
        expect((await store.contacts.findByHandle({ channel: 'telegram', address: `7700${i}` }))!.id).toBe(byPhone!.id);
      }
      // The same new file twice at once: one import inserts each record, the other finds it present; nothing is skipped.
      const three = Array.from({ length: 30 }, (_, i) => contact([['web', `w${i}`]]));
      const twice = await Promise.all([store.importAll(three), other.importAll(three)]);
      expect(twice.map((r) => r.skipped)).toEqual([0, 0]);
      expect(twice[0]!.inserted + twice[1]!.inserted).toBe(30);
    });
  });

  describe('contacts listing and erasing conversations by contact', () => {
    it('lists contacts oldest first with cursor paging', async () => {
      const store = fresh();
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await store.contacts.upsert({ handle: { channel: 'web', address: `u${i}` }, name: `n${i}` }));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.contacts.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.data.map((c) => c.id));
        expect(page.data.every((c) => c.handles.length === 1)).toBe(true);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(made.map((c) => c.id));
      await expectError(store.contacts.list({ cursor: 'nope' }), 'invalid_argument');
      expect((await fresh().contacts.list()).data).toEqual([]);
    });

    it('erases all conversations of a contact and keeps the contact', async () => {
      const store = fresh();
      const { contact, channel, conversation } = await setup(store);
      await store.messages.append(conversation.id, { role: 'user', content: 'x' });
      await store.conversations.update(conversation.id, { status: 'closed' });
      const second = await store.conversations.create({ contactId: contact.id, channelId: channel.id });
      const unrelated = await store.conversations.create();
      const deleted = await store.conversations.deleteByContact(contact.id);
      expect(deleted.sort()).toEqual([conversation.id, second.id].sort());
      expect(await store.conversations.get(conversation.id)).toBeNull();
      expect(await store.conversations.get(second.id)).toBeNull();
      expect(await store.conversations.get(unrelated.id)).not.toBeNull();
      expect(await store.contacts.get(contact.id)).not.toBeNull();
      expect((await store.events.list({ conversationId: conversation.id })).data.map((e) => e.type)).toEqual(['conversation.deleted']);
      expect(await store.conversations.deleteByContact(contact.id)).toEqual([]);
      await expectError(store.conversations.deleteByContact('018f0000-0000-7000-8000-000000000000'), 'not_found');
    });
  });
}
