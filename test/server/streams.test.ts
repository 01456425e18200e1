import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App, type AppConfig } from '../../src/server/app.js';

const started: Array<{ app: App; store: Store }> = [];
afterAll(async () => {
  for (const { app, store } of started) {
    await app.close();
    await store.close();
  }
});

async function listening(config: Partial<AppConfig> = {}) {
  const store = await openStore({ url: 'sqlite::memory:' });
  const app = await buildApp({ store, logger: false, ...config });
  started.push({ app, store });
  return { app, store, base: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

/** Opens a stream and collects its text until the server ends it (or `ms` pass). */
async function follow(url: string, key: string | undefined, ms: number): Promise<{ status: number; text: string; ended: boolean; abort(): void }> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: abort.signal });
  const result = { status: response.status, text: '', ended: false, abort: () => abort.abort() };
  if (response.status !== 200) {
    result.text = await response.text();
    return result;
  }
  void (async () => {
    const timer = setTimeout(() => abort.abort(), ms);
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) result.text += Buffer.from(chunk).toString('utf8');
      result.ended = true;
    } catch {
      // aborted
    } finally {
      clearTimeout(timer);
    }
  })();
  return result;
}

const until = async (check: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('event streams', () => {
  it('end soon after their key is revoked, with a final event: error saying why', async () => {
    const { store, base } = await listening();
    const { key, secret } = await store.keys.create({ tenant: 'shop' });
    const stream = await follow(`${base}/v1/events`, secret, 30_000);
    expect(stream.status).toBe(200);
    await until(() => stream.text.includes('retry:'), 10_000);
    const revokedAt = Date.now();
    await store.keys.revoke(key.id);
    await until(() => stream.ended, 20_000); // the contract is about 5 s; the bound is generous for a loaded machine
    expect(stream.text).toMatch(/event: error\ndata: \{"error":\{"code":"unauthenticated","message":"The API key of this stream was revoked or has expired\."\}\}\n\n$/);
    expect(Date.now() - revokedAt).toBeLessThan(20_000);
  });

  it('on an open server end once a key exists', async () => {
    const { store, base } = await listening();
    const stream = await follow(`${base}/v1/events`, undefined, 30_000);
    expect(stream.status).toBe(200);
    await store.keys.create({ tenant: 'default' });
    await until(() => stream.ended, 20_000);
    expect(stream.text).toContain('This server now needs an API key.');
  });

  it("give each stream token a cap of its own, so that one page cannot use up its key's streams", async () => {
    const { app, store, base } = await listening({ limits: { streamsPerKey: 2, streamsPerServer: 100 } });
    const { secret } = await store.keys.create({ tenant: 'web' });
    const issued = (await app.inject({ method: 'POST', url: '/v1/events/tokens', headers: { authorization: `Bearer ${secret}` }, payload: {} })).json();
    const opened = [];
    for (let i = 0; i < 10; i++) opened.push(await follow(`${base}${issued.url}`, undefined, 30_000));
    expect(opened.map((o) => o.status)).toEqual(Array(10).fill(200));
    const greedy = await follow(`${base}${issued.url}`, undefined, 30_000);
    expect(greedy.status).toBe(429);
    expect(JSON.parse(greedy.text).error.message).toContain('this stream token already holds 10');
    // The key's own streams are untouched.
    expect((await follow(`${base}/v1/events`, secret, 30_000)).status).toBe(200);
    expect((await follow(`${base}/v1/events`, secret, 30_000)).status).toBe(200);
    for (const o of opened) o.abort();
  });

  it('are capped per key and per server (429), and a closed one frees its place', async () => {
    const { store, base } = await listening({ limits: { streamsPerKey: 2, streamsPerServer: 3 } });
    const a = (await store.keys.create({ tenant: 'a' })).secret;
    const b = (await store.keys.create({ tenant: 'b' })).secret;
    const first = await follow(`${base}/v1/events`, a, 30_000);
    const second = await follow(`${base}/v1/events`, a, 30_000);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await follow(`${base}/v1/events`, a, 30_000);
    expect(third.status).toBe(429);
    expect(JSON.parse(third.text).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('this key already holds 2') });
    const other = await follow(`${base}/v1/events`, b, 30_000);
    expect(other.status).toBe(200);
    const fourth = await follow(`${base}/v1/events`, b, 30_000);
    expect(fourth.status).toBe(429); // the server holds 3
    first.abort();
    let again = 0;
    for (let i = 0; i < 100 && again !== 200; i++) {
      const next = await follow(`${base}/v1/events`, a, 30_000);
      again = next.status;
      if (again !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(again).toBe(200);
  });
});
