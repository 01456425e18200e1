import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../../../src/index.js';
import { expectError, type Harness } from './harness.js';

export function messagesCases({ second, fresh, setup }: Harness): void {
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

    it('pages with an opaque cursor in either order, keeping the bounds of the first page', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      for (let i = 1; i <= 9; i++) await store.messages.append(conversation.id, { role: 'user', content: `m${i}` });
      const walk = async (options: { order: 'asc' | 'desc'; after?: number; before?: number }) => {
        const seqs: number[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.messages.list(conversation.id, { ...(cursor ? { cursor } : options), order: options.order, limit: 2 });
          seqs.push(...page.data.map((m) => m.seq));
          cursor = page.nextCursor ?? undefined;
          if (++pages > 10) throw new Error('paging does not end');
        } while (cursor);
        return { seqs, pages };
      };
      expect(await walk({ order: 'asc' })).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9], pages: 5 });
      expect(await walk({ order: 'desc' })).toEqual({ seqs: [9, 8, 7, 6, 5, 4, 3, 2, 1], pages: 5 });
      // The first page's bounds hold for every page after it, though only the cursor is passed back.
      expect(await walk({ order: 'asc', after: 2, before: 8 })).toEqual({ seqs: [3, 4, 5, 6, 7], pages: 3 });
      expect(await walk({ order: 'desc', after: 2, before: 8 })).toEqual({ seqs: [7, 6, 5, 4, 3], pages: 3 });
      // The newest page (the one a cache may serve) and a full last page say there is no more.
      expect((await store.messages.list(conversation.id, { order: 'desc', limit: 9 })).nextCursor).toBeNull();
      expect((await store.messages.list(conversation.id, { limit: 9 })).nextCursor).toBeNull();
      const desc = (await store.messages.list(conversation.id, { order: 'desc', limit: 2 })).nextCursor!;
      await expectError(store.messages.list(conversation.id, { cursor: desc }), 'invalid_argument', { cursor: desc });
      await expectError(store.messages.list(conversation.id, { cursor: 'garbage' }), 'invalid_argument', { cursor: 'garbage' });
    });

    it('is idempotent on idempotencyKey and externalId: the original comes back, nothing is written', async () => {
      const store = fresh();
      const { conversation } = await setup(store);
      const first = await store.messages.append(conversation.id, { role: 'user', content: 'hi', idempotencyKey: 'k1' });
      const eventsBefore = (await store.events.list()).data;
      const again = await store.messages.append(conversation.id, { role: 'user', content: 'hi', idempotencyKey: 'k1' });
      expect(again).toEqual({ message: first.message, duplicate: true });
      // The key reused for another message is a mistake worth saying, not a silent duplicate (as payment APIs answer).
      await expectError(store.messages.append(conversation.id, { role: 'user', content: 'different body', idempotencyKey: 'k1' }), 'idempotency_key_reused', { idempotencyKey: 'k1', messageId: first.message.id });
      await expectError(store.messages.append(conversation.id, { role: 'assistant', content: 'hi', idempotencyKey: 'k1' }), 'idempotency_key_reused');
      await expectError(store.messages.append(conversation.id, { role: 'user', content: 'hi', metadata: { x: 1 }, idempotencyKey: 'k1' }), 'idempotency_key_reused');
      // Numbers compare as stored JSON: -0 is 0.
      const zero = await store.messages.append(conversation.id, { role: 'user', content: 'z', confidence: 0, metadata: { n: -0 }, idempotencyKey: 'k0' });
      expect(await store.messages.append(conversation.id, { role: 'user', content: 'z', confidence: -0, metadata: { n: 0 }, idempotencyKey: 'k0' })).toMatchObject({ duplicate: true, message: { id: zero.message.id } });
      await expectError(store.messages.append(conversation.id, { role: 'user', content: 'z', confidence: 0, metadata: { n: 0 }, externalId: 'other', idempotencyKey: 'k0' }), 'idempotency_key_reused');
      // A retry that leaves out what the first call left out is the same request (its stored time is kept).
      expect(await store.messages.append(conversation.id, { role: 'user', content: 'hi', idempotencyKey: 'k1', createdAt: first.message.createdAt })).toEqual({ message: first.message, duplicate: true });
      const ext = await store.messages.append(conversation.id, { role: 'user', content: 'x', externalId: 'wamid.1' });
      const extAgain = await store.messages.append(conversation.id, { role: 'user', content: 'x', externalId: 'wamid.1' });
      expect(extAgain).toEqual({ message: ext.message, duplicate: true });
      expect((await store.messages.list(conversation.id)).data.map((m) => m.seq)).toEqual([1, 2, 3]);
      expect((await store.events.list()).data).toHaveLength(eventsBefore.length + 2);
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
      await setup(store);
      // A conversation without a channel: nothing sends its messages, their status is the caller's to move.
      const conversation = await store.conversations.create();
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
      const peer = second()?.tenant(store.tenantId);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        (peer && i % 2 ? peer : store).messages.append(conversation.id, { role: 'user', content: `c${i}` })));
      expect(results.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      const stored = (await store.messages.list(conversation.id, { limit: 100 })).data;
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(stored.map((m) => m.content)).size).toBe(50);
      expect((await store.conversations.get(conversation.id))!.lastSeq).toBe(50);
    });
  });
}
