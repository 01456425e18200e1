import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../../../src/index.js';
import { expectError, type Harness } from './harness.js';

const MISSING = '018f0000-0000-7000-8000-000000000000';

/** Every failure's code and details, pinned: the same on every backend and every path, the racing one included. */
export function errorsCases({ fresh, setup, second }: Harness): void {
  describe('error shapes', () => {
    it('names the missing record, the stale version, the closed conversation and the broken rule', async () => {
      const store = fresh();
      const { contact, channel, conversation } = await setup(store);
      await expectError(store.conversations.update(MISSING, { title: 'x' }), 'not_found', { resource: 'conversation', id: MISSING });
      await expectError(store.messages.append(MISSING, { role: 'user', content: 'x' }), 'not_found', { resource: 'conversation', id: MISSING });
      await expectError(store.messages.updateStatus(MISSING, 'read'), 'not_found', { resource: 'message', id: MISSING });
      await expectError(store.state.set(MISSING, { expectedVersion: 0 }), 'not_found', { resource: 'conversation', id: MISSING });
      await expectError(store.ingest({ channelId: MISSING, from: { address: '1' }, externalId: 'x', content: 'x' }), 'not_found', { resource: 'channel', id: MISSING });
      await expectError(store.conversations.create({ agentId: MISSING }), 'not_found', { resource: 'agent', id: MISSING });
      await expectError(store.conversations.create({ contactId: MISSING }), 'not_found', { resource: 'contact', id: MISSING });
      await expectError(store.agents.update(MISSING, { model: 'm' }), 'not_found', { resource: 'agent', id: MISSING });

      await expectError(store.conversations.create({ contactId: contact.id, channelId: channel.id }), 'conflict', { reason: 'open_conversation_exists' });
      await expectError(store.conversations.update(conversation.id, { title: 'x', expectedVersion: 9 }), 'version_mismatch', { expectedVersion: 9, currentVersion: 1 });
      await expectError(store.state.set(conversation.id, { state: 's', expectedVersion: 3 }), 'version_mismatch', { expectedVersion: 3, currentVersion: 0 });

      await store.conversations.update(conversation.id, { status: 'closed' });
      await expectError(store.messages.append(conversation.id, { role: 'assistant', content: 'late' }), 'conversation_closed', { id: conversation.id });
      const newer = await store.conversations.create({ contactId: contact.id, channelId: channel.id });
      await expectError(store.conversations.update(conversation.id, { status: 'open' }), 'conflict', { reason: 'open_conversation_exists' });
      await store.conversations.update(newer.id, { status: 'waiting' });
      await expectError(store.conversations.update(conversation.id, { status: 'waiting' }), 'conflict', { reason: 'open_conversation_exists' });

      await store.agents.create({ name: 'triage', model: 'm' });
      const other = await store.agents.create({ name: 'billing', model: 'm' });
      await expectError(store.agents.create({ name: 'triage', model: 'm' }), 'conflict', { reason: 'agent_name_taken', name: 'triage' });
      await expectError(store.agents.update(other.id, { name: 'triage' }), 'conflict', { reason: 'agent_name_taken', name: 'triage' });
    });

    it('names the field at fault in invalid input, and the cursor that is not one', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      const bad = await expectError(store.messages.append(conversation.id, { role: 'robot', content: 'x' } as never), 'invalid_argument');
      expect(bad.message).toMatch(/\/role/);
      const nul = await expectError(store.messages.append(conversation.id, { role: 'user', content: 'a\u0000b' }), 'invalid_argument');
      expect(nul.details).toEqual({ errors: [{ path: '/content', message: 'contains a NUL character' }] });
      // An unknown field is named, with the known ones; an enum says its allowed values.
      const unknown = await expectError(store.conversations.create({ title: 'x', colour: 'red' } as never), 'invalid_argument');
      expect(unknown.details).toEqual({ errors: [{ path: '/colour', message: expect.stringMatching(/^is not a known field \(known: contactId, channelId, agentId, title, metadata, status, chatId\)$/) }] });
      expect(unknown.message).toMatch(/\/colour is not a known field/);
      const nested = await expectError(store.ingest({ channelId: conversation.id, from: { address: '1', nick: 'x' }, externalId: 'e', content: 'x' } as never), 'invalid_argument');
      expect(nested.details).toEqual({ errors: [{ path: '/from/nick', message: 'is not a known field (known: address, name)' }] });
      expect(bad.details).toEqual({ errors: [{ path: '/role', message: 'must be one of: "user", "assistant", "system", "tool"' }] });
      // Unix seconds (WhatsApp's, Telegram's) are not milliseconds: refused, saying so, never stored as 1970.
      const seconds = await expectError(store.messages.append(conversation.id, { role: 'user', content: 'x', createdAt: 1_764_580_000 }), 'invalid_argument');
      expect(seconds.message).toMatch(/1764580000 looks like seconds since 1970; send milliseconds \(1764580000000\)/);
      expect(seconds.details).toEqual({ errors: [{ path: '/createdAt', message: 'is in seconds, not milliseconds' }] });
      await expectError(store.messages.updateStatus((await store.messages.append(conversation.id, { role: 'system', content: 'y' })).message.id, 'read', 1_764_580_000), 'invalid_argument');
      expect((await store.messages.append(conversation.id, { role: 'user', content: 'ms', createdAt: 1_764_580_000_000 })).message.createdAt).toBe('2025-12-01T09:06:40.000Z');
      await expectError(store.conversations.get('nope'), 'invalid_argument', { errors: [expect.objectContaining({ path: '/' })] });
      await expectError(store.conversations.list({ cursor: 'garbage' }), 'invalid_argument', { cursor: 'garbage' });
      await expectError(store.events.list({ after: 'garbage' }), 'invalid_argument', { after: 'garbage' });
      // A cursor of one list is not one of another.
      for (let i = 0; i < 3; i++) await store.conversations.create();
      const conversations = (await store.conversations.list({ limit: 1 })).nextCursor!;
      await expectError(store.contacts.list({ cursor: conversations }), 'invalid_argument', { cursor: conversations });
    });

    it('reports a racing second open conversation exactly as the checked path does', async () => {
      const store = fresh();
      const peer = second()?.tenant(store.tenantId) ?? store;
      const { contact, channel, conversation } = await setup(store);
      const pair = { contactId: contact.id, channelId: channel.id };
      // Ten creates of one pair's conversation at once, half from another instance: one at most, the rest conflict.
      await store.conversations.update(conversation.id, { status: 'closed' });
      const creates = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : store).conversations.create(pair)));
      expect(creates.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of creates) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conflict', details: { reason: 'open_conversation_exists' } });
      // Two closed conversations of the pair reopened at once, from both instances: one wins, the other conflicts.
      const opened = creates.find((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof store.conversations.create>>> => r.status === 'fulfilled')!.value;
      await store.conversations.update(opened.id, { status: 'closed' });
      for (let round = 0; round < 5; round++) {
        const reopened = await Promise.allSettled([
          store.conversations.update(conversation.id, { status: 'open' }),
          peer.conversations.update(opened.id, { status: 'open' }),
        ]);
        expect(reopened.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const lost = reopened.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as ColloquyError;
        expect({ code: lost.code, details: lost.details }).toEqual({ code: 'conflict', details: { reason: 'open_conversation_exists' } });
        for (const id of [conversation.id, opened.id]) await store.conversations.update(id, { status: 'closed' });
      }
    });

    it('reports a reference deleted while it is being taken exactly as a missing one', async () => {
      const store = fresh();
      const peer = second()?.tenant(store.tenantId) ?? store;
      for (let round = 0; round < 8; round++) {
        const agent = await store.agents.create({ name: `a${round}`, model: 'm' });
        const [created, deleted] = await Promise.allSettled([peer.conversations.create({ agentId: agent.id }), store.agents.delete(agent.id)]);
        expect(deleted).toMatchObject({ status: 'fulfilled', value: true });
        if (created.status === 'rejected') expect(created.reason).toMatchObject({ code: 'not_found', details: { resource: 'agent', id: agent.id } });
        else expect((await store.conversations.get(created.value.id))!.agentId).toBeNull(); // taken, then cleared by the delete

        const contact = await store.contacts.upsert({ handle: { channel: 'web', address: `c${round}` } });
        const [opened, erased] = await Promise.allSettled([peer.conversations.create({ contactId: contact.id }), store.contacts.erase(contact.id)]);
        expect(erased).toMatchObject({ status: 'fulfilled', value: true });
        if (opened.status === 'rejected') expect(opened.reason).toMatchObject({ code: 'not_found', details: { resource: 'contact', id: contact.id } });
        else expect(await store.conversations.get(opened.value.id)).toBeNull(); // created, then erased with its contact
      }
    });
  });
}
