import { describe, expect, it } from 'vitest';
import { ColloquyError } from '../../../src/index.js';
import { expectError, type Harness } from './harness.js';

export function stateCases({ second, fresh, setup }: Harness): void {
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
      const peer = second()?.tenant(store.tenantId);
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
        (peer && i % 2 ? peer : store).state.set(conversation.id, { state: `s${i}`, expectedVersion: 0 })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected.every((r) => r.reason instanceof ColloquyError && ['version_mismatch', 'conflict'].includes(r.reason.code))).toBe(true);
      expect((await store.state.get(conversation.id)).version).toBe(1);
    });
  });
}
