import { describe, expect, it } from 'vitest';
import { uniqueName } from '../../helpers/services.js';
import { expectError, type Harness } from './harness.js';

export function agentsCases({ base, fresh }: Harness): void {
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
      await base().tenant(uniqueName('t')).agents.create({ name: 'triage', model: 'x' });
    });

    it('pages agents by name with an opaque cursor', async () => {
      const store = fresh();
      for (const name of ['delta', 'Alpha', 'charlie', 'bravo', 'echo']) await store.agents.create({ name, model: 'm' });
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.agents.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        names.push(...page.data.map((a) => a.name));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(names).toEqual(['Alpha', 'bravo', 'charlie', 'delta', 'echo']); // by code point, the same on every backend
      await expectError(store.agents.list({ cursor: 'garbage' }), 'invalid_argument', { cursor: 'garbage' });
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
}
