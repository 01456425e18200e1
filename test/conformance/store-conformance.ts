import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ColloquyError, type Store } from '../../src/index.js';
import { uniqueName } from '../helpers/services.js';

/**
 * The store's behaviour, specified once. Every backend runs this suite through a ten-line test file.
 * Each test works in a fresh tenant of the target's database, so tests are independent without new databases.
 */
export interface ConformanceTarget {
  /** A new store instance (its own connections) on the target's one database. */
  open(): Promise<Store>;
  /** Whether two open() stores share one database (so cross-instance races can be run). */
  readonly sharedAcrossInstances: boolean;
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;

export async function expectError(promise: Promise<unknown>, code: string): Promise<ColloquyError> {
  const error = await promise.then(
    () => { throw new Error(`expected a ColloquyError ${code}, but the call succeeded`); },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ColloquyError);
  expect((error as ColloquyError).code).toBe(code);
  return error as ColloquyError;
}

export function storeConformance(name: string, makeTarget: () => Promise<ConformanceTarget | undefined>): void {
  describe(`store conformance: ${name}`, async () => {
    const target = await makeTarget();
    // Undefined only when the service is unreachable and COLLOQUY_REQUIRE_SERVICES is not set.
    describe.skipIf(!target)('', () => {
      let base: Store;
      let second: Store | undefined;
      beforeAll(async () => {
        base = await target!.open();
        if (target!.sharedAcrossInstances) second = await target!.open();
      });
      afterAll(async () => {
        await second?.close();
        await base?.close();
        await target?.cleanup();
      });
      const fresh = () => base.tenant(uniqueName('t'));

      async function setup(store: Store, config?: { reopenWindowSeconds?: number }) {
        const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic', ...(config ? { config } : {}) });
        const contact = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: '5511999999999' }, name: 'Ana' });
        const conversation = await store.conversations.create({ contactId: contact.id, channelId: channel.id });
        return { channel, contact, conversation };
      }

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
          const other = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: 'other' } });
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
          const other = await store.contacts.upsert({ handle: { channel: 'whatsapp', address: 'other' } });
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

      describe('channels', () => {
        it('creates with a 24 h reopen window by default and keeps channel-specific config', async () => {
          const store = fresh();
          const a = await store.channels.create({ kind: 'whatsapp', name: 'main' });
          expect(a.config.reopenWindowSeconds).toBe(86_400);
          const b = await store.channels.create({ kind: 'telegram', name: 'bot', config: { reopenWindowSeconds: 60, token: 'x' } as never });
          expect(b.config).toEqual({ reopenWindowSeconds: 60, token: 'x' });
          expect(await store.channels.get(a.id)).toEqual(a);
          expect((await store.channels.list()).data.map((c) => c.id)).toEqual([a.id, b.id]);
          await expectError(store.channels.create({ kind: 'fax' as never, name: 'x' }), 'invalid_argument');
          await expectError(store.channels.create({ kind: 'web', name: 'x', config: { reopenWindowSeconds: -1 } }), 'invalid_argument');
        });
      });

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

        it('deletes a conversation with its messages and state; later ones lose the link only', async () => {
          const store = fresh();
          const { contact, channel, conversation } = await setup(store);
          await store.messages.append(conversation.id, { role: 'user', content: 'a' });
          await store.state.set(conversation.id, { state: 's', expectedVersion: 0 });
          await store.conversations.update(conversation.id, { status: 'closed' });
          const next = await store.ingest({ channelId: channel.id, from: { address: '5511999999999' }, externalId: 'w1', content: 'b', timestamp: Date.now() + 48 * HOUR });
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

      describe('messages', () => {
        it('appends with gapless seq and pages history by seq', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          for (let i = 1; i <= 7; i++) {
            const { message, duplicate } = await store.messages.append(conversation.id, { role: i % 2 ? 'user' : 'assistant', content: `m${i}` });
            expect(duplicate).toBe(false);
            expect(message).toMatchObject({ seq: i, content: `m${i}`, conversationId: conversation.id });
          }
          const full = await store.messages.append(conversation.id, {
            role: 'assistant', content: 'Dr. Silva, 10h', parts: [{ type: 'interactive', buttons: ['ok'] }], intent: 'offer_slot',
            confidence: 0.9, entities: { doctor: 'Silva' }, metadata: { model: 'x' },
          });
          expect(await store.messages.get(full.message.id)).toEqual(full.message);
          expect(full.message).toMatchObject({ seq: 8, status: 'pending', parts: [{ type: 'interactive', buttons: ['ok'] }], confidence: 0.9, entities: { doctor: 'Silva' } });
          const seqs = async (o: object) => (await store.messages.list(conversation.id, o)).data.map((m) => m.seq);
          expect(await seqs({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
          expect(await seqs({ order: 'desc', limit: 3 })).toEqual([8, 7, 6]);
          expect(await seqs({ after: 5 })).toEqual([6, 7, 8]);
          expect(await seqs({ before: 3, order: 'desc' })).toEqual([2, 1]);
          expect(await seqs({ after: 2, before: 6, limit: 2 })).toEqual([3, 4]);
          expect(await seqs({ after: 8 })).toEqual([]);
          const conv = await store.conversations.get(conversation.id);
          expect(conv).toMatchObject({ lastSeq: 8 });
          expect(conv!.lastMessageAt).not.toBeNull();
          await expectError(store.messages.list(conversation.id, { limit: 0 }), 'invalid_argument');
          await expectError(store.messages.list(conversation.id, { after: -1 }), 'invalid_argument');
          await expectError(store.messages.list('018f0000-0000-7000-8000-000000000000'), 'not_found');
        });

        it('is idempotent on idempotencyKey and externalId: the original comes back, nothing is written', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          const first = await store.messages.append(conversation.id, { role: 'user', content: 'hi', idempotencyKey: 'k1' });
          const eventsBefore = (await store.events.list()).data;
          const again = await store.messages.append(conversation.id, { role: 'user', content: 'different body', idempotencyKey: 'k1' });
          expect(again).toEqual({ message: first.message, duplicate: true });
          const ext = await store.messages.append(conversation.id, { role: 'user', content: 'x', externalId: 'wamid.1' });
          const extAgain = await store.messages.append(conversation.id, { role: 'user', content: 'x', externalId: 'wamid.1' });
          expect(extAgain).toEqual({ message: ext.message, duplicate: true });
          expect((await store.messages.list(conversation.id)).data.map((m) => m.seq)).toEqual([1, 2]);
          expect((await store.events.list()).data).toHaveLength(eventsBefore.length + 1);
          // Without a channel, an externalId is unique within its conversation only.
          const a = await store.conversations.create();
          const b = await store.conversations.create();
          await store.messages.append(a.id, { role: 'user', content: 'x', externalId: 'e' });
          expect((await store.messages.append(b.id, { role: 'user', content: 'x', externalId: 'e' })).duplicate).toBe(false);
        });

        it('rejects bad messages and appends to closed or missing conversations without writing', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          const bad = [
            { role: 'robot', content: 'x' },
            { role: 'user' },
            { role: 'user', content: 42 },
            { role: 'user', content: 'nul \u0000 inside' },
            { role: 'user', content: 'lone surrogate \ud800' },
            { role: 'user', content: 'x', confidence: 2 },
            { role: 'user', content: 'x', unknownField: true },
            { role: 'user', content: 'x', metadata: { deep: 'a\u0000' } },
            { role: 'user', content: 'x', createdAt: 'yesterday' },
            { role: 'user', content: 'x', idempotencyKey: '' },
          ];
          for (const input of bad) await expectError(store.messages.append(conversation.id, input as never), 'invalid_argument');
          await expectError(store.messages.append('018f0000-0000-7000-8000-000000000000', { role: 'user', content: 'x' }), 'not_found');
          await expectError(store.messages.append('nope', { role: 'user', content: 'x' }), 'invalid_argument');
          await store.conversations.update(conversation.id, { status: 'closed' });
          await expectError(store.messages.append(conversation.id, { role: 'assistant', content: 'late' }), 'conversation_closed');
          expect((await store.messages.list(conversation.id)).data).toEqual([]);
          expect((await store.events.list()).data.filter((e) => e.type === 'message.created')).toEqual([]);
        });

        it('moves delivery statuses forward only', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          const { message } = await store.messages.append(conversation.id, { role: 'assistant', content: 'x' });
          expect(message.status).toBe('pending');
          const t0 = Date.now();
          expect((await store.messages.updateStatus(message.id, 'sent', t0)).changed).toBe(true);
          expect((await store.messages.updateStatus(message.id, 'read', t0 + 2)).message.status).toBe('read');
          const late = await store.messages.updateStatus(message.id, 'delivered', t0 + 1);
          expect(late).toMatchObject({ changed: false, message: { status: 'read' } });
          expect((await store.messages.updateStatus(message.id, 'failed')).changed).toBe(false);
          expect((await store.messages.get(message.id))!.status).toBe('read');
          expect((await store.messages.get(message.id))!.statusAt).toBe(new Date(t0 + 2).toISOString());
          const other = (await store.messages.append(conversation.id, { role: 'assistant', content: 'y' })).message;
          expect((await store.messages.updateStatus(other.id, 'failed')).changed).toBe(true);
          expect((await store.messages.updateStatus(other.id, 'delivered')).changed).toBe(false);
          const statusEvents = (await store.events.list()).data.filter((e) => e.type === 'message.status');
          expect(statusEvents.map((e) => e.data.status)).toEqual(['sent', 'read', 'failed']);
          await expectError(store.messages.updateStatus(message.id, 'seen' as never), 'invalid_argument');
          for (const at of [9e15, -1, 1.5, 'not a date', '1960-01-01T00:00:00Z', {}]) {
            await expectError(store.messages.updateStatus(other.id, 'read', at as never), 'invalid_argument');
          }
          await expectError(store.messages.updateStatus('018f0000-0000-7000-8000-000000000000', 'read'), 'not_found');
          expect((await store.messages.append(conversation.id, { role: 'user', content: 'in' })).message.status).toBe('delivered');
        });

        it('isolates failures among concurrent appends: the others are stored, gapless', async () => {
          const store = fresh();
          const open = await store.conversations.create();
          const closed = await store.conversations.create();
          await store.conversations.update(closed.id, { status: 'closed' });
          const calls = Array.from({ length: 30 }, (_, i) =>
            i % 3 === 0 ? store.messages.append(open.id, { role: 'user', content: `ok ${i}` })
              : i % 3 === 1 ? store.messages.append(closed.id, { role: 'user', content: 'no' })
                : store.messages.append('018f0000-0000-7000-8000-000000000000', { role: 'user', content: 'no' }));
          const results = await Promise.allSettled(calls);
          const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ColloquyError).code));
          expect(codes).toEqual(Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 'ok' : i % 3 === 1 ? 'conversation_closed' : 'not_found')));
          expect((await store.messages.list(open.id)).data.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
          expect((await store.messages.list(closed.id)).data).toEqual([]);
        });

        it('gives 50 concurrent appends to one conversation seq 1..50 with no gap', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          const peer = second?.tenant(store.tenantId);
          const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
            (peer && i % 2 ? peer : store).messages.append(conversation.id, { role: 'user', content: `c${i}` })));
          expect(results.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          const stored = (await store.messages.list(conversation.id, { limit: 100 })).data;
          expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(new Set(stored.map((m) => m.content)).size).toBe(50);
          expect((await store.conversations.get(conversation.id))!.lastSeq).toBe(50);
        });
      });

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
          const channel = await store.channels.create({ kind: 'whatsapp', name: 'clinic' });
          const t0 = Date.now();
          const a = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e1', content: 'a', timestamp: t0 });
          await store.conversations.update(a.conversation.id, { status: 'closed' });
          const inside = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e2', content: 'b', timestamp: new Date(t0 + 23 * HOUR).toISOString() });
          expect(inside).toMatchObject({ created: false, reopened: true, message: { seq: 2 } });
          expect(inside.conversation).toMatchObject({ id: a.conversation.id, status: 'open', closedAt: null });
          await store.conversations.update(a.conversation.id, { status: 'closed' });
          const outside = await store.ingest({ channelId: channel.id, from: { address: '77' }, externalId: 'e3', content: 'c', timestamp: t0 + 48 * HOUR });
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
          const peer = second?.tenant(store.tenantId);
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
          const peer = second?.tenant(store.tenantId);
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

      describe('state', () => {
        it('starts at version 0 and is written with compare-and-set', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          expect(await store.state.get(conversation.id)).toEqual({
            conversationId: conversation.id, state: null, previousState: null, data: {}, version: 0, updatedAt: null,
          });
          const v1 = await store.state.set(conversation.id, { state: 'ask_doctor', data: { patient: 'Ana' }, expectedVersion: 0 });
          expect(v1).toMatchObject({ state: 'ask_doctor', previousState: null, data: { patient: 'Ana' }, version: 1 });
          const v2 = await store.state.set(conversation.id, { state: 'ask_date', data: { patient: 'Ana', doctor: 'Silva' }, expectedVersion: 1 });
          expect(v2).toMatchObject({ state: 'ask_date', previousState: 'ask_doctor', version: 2 });
          const v3 = await store.state.set(conversation.id, { data: { patient: 'Ana', doctor: 'Silva', date: '2026-12-01' }, expectedVersion: 2 });
          expect(v3).toMatchObject({ state: 'ask_date', previousState: 'ask_doctor', version: 3 });
          const conflict = await expectError(store.state.set(conversation.id, { state: 'done', expectedVersion: 2 }), 'version_mismatch');
          expect(conflict.details).toMatchObject({ expectedVersion: 2, currentVersion: 3 });
          expect(await store.state.get(conversation.id)).toEqual(v3);
          await expectError(store.state.set(conversation.id, { state: 'x' } as never), 'invalid_argument');
          await expectError(store.state.get('018f0000-0000-7000-8000-000000000000'), 'not_found');
          await expectError(store.state.set('018f0000-0000-7000-8000-000000000000', { expectedVersion: 0 }), 'not_found');
          const events = (await store.events.list({ conversationId: conversation.id })).data.filter((e) => e.type === 'state.updated');
          expect(events.map((e) => e.data.version)).toEqual([1, 2, 3]);
        });

        it('lets exactly one of 10 racing writers with the same expectedVersion win', async () => {
          const store = fresh();
          const { conversation } = await setup(store);
          const peer = second?.tenant(store.tenantId);
          const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
            (peer && i % 2 ? peer : store).state.set(conversation.id, { state: `s${i}`, expectedVersion: 0 })));
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          expect(rejected.every((r) => r.reason instanceof ColloquyError && ['version_mismatch', 'conflict'].includes(r.reason.code))).toBe(true);
          expect((await store.state.get(conversation.id)).version).toBe(1);
        });
      });

      describe('agents', () => {
        it('creates, lists, updates and deletes; names are unique per tenant', async () => {
          const store = fresh();
          const agent = await store.agents.create({ name: 'receptionist', instructions: 'Book appointments.', model: 'openai:gpt-4o-mini', params: { temperature: 0.2 } });
          expect(agent).toMatchObject({ name: 'receptionist', model: 'openai:gpt-4o-mini', params: { temperature: 0.2 }, metadata: {} });
          expect(await store.agents.get(agent.id)).toEqual(agent);
          await expectError(store.agents.create({ name: 'receptionist', model: 'x' }), 'conflict');
          const other = await store.agents.create({ name: 'triage', model: 'x' });
          expect((await store.agents.list()).data.map((a) => a.name)).toEqual(['receptionist', 'triage']);
          const updated = await store.agents.update(agent.id, { instructions: 'Book and cancel.' });
          expect(updated).toMatchObject({ name: 'receptionist', instructions: 'Book and cancel.', params: { temperature: 0.2 } });
          await expectError(store.agents.update(other.id, { name: 'receptionist' }), 'conflict');
          await expectError(store.agents.update('018f0000-0000-7000-8000-000000000000', { model: 'y' }), 'not_found');
          const conversation = await store.conversations.create({ agentId: agent.id });
          expect(await store.agents.delete(agent.id)).toBe(true);
          expect(await store.agents.get(agent.id)).toBeNull();
          expect((await store.conversations.get(conversation.id))!.agentId).toBeNull();
          expect(await store.agents.delete(agent.id)).toBe(false);
          await expectError(store.agents.create({ name: '', model: 'x' }), 'invalid_argument');
          // Another tenant may use the same name.
          await base.tenant(uniqueName('t')).agents.create({ name: 'triage', model: 'x' });
        });

        it('filters conversations by agent and assigns agents by update', async () => {
          const store = fresh();
          const agent = await store.agents.create({ name: 'a', model: 'm' });
          const c = await store.conversations.create();
          await store.conversations.create();
          expect((await store.conversations.update(c.id, { agentId: agent.id })).agentId).toBe(agent.id);
          expect((await store.conversations.list({ agentId: agent.id })).data.map((x) => x.id)).toEqual([c.id]);
          await expectError(store.conversations.update(c.id, { agentId: '018f0000-0000-7000-8000-000000000000' }), 'not_found');
        });
      });

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
          const peer = second?.tenant(store.tenantId);
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
      });

      describe('tenants', () => {
        it('isolates every record: another tenant sees nothing and cannot change anything', async () => {
          const store = fresh();
          const intruder = fresh();
          const { contact, channel, conversation } = await setup(store);
          const { message } = await store.messages.append(conversation.id, { role: 'user', content: 'secret' });
          const agent = await store.agents.create({ name: 'a', model: 'm' });
          expect(await intruder.contacts.get(contact.id)).toBeNull();
          expect(await intruder.contacts.findByHandle({ channel: 'whatsapp', address: '5511999999999' })).toBeNull();
          expect(await intruder.contacts.export(contact.id)).toBeNull();
          expect(await intruder.contacts.erase(contact.id)).toBe(false);
          expect(await intruder.channels.get(channel.id)).toBeNull();
          expect((await intruder.channels.list()).data).toEqual([]);
          expect(await intruder.conversations.get(conversation.id)).toBeNull();
          expect((await intruder.conversations.list()).data).toEqual([]);
          await expectError(intruder.conversations.update(conversation.id, { status: 'closed' }), 'not_found');
          expect(await intruder.conversations.delete(conversation.id)).toBe(false);
          await expectError(intruder.messages.append(conversation.id, { role: 'user', content: 'x' }), 'not_found');
          await expectError(intruder.messages.list(conversation.id), 'not_found');
          expect(await intruder.messages.get(message.id)).toBeNull();
          await expectError(intruder.messages.updateStatus(message.id, 'read'), 'not_found');
          await expectError(intruder.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'x', content: 'x' }), 'not_found');
          await expectError(intruder.state.get(conversation.id), 'not_found');
          await expectError(intruder.state.set(conversation.id, { expectedVersion: 0 }), 'not_found');
          expect(await intruder.agents.get(agent.id)).toBeNull();
          expect(await intruder.agents.delete(agent.id)).toBe(false);
          await expectError(intruder.conversations.create({ contactId: contact.id }), 'not_found');
          expect((await intruder.events.list()).data).toEqual([]);
          expect(await store.conversations.get(conversation.id)).toMatchObject({ status: 'open' });
          await expectError(Promise.resolve().then(() => base.tenant('bad tenant!')), 'invalid_argument');
        });
      });
    });
  });
}
