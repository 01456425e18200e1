import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../../src/cli/serve.js';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, loggerOptions, redactUrl, type App } from '../../src/server/app.js';
import { expectError } from '../conformance/store-conformance.js';

const ORIGIN = 'https://app.example.com';

describe('browsers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-browser-'));
  const url = `sqlite:${join(dir, 'browser.db')}`;
  let store: Store;
  let other: Store;
  let app: App;
  let fleetmate: App;
  let plain: App;
  const logs: string[] = [];
  let key: string;
  let keyId: string;
  beforeAll(async () => {
    store = await openStore({ url });
    other = await openStore({ url }); // a second instance over the same database, as in a fleet
    ({ secret: key, key: { id: keyId } } = await store.keys.create({ tenant: 'clinic' }));
    await store.keys.create({ tenant: 'shop' });
    const sink = new Writable({ write: (chunk, _encoding, done) => { logs.push(chunk.toString()); done(); } });
    app = await buildApp({ store, keyCacheMs: 0, corsOrigins: [ORIGIN], logger: { ...(loggerOptions('info') as object), stream: sink } });
    fleetmate = await buildApp({ store: other, keyCacheMs: 0, logger: false });
    plain = await buildApp({ store, logger: false });
  });
  afterAll(async () => {
    for (const a of [app, fleetmate, plain]) await a?.close();
    await store?.close();
    await other?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bearer = () => ({ authorization: `Bearer ${key}` });

  describe('CORS', () => {
    it('is off unless origins are configured', async () => {
      const preflight = await plain.inject({ method: 'OPTIONS', url: '/v1/conversations', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      const get = await plain.inject({ url: '/health', headers: { origin: ORIGIN } });
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('answers preflights from a configured origin without a key, with the headers the API takes', async () => {
      const preflight = await app.inject({
        method: 'OPTIONS', url: '/v1/conversations/x/messages',
        headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/authorization.*content-type.*idempotency-key.*last-event-id/);
      expect(String(preflight.headers['access-control-allow-methods'])).toMatch(/PATCH/);
      const stranger = await app.inject({ method: 'OPTIONS', url: '/v1/conversations', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
      const get = await app.inject({ url: '/v1/conversations', headers: { origin: ORIGIN, ...bearer() } });
      expect(get.statusCode).toBe(200);
      expect(get.headers['access-control-allow-origin']).toBe(ORIGIN);
      // An error answer carries the header too, so the page can read it.
      const denied = await app.inject({ url: '/v1/conversations', headers: { origin: ORIGIN } });
      expect(denied.statusCode).toBe(401);
      expect(denied.headers['access-control-allow-origin']).toBe(ORIGIN);
    });

    it('refuses an origin written as a browser never sends it', async () => {
      for (const origin of ['https://app.example.com/', 'app.example.com', 'https://app.example.com/path']) {
        const error = await expectError(serve({ db: 'sqlite::memory:', port: 0, host: '127.0.0.1', rateLimitPerMinute: 0, corsOrigins: [origin] }), 'invalid_argument');
        expect(error.message).toContain(`"${origin}"`);
      }
    });
  });

  describe('stream tokens', () => {
    const token = async (body: object = {}, on: App = app) => {
      const answer = await on.inject({ method: 'POST', url: '/v1/events/tokens', payload: body, headers: bearer() });
      expect(answer.statusCode).toBe(201);
      return answer.json() as { token: string; expiresAt: string; url: string; after: string | null };
    };
    const page = (on: App, path: string) => on.inject({ url: path, headers: { accept: 'application/json' } });

    it("open the tenant's events without the key in the URL, on any instance, until the key is revoked", async () => {
      const clinic = store.tenant('clinic');
      const conversation = await clinic.conversations.create({ title: 'web chat' });
      await store.tenant('shop').conversations.create({ title: 'not yours' });
      expect((await app.inject({ method: 'POST', url: '/v1/events/tokens', payload: {} })).statusCode).toBe(401);
      const issued = await token({ ttlSeconds: 600 });
      expect(issued.token).toMatch(/^cqe_/);
      expect(issued.token).not.toContain(key);
      expect(Date.parse(issued.expiresAt) - Date.now()).toBeGreaterThan(590_000);
      expect(issued.url).toBe(`/v1/events?token=${issued.token}`);

      for (const on of [app, fleetmate]) {
        const events = await page(on, issued.url);
        expect(events.statusCode).toBe(200);
        expect(events.json().data.map((e: { conversationId: string }) => e.conversationId)).toEqual([conversation.id]);
      }
      // Good for the event stream only.
      expect((await app.inject({ url: `/v1/conversations?token=${issued.token}` })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: `/v1/events/tokens?token=${issued.token}`, payload: {} })).statusCode).toBe(401);
      // Forged, tampered or expired tokens are refused, saying what to do.
      const [body, signature] = issued.token.slice(4).split('.');
      const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), t: 'shop' })).toString('base64url');
      for (const bad of [`cqe_${forged}.${signature}`, `${issued.token}x`, 'cqe_nope', 'garbage']) {
        const refused = await page(app, `/v1/events?token=${encodeURIComponent(bad)}`);
        expect(refused.statusCode, bad).toBe(401);
        expect(refused.json().error.message).toMatch(/POST \/v1\/events\/tokens/);
      }
      const expired = await app.streamTokens.issue({ keyId, tenant: 'clinic', conversationId: null, expiresAt: Date.now() - 1 });
      expect((await page(app, `/v1/events?token=${expired}`)).json().error.message).toMatch(/expired/);

      await store.keys.revoke(keyId);
      const revoked = await page(fleetmate, issued.url);
      expect(revoked.statusCode).toBe(401);
      expect(revoked.json().error.message).toMatch(/revoked/);
      ({ secret: key, key: { id: keyId } } = await store.keys.create({ tenant: 'clinic' }));
    });

    it("say where the log's head is: a stream after it replays nothing older, and misses nothing newer", async () => {
      const clinic = store.tenant('clinic');
      const before = await clinic.conversations.create({ title: 'before the token' });
      const issued = await token();
      expect(typeof issued.after).toBe('string');
      const later = await clinic.conversations.create({ title: 'after the token' });
      const events = (await page(app, `${issued.url}&after=${encodeURIComponent(issued.after!)}`)).json().data as { conversationId: string }[];
      expect(events.map((e) => e.conversationId)).toEqual([later.id]);
      expect(events.map((e) => e.conversationId)).not.toContain(before.id);
    });

    it('ends the tokens of an admin key when the admin key changes', async () => {
      const adminKey = 'a'.repeat(40);
      const before = await buildApp({ store, logger: false, adminKey });
      const minted = (await before.inject({ method: 'POST', url: '/v1/events/tokens', payload: {}, headers: { authorization: `Bearer ${adminKey}` } })).json().token;
      expect((await page(before, `/v1/events?token=${minted}`)).statusCode).toBe(200);
      const rotated = await buildApp({ store, logger: false, adminKey: 'b'.repeat(40) });
      expect((await page(rotated, `/v1/events?token=${minted}`)).statusCode).toBe(401);
      await before.close();
      await rotated.close();
    });

    it("gives a token's holder a rate-limit bucket of its own: a page polling cannot use up its key's", async () => {
      const limited = await buildApp({ store, logger: false, keyCacheMs: 0, rateLimitPerMinute: 3 });
      const issued = await token({}, limited);
      for (let i = 0; i < 3; i++) expect((await page(limited, issued.url)).statusCode).toBe(200);
      expect((await page(limited, issued.url)).statusCode).toBe(429);
      expect((await limited.inject({ url: '/v1/conversations', headers: bearer() })).statusCode).toBe(200);
      await limited.close();
    });

    it('limits a token to one conversation when asked, and streams it to a real EventSource-style client', async () => {
      const clinic = store.tenant('clinic');
      const mine = await clinic.conversations.create({ title: 'mine' });
      const theirs = await clinic.conversations.create({ title: 'theirs' });
      expect((await app.inject({ method: 'POST', url: '/v1/events/tokens', payload: { conversationId: '018f0000-0000-7000-8000-000000000000' }, headers: bearer() })).statusCode).toBe(404);
      const issued = await token({ conversationId: mine.id });
      const events = (await page(app, issued.url)).json().data;
      expect(events.length).toBeGreaterThan(0);
      expect(new Set(events.map((e: { conversationId: string }) => e.conversationId))).toEqual(new Set([mine.id]));
      const widened = await page(app, `${issued.url}&conversationId=${theirs.id}`);
      expect(widened.statusCode).toBe(400);
      expect(widened.json().error.details.errors[0].path).toBe('/conversationId');

      // Over a socket, as a browser's EventSource asks for it: text/event-stream, the event as it happens.
      const base = await app.listen({ port: 0, host: '127.0.0.1' });
      const abort = new AbortController();
      const stream = await fetch(`${base}${issued.url}`, { headers: { accept: 'text/event-stream', origin: ORIGIN }, signal: abort.signal });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(stream.headers.get('access-control-allow-origin')).toBe(ORIGIN); // else a browser's EventSource refuses the stream
      await clinic.messages.append(mine.id, { role: 'user', content: 'oi' });
      await clinic.messages.append(theirs.id, { role: 'user', content: 'not for this token' });
      const reader = stream.body!.getReader();
      let text = '';
      while (!text.includes('event: message.created')) text += new TextDecoder().decode((await reader.read()).value);
      abort.abort();
      expect(text).toContain(mine.id);
      expect(text).not.toContain(theirs.id);
    });

    it('never writes a token or a key into the request log, however the parameter is spelled', async () => {
      const issued = await token();
      for (const spelling of ['%74oken', 'TOKEN', 'key', 'api_key']) await page(app, `/v1/events?${spelling}=${issued.token}&x=1`);
      expect(redactUrl('/v1/events?a=1&%74oken=cqe_x&b=2')).toBe('/v1/events?a=1&%74oken=[redacted]&b=2');
      for (const name of ['key[]', 'x-api-key', 'auth', 'Authorization', 'bearer', 'client_secret', 'hub.verify_token', 'sig', 'signature', 'passwd']) {
        expect(redactUrl(`/webhook?${encodeURIComponent(name)}=s3cr3t&page=2`), name).toBe(`/webhook?${encodeURIComponent(name)}=[redacted]&page=2`);
      }
      const all = logs.join('');
      expect(all).toContain('token=[redacted]');
      expect(all).not.toMatch(/cqe_[A-Za-z0-9_-]{20}/);
      expect(all).not.toContain(key);
    });
  });
});
