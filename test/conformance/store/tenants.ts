import { describe, expect, it } from 'vitest';
import { expectError, type Harness } from './harness.js';

export function tenantsCases({ base, fresh, setup }: Harness): void {
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
      await expectError(Promise.resolve().then(() => base().tenant('bad tenant!')), 'invalid_argument');
    });
  });
}
