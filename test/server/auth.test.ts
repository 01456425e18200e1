import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/cache/redis/redis-client.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App, type AppConfig } from '../../src/server/app.js';
import { dropRedisPrefix, REDIS_URL, redisAvailable, uniqueName } from '../helpers/services.js';

const ADMIN = 'an-admin-key-long-enough-0123456789';
const opened: Array<{ app: App; store: Store }> = [];
afterAll(async () => {
  for (const { app, store } of opened) {
    await app.close();
    await store.close();
  }
});

async function server(config: Partial<AppConfig> = {}, store?: Store): Promise<{ app: App; store: Store }> {
  const s = store ?? (await openStore({ url: 'sqlite::memory:' }));
  const app = await buildApp({ store: s, logger: false, keyCacheMs: 0, ...config });
  opened.push({ app, store: s });
  return { app, store: s };
}

const get = (app: App, key?: string, url = '/v1/conversations', headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...headers } });

describe('the admin key', () => {
  it('is refused when shorter than 32 characters, with how to make one', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    try {
      await expect(buildApp({ store, logger: false, adminKey: '5820' })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/at least 32.*openssl rand/) });
    } finally {
      await store.close();
    }
  });
});

describe('provider URLs of a channel', () => {
  it('may be set by the admin key only on a server with keys: a tenant cannot point the server at internal addresses', async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const tenant = await store.keys.create({ tenant: 't' });
    const create = (key: string, config: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/channels', headers: { authorization: `Bearer ${key}` }, payload: { kind: 'whatsapp', name: 'x', config } });
    const refused = await create(tenant.secret, { graphApiUrl: 'http://169.254.169.254' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'forbidden', details: { fields: ['graphApiUrl'] } });
    const ok = await create(tenant.secret, { phoneNumberId: '1' });
    expect(ok.statusCode).toBe(201);
    const patched = await app.inject({ method: 'PATCH', url: `/v1/channels/${ok.json().id}`, headers: { authorization: `Bearer ${tenant.secret}` }, payload: { config: { graphApiUrl: 'http://127.0.0.1:9' } } });
    expect(patched.statusCode).toBe(403);
    expect((await create(ADMIN, { graphApiUrl: 'http://127.0.0.1:9' })).statusCode).toBe(201);
  });
});

describe('system alerts', () => {
  it("are the admin key's: a tenant key asking for them gets 403 and its own alerts still", async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const tenant = await store.keys.create({ tenant: 't' });
    const refused = await get(app, tenant.secret, '/v1/alerts?system=true');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/admin key/) });
    expect((await get(app, tenant.secret, '/v1/alerts')).statusCode).toBe(200);
    expect((await get(app, ADMIN, '/v1/alerts?system=true')).statusCode).toBe(200);
  });
});

describe('a request with a credential is judged by it', () => {
  // never had keys / has keys / all revoked × no header / valid / revoked / bogus × loopback (open allowed) / public.
  const states = ['never had keys', 'has keys', 'all revoked'] as const;
  const credentials = ['none', 'valid', 'revoked', 'bogus'] as const;
  for (const place of ['loopback', 'public'] as const) {
    for (const state of states) {
      it(`${place}, ${state}`, async () => {
        const { app, store } = await server({ openWithoutKeys: place === 'loopback' });
        let valid: string | undefined;
        let revoked: string | undefined;
        if (state !== 'never had keys') {
          const a = await store.keys.create({ tenant: 'default' });
          const b = await store.keys.create({ tenant: 'default' });
          await store.keys.revoke(b.key.id);
          revoked = b.secret;
          if (state === 'all revoked') await store.keys.revoke(a.key.id);
          else valid = a.secret;
        }
        const results: Record<string, number> = {};
        for (const credential of credentials) {
          const key = { none: undefined, valid, revoked, bogus: 'cq_made-up-key' }[credential];
          if (credential !== 'none' && key === undefined) continue; // no such key in this state
          results[credential] = (await get(app, key)).statusCode;
        }
        const open = place === 'loopback' && state === 'never had keys';
        expect(results).toEqual({
          none: open ? 200 : 401,
          ...(valid ? { valid: 200 } : {}),
          ...(revoked ? { revoked: 401 } : {}),
          bogus: 401,
        });
      });
    }
  }

  it('stays locked after the last key is revoked, until an operator opens it (--open), and says why a key is refused', async () => {
    const { app: locked, store } = await server();
    const { key, secret } = await store.keys.create({ tenant: 'default' });
    await store.keys.revoke(key.id);
    expect((await get(locked)).statusCode).toBe(401);
    const refused = await get(locked, secret);
    expect(refused.json().error).toMatchObject({ code: 'unauthenticated', details: { reason: 'revoked' } });
    expect((await get(locked, 'cq_nope')).json().error.details.reason).toBe('unknown');
    expect((await get(locked, undefined, '/v1/conversations', { authorization: 'Basic abc' })).json().error.details.reason).toBe('malformed');

    const { app: reopened } = await server({ forceOpen: true }, await openStore({ url: 'sqlite::memory:' }));
    expect((await get(reopened)).statusCode).toBe(200); // its database never had a key
    const { app: forced } = await server({ forceOpen: true }, store);
    expect((await get(forced)).statusCode).toBe(200);
    expect((await get(forced, secret)).statusCode).toBe(401); // a credential is still judged
    const active = await store.keys.create({ tenant: 'other' });
    expect((await get(forced)).statusCode).toBe(401); // --open never opens while a key is active
    expect((await get(forced, active.secret)).statusCode).toBe(200);
  });

  it('refuses an expired key, and an expiry in the past', async () => {
    let now = Date.now();
    const store = await openStore({ url: 'sqlite::memory:', clock: () => now });
    const { app } = await server({}, store);
    const { key, secret } = await store.keys.create({ tenant: 'shop', expiresAt: new Date(now + 60_000).toISOString() });
    expect(key.expiresAt).toBe(new Date(now + 60_000).toISOString());
    expect((await get(app, secret)).statusCode).toBe(200);
    now += 61_000;
    expect((await get(app, secret)).json().error.details.reason).toBe('expired');
    expect(await store.keys.count()).toEqual({ total: 1, active: 0 });
    await expect(store.keys.create({ tenant: 'shop', expiresAt: now - 1 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});

describe('failed authentications', async () => {
  const withRedis = await redisAvailable();
  it('are throttled per client address: past 20 a minute every keyed request of it is 429, counted in /metrics', async () => {
    const { app, store } = await server({ trustProxy: ['127.0.0.1'], adminKey: ADMIN });
    const { secret } = await store.keys.create({ tenant: 'shop' });
    const from = (ip: string, key: string) => get(app, key, '/v1/conversations', { 'x-forwarded-for': ip });
    const statuses = [];
    for (let i = 0; i < 25; i++) statuses.push((await from('203.0.113.7', `cq_guess-${i}`)).statusCode);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
    // A right guess from that address is refused too, or the answers would tell it apart.
    const right = await from('203.0.113.7', secret);
    expect(right.statusCode).toBe(429);
    expect(right.json().error.code).toBe('rate_limited');
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    expect((await from('203.0.113.7', ADMIN)).statusCode).toBe(429);
    // Another address is not affected; nor are requests without a key at /health.
    expect((await from('198.51.100.1', secret)).statusCode).toBe(200);
    expect((await app.inject({ url: '/health', headers: { 'x-forwarded-for': '203.0.113.7' } })).statusCode).toBe(200);
    const metrics = (await get(app, ADMIN, '/metrics')).body;
    expect(metrics).toMatch(/colloquy_auth_failures_total\{reason="unknown"\} 20/);
    expect(metrics).toMatch(/colloquy_auth_failures_total\{reason="throttled"\} \d+/);
  });

  it('bound a burst of guesses sent at once like guesses sent one by one: a right one among them is refused too', async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const { secret } = await store.keys.create({ tenant: 'shop' });
    const guesses = Array.from({ length: 200 }, (_, i) => (i === 199 ? secret : `cq_burst-${i}`));
    const answers = await Promise.all(guesses.map((key) => get(app, key)));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(180);
    expect(statuses.at(-1)).toBe(429);
  });

  it("never count a client's own parallel calls with a valid key as a burst of guesses", async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const { secret } = await store.keys.create({ tenant: 'shop' });
    // keyCacheMs is 0 here: every call with the tenant key is a cold lookup.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([...Array.from({ length: 30 }, () => get(app, secret)), ...Array.from({ length: 30 }, () => get(app, ADMIN))]);
      expect(answers.map((a) => a.statusCode)).toEqual(Array(60).fill(200));
    }
    expect((await get(app, secret)).statusCode).toBe(200);
  });

  it('count an IPv6 client by its /64', async () => {
    const { app } = await server({ trustProxy: ['127.0.0.1'] });
    for (let i = 0; i < 20; i++) await get(app, `cq_v6-${i}`, '/v1/conversations', { 'x-forwarded-for': `2001:db8:1:2::${i.toString(16)}` });
    expect((await get(app, 'cq_v6-more', '/v1/conversations', { 'x-forwarded-for': '2001:db8:1:2:ffff::1' })).statusCode).toBe(429);
    expect((await get(app, 'cq_v6-other', '/v1/conversations', { 'x-forwarded-for': '2001:db8:1:3::1' })).statusCode).toBe(401);
  });

  it('believe X-Forwarded-For only from a trusted proxy', async () => {
    const { app } = await server({ adminKey: ADMIN });
    for (let i = 0; i < 20; i++) await get(app, `cq_guess-${i}`, '/v1/conversations', { 'x-forwarded-for': `10.0.0.${i}` });
    // Without --trust-proxy every guess came from the socket's address, whatever the header claimed.
    expect((await get(app, 'cq_one-more', '/v1/conversations', { 'x-forwarded-for': '10.9.9.9' })).statusCode).toBe(429);
  });

  it.skipIf(!withRedis)('are counted together by a fleet through Redis', async () => {
    const prefix = `${uniqueName('authfail')}:`;
    const redis = connectRedis(REDIS_URL, { timeoutMs: 1000 });
    try {
      const store = await openStore({ url: 'sqlite::memory:' });
      const { app: a } = await server({ rateLimitRedis: redis, redisPrefix: prefix, adminKey: ADMIN }, store);
      const { app: b } = await server({ rateLimitRedis: redis, redisPrefix: prefix, adminKey: ADMIN }, store);
      for (let i = 0; i < 10; i++) expect((await get(a, `cq_a-${i}`)).statusCode).toBe(401);
      for (let i = 0; i < 10; i++) expect((await get(b, `cq_b-${i}`)).statusCode).toBe(401);
      expect((await get(a, 'cq_a-last')).statusCode).toBe(429);
      expect((await get(b, 'cq_b-last')).statusCode).toBe(429);
    } finally {
      redis.disconnect();
      await dropRedisPrefix(prefix);
    }
  });
});

describe('keys over HTTP and the audit log', () => {
  it('let the admin key create, list, get and revoke keys; every change is audited with its actor, never a secret', async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const admin = { authorization: `Bearer ${ADMIN}` };
    const created = await app.inject({ method: 'POST', url: '/v1/keys', headers: admin, payload: { tenant: 'clinic', name: 'bot', expiresAt: '2099-01-01T00:00:00Z' } });
    expect(created.statusCode).toBe(201);
    const { key, secret } = created.json();
    expect(key).toMatchObject({ tenantId: 'clinic', name: 'bot', expiresAt: '2099-01-01T00:00:00.000Z', revokedAt: null });
    expect(secret).toMatch(/^cq_/);
    expect((await get(app, secret, '/v1/conversations')).statusCode).toBe(200);
    // A tenant's key may not manage keys or read the audit log.
    for (const [method, url] of [['GET', '/v1/keys'], ['POST', '/v1/keys'], ['GET', `/v1/keys/${key.id}`], ['DELETE', `/v1/keys/${key.id}`], ['GET', '/v1/audit']] as const) {
      const refused = await app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(method === 'POST' ? { payload: { tenant: 'clinic' } } : {}) });
      expect({ url, status: refused.statusCode, code: refused.json().error.code }).toEqual({ url, status: 403, code: 'forbidden' });
    }
    const listed = (await app.inject({ url: '/v1/keys', headers: admin })).json();
    expect(listed.data.map((k: { id: string }) => k.id)).toEqual([key.id]);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect((await app.inject({ url: `/v1/keys/${key.id}`, headers: admin })).json()).toEqual(key);

    // A channel's secrets set by the tenant's key, then removed by the admin key.
    const channel = (await app.inject({ method: 'POST', url: '/v1/channels', headers: { authorization: `Bearer ${secret}` }, payload: { kind: 'web', name: 'site', secrets: { token: 'tok-SECRET-123' } } })).json();
    await app.inject({ method: 'PATCH', url: `/v1/channels/${channel.id}`, headers: { ...admin, 'x-colloquy-tenant': 'clinic' }, payload: { secrets: { token: null } } });
    expect((await app.inject({ method: 'DELETE', url: `/v1/keys/${key.id}`, headers: admin })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/v1/keys/018f0000-0000-7000-8000-000000000000', headers: admin })).statusCode).toBe(404);
    expect((await get(app, secret)).statusCode).toBe(401);
    await store.as('ops-script').keys.create({ tenant: 'shop' });

    const audit = (await app.inject({ url: '/v1/audit', headers: admin })).json().data;
    const adminId = audit[0].actor;
    expect(adminId).toMatch(/^admin:[0-9a-f]{16}$/);
    expect(audit.map((e: Record<string, unknown>) => ({ actor: e.actor, action: e.action, tenantId: e.tenantId, subjectId: e.subjectId, details: e.details }))).toEqual([
      { actor: adminId, action: 'key.created', tenantId: 'clinic', subjectId: key.id, details: { name: 'bot', expiresAt: '2099-01-01T00:00:00.000Z' } },
      { actor: key.id, action: 'channel.secrets_changed', tenantId: 'clinic', subjectId: channel.id, details: { set: ['token'], removed: [] } },
      { actor: adminId, action: 'channel.secrets_changed', tenantId: 'clinic', subjectId: channel.id, details: { set: [], removed: ['token'] } },
      { actor: adminId, action: 'key.revoked', tenantId: 'clinic', subjectId: key.id, details: {} },
      { actor: 'ops-script', action: 'key.created', tenantId: 'shop', subjectId: expect.any(String), details: { name: 'default' } },
    ]);
    expect(JSON.stringify(audit)).not.toContain('tok-SECRET-123');
    expect((await app.inject({ url: '/v1/audit?tenant=shop', headers: admin })).json().data).toHaveLength(1);
  });
});

describe('operations endpoints', () => {
  it('on a server with keys: /health/detailed and /metrics need the admin key, a tenant sees its own /v1/health', async () => {
    const { app, store } = await server({ adminKey: ADMIN });
    const a = await store.keys.create({ tenant: 'a' });
    const b = await store.keys.create({ tenant: 'b' });
    const mine = (await app.inject({ method: 'POST', url: '/v1/channels', headers: { authorization: `Bearer ${a.secret}` }, payload: { kind: 'web', name: 'mine' } })).json();
    await app.inject({ method: 'POST', url: '/v1/inbound', headers: { authorization: `Bearer ${a.secret}` }, payload: { channelId: mine.id, from: { address: 'u' }, externalId: 'e1', content: 'x' } });
    for (const url of ['/health/detailed', '/metrics']) {
      expect((await get(app, undefined, url)).statusCode).toBe(401);
      expect((await get(app, a.secret, url)).json().error.code).toBe('forbidden');
      expect((await get(app, ADMIN, url)).statusCode).toBe(200);
    }
    expect((await get(app, undefined, '/health')).json()).toEqual({ status: 'ok' });
    expect((await get(app, undefined, '/health/ready')).json()).toEqual({ status: 'ready' });
    const own = (await get(app, a.secret, '/v1/health')).json();
    expect(own).toMatchObject({ status: 'ok', tenant: 'a', channels: [{ id: mine.id, kind: 'web', name: 'mine', received: 1, stored: 1 }], agents: 0 });
    expect((await get(app, b.secret, '/v1/health')).json()).toMatchObject({ tenant: 'b', channels: [] });

    const { app: open } = await server({ adminKey: ADMIN, metricsPublic: true }, store);
    expect((await get(open, undefined, '/metrics')).statusCode).toBe(200);
  });
});

describe('an open server', () => {
  it('answers only requests addressed to loopback names or an --allowed-host (DNS rebinding)', async () => {
    const { app, store } = await server({ allowedHosts: ['colloquy.internal'] });
    const at = (host: string, method: 'GET' | 'DELETE' = 'GET', url = '/v1/conversations') => app.inject({ method, url, headers: { host } });
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST', 'colloquy.internal:8080']) expect((await at(host)).statusCode, host).toBe(200);
    const conversation = await store.conversations.create();
    const attack = await at('attacker.example', 'DELETE', `/v1/conversations/${conversation.id}`);
    expect(attack.statusCode).toBe(403);
    expect(attack.json().error).toMatchObject({ code: 'forbidden', details: { host: 'attacker.example' } });
    expect(await store.conversations.get(conversation.id)).not.toBeNull();
    expect((await at('attacker.example', 'GET', '/health')).statusCode).toBe(200); // a status, nothing else
    // With a key, the Host is the proxy's business.
    const { secret } = await store.keys.create({ tenant: 'default' });
    expect((await app.inject({ url: '/v1/conversations', headers: { host: 'api.example.com', authorization: `Bearer ${secret}` } })).statusCode).toBe(200);
  });
});
