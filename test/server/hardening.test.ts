import { get } from 'node:http';
import { Writable } from 'node:stream';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ColloquyError, openStore, type Store } from '../../src/index.js';
import { buildApp, type App, type AppConfig } from '../../src/server/app.js';

const started: Array<{ app: App; store: Store }> = [];
afterAll(async () => {
  for (const { app, store } of started) {
    await app.close();
    await store.close();
  }
});

async function listening(config: Partial<AppConfig> = {}): Promise<{ app: App; store: Store; base: string; port: number }> {
  const store = await openStore({ url: 'sqlite::memory:' });
  const app = await buildApp({ store, logger: false, keyCacheMs: 0, ...config });
  started.push({ app, store });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, store, base, port: Number(new URL(base).port) };
}

/** Polls `check` until it holds, for at most `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** GET /health on a connection of its own, closed after the answer (so that it holds no socket afterwards). */
const health = (port: number) => new Promise<number>((resolve, reject) => {
  get({ port, host: '127.0.0.1', path: '/health', agent: false }, (res) => {
    res.resume();
    resolve(res.statusCode ?? 0);
  }).on('error', reject);
});

/** Sends raw bytes and reads the whole answer (the server closes the connection). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('slow and silent connections', () => {
  it('keep /health answering under 2,000 idle sockets, all of which the head timeout then closes', async () => {
    const { app, port } = await listening({ limits: { headersTimeoutMs: 1_500 } });
    const connections = () => new Promise<number>((resolve) => app.server.getConnections((_e: Error | null, n: number) => resolve(n)));
    const sockets: Socket[] = [];
    for (let i = 0; i < 2_000; i++) sockets.push(connect(port, '127.0.0.1').on('error', () => {}));
    await until(() => sockets.every((s) => !s.connecting), 30_000);
    // A slow one, sending its head a byte at a time, fares no better.
    const slow = connect(port, '127.0.0.1').on('error', () => {});
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    const drip = setInterval(() => slow.writable && slow.write('G'), 200);
    let peak = 0;
    await until(async () => (peak = Math.max(peak, await connections())) >= 1_000, 30_000);
    expect(await health(port)).toBe(200);
    // Every socket the server accepted is closed (the kernel may have turned some away before: those hold nothing here).
    await until(async () => (await connections()) === 0 && slowClosed, 60_000);
    clearInterval(drip);
    expect(await health(port)).toBe(200);
    for (const s of sockets) s.destroy();
  }, 120_000);

  it('are refused beyond the connection cap', async () => {
    const { port } = await listening({ limits: { maxConnections: 5 } });
    const held = Array.from({ length: 5 }, () => connect(port, '127.0.0.1').on('error', () => {}));
    await until(() => held.every((s) => !s.connecting), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the server counts them once accepted
    const extra = connect(port, '127.0.0.1');
    const ended = await new Promise<boolean>((resolve) => {
      extra.on('close', () => resolve(true));
      extra.on('error', () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    expect(ended).toBe(true);
    for (const s of held) s.destroy();
  });
});

describe('errors from the HTTP parser and the body parser', () => {
  it('answer in the common error shape: 431 for huge headers, 400 for a malformed request, 415 for text/plain', async () => {
    const { app, port } = await listening();
    const huge = await raw(port, `GET /v1/conversations HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'invalid_argument', details: { reason: 'headers_too_large' } } });
    const smuggled = await raw(port, 'POST /v1/conversations HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(smuggled).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(smuggled.slice(smuggled.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ code: 'invalid_argument', details: { reason: 'malformed_request' } });
    const text = await app.inject({ method: 'POST', url: '/v1/conversations', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
  });
});

describe('a request that arrives too slowly', () => {
  it('is 408 request_timeout in the common shape', async () => {
    const { port } = await listening({ limits: { requestTimeoutMs: 1_500, headersTimeoutMs: 1_000 } });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('POST /v1/conversations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error.code).toBe('request_timeout');
  }, 30_000);
});

describe('a bug', () => {
  it('is logged whole, with its stack, each time (only expected outages are sampled)', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _encoding, done) { lines.push(String(chunk)); done(); } });
    const store = await openStore({ url: 'sqlite::memory:' });
    const app = await buildApp({ store, logger: { level: 'warn', stream: sink } });
    started.push({ app, store });
    const broken = Object.create(store.conversations) as typeof store.conversations;
    broken.list = async () => { throw new ColloquyError('internal', 'Unexpected SQLite error (boom); nothing was acknowledged.', {}, { cause: new Error('boom') }); };
    app.addHook('preHandler', async (request) => {
      request.store = Object.assign(Object.create(request.store), { conversations: broken });
    });
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/v1/conversations' })).statusCode).toBe(500);
    const bugs = lines.filter((l) => l.includes('unexpected error'));
    expect(bugs).toHaveLength(3);
    expect(bugs[0]).toContain('"stack"');
  });
});

describe('out-of-range values', () => {
  it('are 400 alike: far-future and pre-2001 times, a seq of 1e20', async () => {
    const { app } = await listening();
    const conversation = (await app.inject({ method: 'POST', url: '/v1/conversations', payload: {} })).json();
    const append = (createdAt: unknown) => app.inject({ method: 'POST', url: `/v1/conversations/${conversation.id}/messages`, payload: { role: 'user', content: 'x', createdAt } });
    for (const createdAt of ['+275760-09-13T00:00:00Z', Date.now() + 3 * 86_400_000, '1999-12-31T00:00:00Z', 946_684_800_000]) {
      const answer = await append(createdAt);
      expect({ createdAt, status: answer.statusCode }).toEqual({ createdAt, status: 400 });
      expect(answer.json().error.details.errors[0].path).toBe('/createdAt');
    }
    expect((await append(new Date(Date.now() - 3_600_000).toISOString())).statusCode).toBe(201);
    expect((await app.inject({ url: `/v1/conversations/${conversation.id}/messages?after=1e20` })).statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/conversations/${conversation.id}/messages?after=9007199254740991` })).statusCode).toBe(200);
  });
});

describe('an idempotency key reused for another request', () => {
  it('is 422 idempotency_key_reused over HTTP, for a message and for a channel; an identical retry stays a 200 duplicate', async () => {
    const { app } = await listening();
    const conversation = (await app.inject({ method: 'POST', url: '/v1/conversations', payload: {} })).json();
    const send = (content: string) => app.inject({ method: 'POST', url: `/v1/conversations/${conversation.id}/messages`, headers: { 'idempotency-key': 'pay-1' }, payload: { role: 'user', content } });
    expect((await send('R$ 100')).statusCode).toBe(201);
    expect((await send('R$ 100')).json()).toMatchObject({ duplicate: true });
    const reused = await send('R$ 900');
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error).toMatchObject({ code: 'idempotency_key_reused', details: { idempotencyKey: 'pay-1' } });
    expect((await app.inject({ url: `/v1/conversations/${conversation.id}/messages` })).json().data.map((m: { content: string }) => m.content)).toEqual(['R$ 100']);

    const channel = (name: string) => app.inject({ method: 'POST', url: '/v1/channels', headers: { 'idempotency-key': 'ch-1' }, payload: { kind: 'web', name } });
    expect((await channel('site')).statusCode).toBe(201);
    expect((await channel('site')).statusCode).toBe(200);
    expect((await channel('other site')).statusCode).toBe(422);
  });
});
