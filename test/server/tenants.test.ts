import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { storeTargets } from '../helpers/services.js';


const ADMIN = 'admin-secret-for-tests-0123456789abcdef';

for (const target of storeTargets) {
  describe(`API keys and tenants on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let store: Store;
      let app: App;
      beforeAll(async () => {
        store = opened!.store;
        app = await buildApp({ store, logger: false, adminKey: ADMIN, keyCacheMs: 0 });
      });
      afterAll(async () => {
        await app?.close();
        await store?.close();
        await opened?.cleanup();
      });
      const call = (key: string | undefined, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
        app.inject({
          method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }),
          headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
        });

      it('lists the tenants for the admin key only', async () => {
        const key = (await store.keys.create({ tenant: 'listed-a' })).secret;
        await call(ADMIN, 'POST', '/v1/conversations', {}, { 'x-colloquy-tenant': 'listed-b' });
        const listed = await call(ADMIN, 'GET', '/v1/tenants');
        expect(listed.statusCode).toBe(200);
        expect(listed.json().data.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(['listed-a', 'listed-b']));
        expect((await call(key, 'GET', '/v1/tenants')).statusCode).toBe(403);
      });

      it('refuses calls without a valid key, with a message saying how to get one', async () => {
        const missing = await call(undefined, 'GET', '/v1/conversations');
        expect(missing.statusCode).toBe(401);
        expect(missing.json().error).toMatchObject({ code: 'unauthenticated' });
        expect(missing.json().error.message).toMatch(/colloquy keys create/);
        expect((await call('cq_not-a-real-key', 'GET', '/v1/conversations')).statusCode).toBe(401);
        expect((await call(undefined, 'GET', '/health')).statusCode).toBe(200); // operations stay open
      });

      it('scopes every endpoint to the key\'s tenant: another tenant\'s ids answer 404', async () => {
        const a = (await store.keys.create({ tenant: 'clinic-a' })).secret;
        const b = (await store.keys.create({ tenant: 'clinic-b', name: 'bot' })).secret;
        const channel = (await call(a, 'POST', '/v1/channels', { kind: 'whatsapp', name: 'A' })).json();
        const inbound = (await call(a, 'POST', '/v1/inbound', { channelId: channel.id, from: { address: '55' }, externalId: 'w1', content: 'secret' })).json();
        const conversation = inbound.conversation;
        const contactId = conversation.contactId;
        const agent = (await call(a, 'POST', '/v1/agents', { name: 'x', model: 'openai:m' })).json();
        const foreign: Array<[string, string, unknown?]> = [
          ['GET', `/v1/conversations/${conversation.id}`],
          ['PATCH', `/v1/conversations/${conversation.id}`, { title: 'stolen' }],
          ['DELETE', `/v1/conversations/${conversation.id}`],
          ['POST', `/v1/conversations/${conversation.id}/messages`, { role: 'user', content: 'x' }],
          ['GET', `/v1/conversations/${conversation.id}/messages`],
          ['GET', `/v1/conversations/${conversation.id}/state`],
          ['PUT', `/v1/conversations/${conversation.id}/state`, { expectedVersion: 0 }],
          ['POST', '/v1/inbound', { channelId: channel.id, from: { address: '55' }, externalId: 'w2', content: 'x' }],
          ['GET', `/v1/contacts/${contactId}`],
          ['GET', `/v1/contacts/${contactId}/export`],
          ['DELETE', `/v1/contacts/${contactId}`],
          ['GET', `/v1/channels/${channel.id}`],
          ['GET', `/v1/agents/${agent.id}`],
          ['PATCH', `/v1/agents/${agent.id}`, { name: 'y' }],
          ['DELETE', `/v1/agents/${agent.id}`],
          ['POST', '/v1/conversations', { contactId }],
          ['DELETE', `/v1/conversations?contactId=${contactId}`],
        ];
        for (const [method, url, body] of foreign) {
          const response = await call(b, method, url, body);
          expect({ method, url, status: response.statusCode }).toEqual({ method, url, status: 404 });
        }
        expect((await call(b, 'GET', '/v1/conversations')).json().data).toEqual([]);
        expect((await call(b, 'GET', '/v1/channels')).json().data).toEqual([]);
        expect((await call(b, 'GET', '/v1/contacts')).json().data).toEqual([]);
        // Nothing of A's changed.
        expect((await call(a, 'GET', `/v1/conversations/${conversation.id}`)).json()).toMatchObject({ title: null, lastSeq: 1 });
        expect((await call(a, 'GET', `/v1/agents/${agent.id}`)).statusCode).toBe(200);
      });

      it('stops accepting a revoked key and lets the admin key act on a named tenant', async () => {
        const { key, secret } = await store.keys.create({ tenant: 'shop' });
        const created = await call(secret, 'POST', '/v1/conversations', { title: 'mine' });
        expect(created.statusCode).toBe(201);
        expect(await store.keys.revoke(key.id)).toBe(true);
        expect((await call(secret, 'GET', '/v1/conversations')).statusCode).toBe(401);
        const asAdmin = await call(ADMIN, 'GET', `/v1/conversations/${created.json().id}`, undefined, { 'x-colloquy-tenant': 'shop' });
        expect(asAdmin.statusCode).toBe(200);
        expect((await call(ADMIN, 'GET', `/v1/conversations/${created.json().id}`)).statusCode).toBe(404);
        expect((await call(ADMIN, 'GET', '/v1/conversations', undefined, { 'x-colloquy-tenant': 'bad tenant!' })).statusCode).toBe(400);
        const listed = (await store.keys.list()).data;
        expect(listed.find((k) => k.id === key.id)).toMatchObject({ tenantId: 'shop', revokedAt: expect.any(String), prefix: secret.slice(0, 10) });
        expect(JSON.stringify(listed)).not.toContain(secret);
      });
    });
  });
}

describe('a server on a public address', () => {
  it('stays locked when its last key is revoked, instead of opening to everyone', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const app = await buildApp({ store, logger: false, keyCacheMs: 0, openWithoutKeys: false });
    try {
      expect((await app.inject({ method: 'GET', url: '/v1/conversations' })).statusCode).toBe(401);
      const { key, secret } = await store.keys.create({ tenant: 'default' });
      const auth = { authorization: `bEaReR ${secret}` };
      expect((await app.inject({ method: 'GET', url: '/v1/conversations', headers: auth })).statusCode).toBe(200);
      await store.keys.revoke(key.id);
      expect((await app.inject({ method: 'GET', url: '/v1/conversations' })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v1/conversations', headers: auth })).statusCode).toBe(401);
      expect((await app.inject({ method: 'HEAD', url: '/v1/events' })).statusCode).toBe(404); // no endless stream for HEAD
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('a server without any key', () => {
  it('is open on the default tenant (colloquy serve allows that on loopback only)', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const app = await buildApp({ store, logger: false, keyCacheMs: 0 });
    try {
      const created = await app.inject({ method: 'POST', url: '/v1/conversations', payload: {} });
      expect(created.statusCode).toBe(201);
      expect(await store.conversations.get(created.json().id)).not.toBeNull();
      await store.keys.create({ tenant: 'default' });
      expect((await app.inject({ method: 'GET', url: '/v1/conversations' })).statusCode).toBe(401);
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe('rate limit', () => {
  it('answers 429 rate_limited past the per-key limit, per key', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const app = await buildApp({ store, logger: false, keyCacheMs: 0, rateLimitPerMinute: 3 });
    try {
      const a = (await store.keys.create({ tenant: 'a' })).secret;
      const b = (await store.keys.create({ tenant: 'b' })).secret;
      const get = (key: string) => app.inject({ method: 'GET', url: '/v1/conversations', headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 3; i++) expect((await get(a)).statusCode).toBe(200);
      const limited = await get(a);
      expect(limited.statusCode).toBe(429);
      expect(limited.json().error.code).toBe('rate_limited');
      expect(limited.headers['retry-after']).toBeDefined();
      expect((await get(b)).statusCode).toBe(200); // another key has its own budget
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200); // operations are not limited
    } finally {
      await app.close();
      await store.close();
    }
  });
});
