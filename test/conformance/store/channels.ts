import { describe, expect, it } from 'vitest';
import { channelSecrets } from '../../../src/store/channel-secrets.js';
import { expectError, type Harness } from './harness.js';

export function channelsCases({ fresh }: Harness): void {
  describe('channels', () => {
    it('creates with a 24 h reopen window by default and keeps channel-specific config', async () => {
      const store = fresh();
      const a = await store.channels.create({ kind: 'whatsapp', name: 'main' });
      expect(a.config.reopenWindowSeconds).toBe(86_400);
      const b = await store.channels.create({ kind: 'web', name: 'site', config: { reopenWindowSeconds: 60, theme: 'x' } });
      expect(b.config).toEqual({ reopenWindowSeconds: 60, theme: 'x' });
      expect(await store.channels.get(a.id)).toEqual(a);
      expect((await store.channels.list()).data.map((c) => c.id)).toEqual([a.id, b.id]);
      await expectError(store.channels.create({ kind: 'fax' as never, name: 'x' }), 'invalid_argument');
      await expectError(store.channels.create({ kind: 'web', name: 'x', config: { reopenWindowSeconds: -1 } }), 'invalid_argument');
    });

    it('holds WhatsApp and Telegram to their own config and secret names: an unknown key is a 400, at create and update', async () => {
      const store = fresh();
      const typo = await expectError(store.channels.create({ kind: 'whatsapp', name: 'x', config: { phoneNumberID: '1' } as never }), 'invalid_argument');
      expect(typo.message).toMatch(/phoneNumberID/);
      await expectError(store.channels.create({ kind: 'whatsapp', name: 'x', config: { graphApiUrl: 'ftp://x' } }), 'invalid_argument');
      await expectError(store.channels.create({ kind: 'telegram', name: 'x', config: { mode: 'push' } as never }), 'invalid_argument');
      await expectError(store.channels.create({ kind: 'whatsapp', name: 'x', secrets: { appSecrets: 's' } }), 'invalid_argument', { errors: [{ path: '/secrets/appSecrets', message: 'is not one of accessToken, appSecret, verifyToken' }] });
      const wa = await store.channels.create({ kind: 'whatsapp', name: 'ok', config: { phoneNumberId: '106540352242922', graphApiVersion: 'v26.0', staleAfterSeconds: 0 } });
      await expectError(store.channels.update(wa.id, { config: { mode: 'polling' } }), 'invalid_argument');
      await expectError(store.channels.update(wa.id, { secrets: { botToken: 'x' } }), 'invalid_argument');
      // null removes a key; the rest is merged.
      expect((await store.channels.update(wa.id, { config: { staleAfterSeconds: null, retryAmbiguous: true } as never })).config)
        .toEqual({ phoneNumberId: '106540352242922', graphApiVersion: 'v26.0', retryAmbiguous: true, reopenWindowSeconds: 86_400 });
      const tg = await store.channels.create({ kind: 'telegram', name: 'bot', config: { mode: 'polling' }, secrets: { botToken: '1:x' } });
      expect(tg.secrets).toEqual({ botToken: true });
    });

    it('keeps secrets write-only: every read says which are set, never their values', async () => {
      const store = fresh();
      const created = await store.channels.create({
        kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '1055' },
        secrets: { accessToken: 'EAAG-secret-token', appSecret: 'app-secret-value', verifyToken: 'verify-me' },
      });
      expect(created.secrets).toEqual({ accessToken: true, appSecret: true, verifyToken: true });
      expect(created.config).toEqual({ phoneNumberId: '1055', reopenWindowSeconds: 86_400 });
      const reads = [created, await store.channels.get(created.id), (await store.channels.list()).data, await store.channels.update(created.id, { name: 'renamed' })];
      for (const read of reads) {
        const text = JSON.stringify(read);
        for (const value of ['EAAG-secret-token', 'app-secret-value', 'verify-me']) expect(text).not.toContain(value);
      }
      // Only Colloquy's own channel code reads them back.
      expect(await channelSecrets(store, created.id)).toEqual({ accessToken: 'EAAG-secret-token', appSecret: 'app-secret-value', verifyToken: 'verify-me' });
      expect(await channelSecrets(fresh(), created.id)).toBeNull(); // another tenant's channel is unknown
      expect((await store.channels.create({ kind: 'web', name: 'plain' })).secrets).toEqual({});
    });

    it('updates by merging config and setting or removing single secrets', async () => {
      const store = fresh();
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'a', config: { phoneNumberId: '1', graphApiVersion: 'v26.0' }, secrets: { accessToken: 't1', appSecret: 's1' } });
      const updated = await store.channels.update(channel.id, {
        config: { phoneNumberId: '2', graphApiVersion: null, reopenWindowSeconds: 60 }, secrets: { accessToken: 't2', appSecret: null, verifyToken: 'v' },
      });
      expect(updated).toMatchObject({ name: 'a', config: { phoneNumberId: '2', reopenWindowSeconds: 60 }, secrets: { accessToken: true, verifyToken: true } });
      expect(updated.config).not.toHaveProperty('graphApiVersion');
      expect(updated.secrets).not.toHaveProperty('appSecret');
      expect(await channelSecrets(store, channel.id)).toEqual({ accessToken: 't2', verifyToken: 'v' });
      expect(await store.channels.get(channel.id)).toEqual(updated);
      // The new reopen window is the one continuity uses.
      const first = await store.ingest({ channelId: channel.id, from: { address: '9' }, externalId: 'w1', content: 'x' });
      await store.conversations.update(first.conversation.id, { status: 'closed' });
      const late = await store.ingest({ channelId: channel.id, from: { address: '9' }, externalId: 'w2', content: 'y', timestamp: Date.now() + 120_000 });
      expect(late.created).toBe(true);
      await expectError(store.channels.update('018f0000-0000-7000-8000-000000000000', { name: 'x' }), 'not_found', { resource: 'channel', id: '018f0000-0000-7000-8000-000000000000' });
      await expectError(store.channels.update(channel.id, { kind: 'web' } as never), 'invalid_argument');
      await expectError(store.channels.update(channel.id, { secrets: { 'not a name': 'x' } }), 'invalid_argument');
      await expectError(store.channels.create({ kind: 'web', name: 'x', secrets: { token: 42 } as never }), 'invalid_argument');
      expect(await channelSecrets(store, channel.id)).toEqual({ accessToken: 't2', verifyToken: 'v' });
    });

    it('ensures a channel: found by kind and name, or by an idempotency key, else created; racing calls create one', async () => {
      const store = fresh();
      const first = await store.channels.ensure({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '1' } as never });
      expect(first.created).toBe(true);
      // Found as it is: a second ensure changes nothing about it.
      const again = await store.channels.ensure({ kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '2' } as never });
      expect(again).toEqual({ channel: first.channel, created: false });
      // A channel made by create is found by its name too; another kind with the same name is another channel.
      const plain = await store.channels.create({ kind: 'web', name: 'site' });
      expect((await store.channels.ensure({ kind: 'web', name: 'site' })).channel.id).toBe(plain.id);
      expect((await store.channels.ensure({ kind: 'telegram', name: 'clinic' })).created).toBe(true);

      const raced = await Promise.all(Array.from({ length: 20 }, () => store.channels.ensure({ kind: 'telegram', name: 'raced' })));
      expect(new Set(raced.map((r) => r.channel.id)).size).toBe(1);
      expect(raced.filter((r) => r.created)).toHaveLength(1);

      // An idempotency key: the first channel it created, whatever the name says now; create with a key is the same.
      const keyed = await Promise.all(Array.from({ length: 20 }, () => store.channels.create({ kind: 'api', name: 'keyed', idempotencyKey: 'setup-1' })));
      expect(new Set(keyed.map((c) => c.id)).size).toBe(1);
      await store.channels.update(keyed[0]!.id, { name: 'renamed' });
      expect((await store.channels.ensure({ kind: 'api', name: 'keyed', idempotencyKey: 'setup-1' }))).toEqual({ channel: { ...keyed[0], name: 'renamed', updatedAt: expect.any(String) }, created: false });
      // The key reused for another request: 422, nothing created.
      await expectError(store.channels.ensure({ kind: 'api', name: 'other', idempotencyKey: 'setup-1' }), 'idempotency_key_reused', { idempotencyKey: 'setup-1', channelId: keyed[0]!.id });
      await expectError(store.channels.create({ kind: 'api', name: 'keyed', config: { x: 1 }, idempotencyKey: 'setup-1' }), 'idempotency_key_reused');

      // Renamed, a channel ensure created no longer answers its old name.
      await store.channels.update(first.channel.id, { name: 'clinic-old' });
      const fresh2 = await store.channels.ensure({ kind: 'whatsapp', name: 'clinic' });
      expect(fresh2.created).toBe(true);
      expect(fresh2.channel.id).not.toBe(first.channel.id);
      const all = (await store.channels.list({ limit: 200 })).data;
      expect(all.filter((c) => c.kind === 'api')).toHaveLength(1);
      // A caller's key can never pass for a name, whatever it spells, and a rename keeps it.
      const spoof = await store.channels.create({ kind: 'whatsapp', name: 'spoof', idempotencyKey: 'name:telegram:Bot' });
      const bot = await store.channels.ensure({ kind: 'telegram', name: 'Bot' });
      expect(bot.created).toBe(true);
      expect(bot.channel.id).not.toBe(spoof.id);
      await store.channels.update(spoof.id, { name: 'renamed' });
      expect((await store.channels.create({ kind: 'whatsapp', name: 'spoof', idempotencyKey: 'name:telegram:Bot' })).id).toBe(spoof.id);
      await expectError(store.channels.ensure({ kind: 'web', name: '' }), 'invalid_argument');
    });

    it('pages channels oldest first with an opaque cursor', async () => {
      const store = fresh();
      const made = [];
      for (let i = 0; i < 5; i++) made.push(await store.channels.create({ kind: 'web', name: `c${i}` }));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.channels.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((c) => c.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(made.map((c) => c.id));
      await expectError(store.channels.list({ cursor: 'garbage' }), 'invalid_argument');
      for (const address of ['a', 'b']) await store.contacts.upsert({ handle: { channel: 'web', address } });
      const contactCursor = (await store.contacts.list({ limit: 1 })).nextCursor!;
      await expectError(store.channels.list({ cursor: contactCursor }), 'invalid_argument', { cursor: contactCursor });
    });
  });
}
