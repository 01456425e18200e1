import { describe, expect, it } from 'vitest';
import { agentOps, autoReplyOps } from '../../../src/store/agent-ops.js';
import { expectError, type Harness } from './harness.js';

/** What agents store: token counts, the usage ledger, budgets, turns one at a time per conversation, chat ids. */
export function turnsCases({ fresh, second, setup }: Harness): void {
  describe('agent storage', () => {
    it('records the usage of an assistant message in the ledger, with the message, on every append path', async () => {
      const store = fresh();
      const agent = await store.agents.create({ name: 'a', model: 'openai:gpt-4o-mini' });
      const plain = await store.conversations.create({ agentId: agent.id });
      const { message } = await store.messages.append(plain.id, { role: 'assistant', content: 'Hello', usage: { model: 'openai:gpt-4o-mini', agentId: agent.id, inputTokens: 100, outputTokens: 20, cost: 0.0001 } });
      expect(message).toMatchObject({ tokens: expect.any(Number), usage: { provider: 'openai', model: 'openai:gpt-4o-mini', agentId: agent.id, inputTokens: 100, outputTokens: 20, cachedInputTokens: 0, reasoningTokens: 0, totalTokens: 120, cost: 0.0001 } });
      expect(await store.messages.get(message.id)).toEqual(message);
      // An idempotent retry records nothing more.
      const keyed = { role: 'assistant' as const, content: 'Again', idempotencyKey: 'k1', usage: { model: 'openai:gpt-4o-mini', inputTokens: 5, outputTokens: 5 } };
      await store.messages.append(plain.id, keyed);
      expect((await store.messages.append(plain.id, keyed)).duplicate).toBe(true);
      // Through the outbox: an answer to a WhatsApp customer.
      const { channel } = await setup(store);
      const inbound = await store.ingest({ channelId: channel.id, from: { address: '5511988887777' }, externalId: 'wamid.usage', content: 'oi' });
      await store.messages.append(inbound.conversation.id, { role: 'assistant', content: 'Olá', usage: { model: 'openai:gpt-4o-mini', inputTokens: 7, outputTokens: 3 } });
      const report = await store.usage.report({ groupBy: 'conversation' });
      expect(report.groups.map((g) => [g.key, g.calls, g.totalTokens]).sort()).toEqual([[inbound.conversation.id, 1, 10], [plain.id, 2, 130]].sort());
      expect(report.total).toMatchObject({ calls: 3, inputTokens: 112, outputTokens: 28, totalTokens: 140, cost: 0.0001 });
      const events = (await store.events.list({ conversationId: plain.id })).data.filter((e) => e.type === 'usage.recorded');
      expect(events).toHaveLength(2);
      await expectError(store.messages.append(plain.id, { role: 'user', content: 'x', usage: { model: 'm:x', inputTokens: 1, outputTokens: 1 } }), 'invalid_argument');
    });

    it('keeps chat ids unique per agent and pauses an agent on a conversation', async () => {
      const store = fresh();
      const agent = await store.agents.create({ name: 'a', model: 'm:x' });
      const other = await store.agents.create({ name: 'b', model: 'm:x' });
      const c = await store.conversations.create({ agentId: agent.id, chatId: 'chat-1' });
      expect(c).toMatchObject({ chatId: 'chat-1', agentPaused: false });
      await expectError(store.conversations.create({ agentId: agent.id, chatId: 'chat-1' }), 'conflict', { reason: 'chat_id_taken', chatId: 'chat-1' });
      expect((await store.conversations.create({ agentId: other.id, chatId: 'chat-1' })).chatId).toBe('chat-1');
      await expectError(store.conversations.create({ chatId: 'chat-2' }), 'invalid_argument');
      const paused = await store.conversations.update(c.id, { agentPaused: true });
      expect(paused).toMatchObject({ agentPaused: true, version: 2 });
      expect(await store.conversations.get(c.id)).toMatchObject({ agentPaused: true });
      const updated = (await store.events.list({ conversationId: c.id })).data.filter((e) => e.type === 'conversation.updated');
      expect(updated.at(-1)!.data).toMatchObject({ changed: ['agentPaused'] });
    });

    it('keeps budgets per scope', async () => {
      const store = fresh();
      const agent = await store.agents.create({ name: 'a', model: 'm:x' });
      expect(await store.budgets.get('tenant')).toBeNull();
      expect(await store.budgets.put('tenant', { dailyTokens: 1000 })).toMatchObject({ scope: 'tenant', dailyTokens: 1000 });
      expect(await store.budgets.put(`agent:${agent.id.toUpperCase()}`, { dailyCost: 2.5, whenExceeded: { reply: 'Busy.' } })).toMatchObject({ scope: `agent:${agent.id}` });
      expect((await store.budgets.list()).map((b) => b.scope)).toEqual([`agent:${agent.id}`, 'tenant']);
      expect(await store.budgets.put('tenant', { dailyTokens: 5 })).toMatchObject({ dailyTokens: 5 });
      expect(await store.budgets.delete('tenant')).toBe(true);
      expect(await store.budgets.delete('tenant')).toBe(false);
      await expectError(store.budgets.put('everyone', { dailyTokens: 1 }), 'invalid_argument');
      await expectError(store.budgets.put('agent:018f0000-0000-7000-8000-000000000000', { dailyTokens: 1 }), 'not_found');
    });

    it('runs one turn at a time per conversation: claimed, busy for another message, answered once its reply is stored', async () => {
      const store = fresh();
      const ops = agentOps(store);
      const agent = await store.agents.create({ name: 'a', model: 'm:x' });
      const c = await store.conversations.create({ agentId: agent.id });
      const first = (await store.messages.append(c.id, { role: 'user', content: 'one' })).message;
      const next = (await store.messages.append(c.id, { role: 'user', content: 'two' })).message;
      const begin = (messageId: string, owner: string) => ops.beginTurn({ conversationId: c.id, messageId, agentId: agent.id, replyKey: `reply:${messageId}`, owner, leaseMs: 60_000 });
      expect(await begin(first.id, 'a')).toEqual({ outcome: 'claimed' });
      expect(await begin(first.id, 'b')).toEqual({ outcome: 'busy', messageId: first.id });
      expect(await begin(next.id, 'b')).toEqual({ outcome: 'busy', messageId: first.id });
      const reply = (await store.messages.append(c.id, { role: 'assistant', content: 'answer', idempotencyKey: `reply:${first.id}` })).message;
      await ops.finishTurn(first.id, 'a', { replyId: reply.id });
      expect(await begin(first.id, 'c')).toEqual({ outcome: 'done', replyId: reply.id });
      expect(await ops.storedAnswer(c.id, 'nope')).toBeUndefined();
      expect(await begin(next.id, 'b')).toEqual({ outcome: 'claimed' });
      // A failed turn may run again.
      await ops.finishTurn(next.id, 'b', { error: { code: 'upstream_error', message: 'down' } });
      expect(await ops.turn(next.id)).toMatchObject({ state: 'failed', error: { code: 'upstream_error' } });
      expect(await begin(next.id, 'd')).toEqual({ outcome: 'claimed' });
      await expectError(ops.beginTurn({ conversationId: '018f0000-0000-7000-8000-000000000000', messageId: next.id, agentId: agent.id, replyKey: 'r', owner: 'x', leaseMs: 1 }), 'not_found');
    });

    it('schedules automatic replies (a newer message replaces one still waiting) and hands each due turn to one claimer', async () => {
      const store = fresh();
      const ops = agentOps(store);
      const agent = await store.agents.create({ name: 'a', model: 'm:x' });
      const conversations = await Promise.all(Array.from({ length: 6 }, () => store.conversations.create({ agentId: agent.id })));
      const messages: string[] = [];
      for (const c of conversations) {
        const older = (await store.messages.append(c.id, { role: 'user', content: 'one' })).message;
        const newer = (await store.messages.append(c.id, { role: 'user', content: 'two' })).message;
        expect(await ops.scheduleTurn({ conversationId: c.id, messageId: older.id, agentId: agent.id, dueAt: 0 })).toBe(true);
        expect(await ops.scheduleTurn({ conversationId: c.id, messageId: newer.id, agentId: agent.id, dueAt: 0 })).toBe(true);
        expect(await ops.scheduleTurn({ conversationId: c.id, messageId: newer.id, agentId: agent.id, dueAt: 0 })).toBe(false);
        expect(await ops.turn(older.id)).toBeUndefined();
        messages.push(newer.id);
      }
      const other = second()?.tenant(store.tenantId) ?? store;
      const [a, b] = await Promise.all([autoReplyOps(store).claimDue('claimer-a', 60_000, 100), autoReplyOps(other).claimDue('claimer-b', 60_000, 100)]);
      const mine = [...a, ...b].filter((t) => messages.includes(t.messageId));
      expect(mine.map((t) => t.messageId).sort()).toEqual([...messages].sort());
      expect(new Set(mine.map((t) => t.conversationId)).size).toBe(6);
      expect(await autoReplyOps(store).claimDue('claimer-c', 60_000, 100)).toEqual(expect.not.arrayContaining([expect.objectContaining({ messageId: messages[0] })]));
    });
  });
}
