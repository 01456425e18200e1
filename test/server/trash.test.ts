import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';
import { purgeExpiredTrash } from '../../src/store/trash.js';

const DAY = 86_400_000;

describe('the trash over HTTP', () => {
  it('moves a deleted conversation to the trash, restores it, erases with ?purge=true, and purges after the retention', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const store = await openStore({ url: 'sqlite::memory:', clock: () => now, trashDays: 7 });
    const app = await buildApp({ store, logger: false });
    try {
      const post = (url: string, payload?: unknown) => app.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
      const c = (await post('/v1/conversations', { title: 'to trash' })).json();
      const m = (await post(`/v1/conversations/${c.id}/messages`, { role: 'user', content: 'hello' })).json().message;
      expect((await app.inject({ method: 'DELETE', url: `/v1/conversations/${c.id}` })).statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: `/v1/conversations/${c.id}` })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: `/v1/messages/${m.id}` })).statusCode).toBe(404);
      const trash = (await app.inject({ method: 'GET', url: '/v1/trash' })).json();
      expect(trash.data).toEqual([expect.objectContaining({ id: c.id, messages: 1, deletedAt: '2026-12-01T10:00:00.000Z', purgeAt: '2026-12-08T10:00:00.000Z' })]);
      expect((await app.inject({ method: 'GET', url: `/v1/trash/${c.id}` })).json().conversation.title).toBe('to trash');
      const restored = await post(`/v1/trash/${c.id}/restore`);
      expect(restored.statusCode).toBe(200);
      expect(restored.json()).toMatchObject({ closed: false, conversation: { id: c.id, lastSeq: 1 } });
      expect((await app.inject({ method: 'GET', url: `/v1/messages/${m.id}` })).json()).toMatchObject({ id: m.id, seq: 1, content: 'hello' });
      expect((await post(`/v1/trash/${c.id}/restore`)).statusCode).toBe(404);

      // ?purge=true erases at once.
      expect((await app.inject({ method: 'DELETE', url: `/v1/conversations/${c.id}?purge=true` })).statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: `/v1/trash/${c.id}` })).statusCode).toBe(404);
      expect((await app.inject({ method: 'DELETE', url: `/v1/conversations/${c.id}?purge=maybe` })).statusCode).toBe(400);

      // The sweep erases what stayed past its retention, and only that.
      const old = (await post('/v1/conversations', {})).json();
      await app.inject({ method: 'DELETE', url: `/v1/conversations/${old.id}` });
      now += 3 * DAY;
      const recent = (await post('/v1/conversations', {})).json();
      await app.inject({ method: 'DELETE', url: `/v1/conversations/${recent.id}` });
      now += 4 * DAY + 1;
      expect(await purgeExpiredTrash(store)).toBe(1);
      expect((await app.inject({ method: 'GET', url: '/v1/trash' })).json().data.map((e: { id: string }) => e.id)).toEqual([recent.id]);
      expect((await app.inject({ method: 'DELETE', url: `/v1/trash/${recent.id}` })).statusCode).toBe(204);
      expect((await app.inject({ method: 'DELETE', url: `/v1/trash/${recent.id}` })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/v1/trash?cursor=bogus' })).statusCode).toBe(400);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('purges a large expired trash in several transactions, every conversation announced once', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const store = await openStore({ url: 'sqlite::memory:', clock: () => now, trashDays: 1 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 450; i++) ids.push((await store.conversations.create({})).id);
      for (const id of ids) await store.conversations.delete(id);
      now += 2 * DAY;
      expect(await purgeExpiredTrash(store)).toBe(450);
      expect((await store.trash.list()).data).toEqual([]);
      const purged = (await store.events.list({ limit: 1000 })).data.filter((e) => e.type === 'conversation.deleted' && e.data.purged === true);
      expect(purged.map((e) => e.conversationId).sort()).toEqual([...ids].sort());
      expect(await purgeExpiredTrash(store)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('erases at once when the retention is 0 days, and refuses a retention that is not a number of days', async () => {
    const store = await openStore({ url: 'sqlite::memory:', trashDays: 0 });
    try {
      const c = await store.conversations.create({});
      expect(await store.conversations.delete(c.id)).toBe(true);
      expect(await store.trash.get(c.id)).toBeNull();
    } finally {
      await store.close();
    }
    await expect(openStore({ url: 'sqlite::memory:', trashDays: 1.5 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
