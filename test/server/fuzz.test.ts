import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { buildApp, type App } from '../../src/server/app.js';
import { random } from '../../bench/measure.js';

// Nothing a client sends may produce a 5xx: hostile bodies, query strings and headers on every route.
describe('no request can produce a 5xx', () => {
  let store: Store;
  let app: App;
  let ids: Record<string, string>;
  beforeAll(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    app = await buildApp({ store, logger: false });
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'f' });
    const inbound = await store.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'x', content: 'x' });
    const agent = await store.agents.create({ name: 'a', model: 'm' });
    ids = { channel: channel.id, conversation: inbound.conversation.id, contact: inbound.conversation.contactId!, agent: agent.id };
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const weird: unknown[] = [
    null, true, 0, -1, 1e308, -0, '', ' ', 'a'.repeat(300), '\u0000', '\ud800', '😀', '../../etc/passwd', '<script>', '%00', "' OR 1=1 --",
    [], [null], [[[]]], {}, { __proto__: { admin: true } }, { constructor: { prototype: {} } }, { a: { b: { c: { d: {} } } } },
    '018f0000-0000-7000-8000-000000000000', 'NaN', 'Infinity', '9'.repeat(40), '1e400', { $gt: '' }, { appSecret: 'x' }, { appSecret: null },
    Buffer.from(JSON.stringify(['messages', 'desc', 3])).toString('base64url'), Buffer.from('["contacts",1]').toString('base64url'),
  ];
  const fields = ['role', 'content', 'title', 'status', 'expectedVersion', 'state', 'data', 'metadata', 'channelId', 'from', 'externalId',
    'handle', 'name', 'model', 'kind', 'config', 'secrets', 'parts', 'entities', 'confidence', 'contactId', 'agentId', 'limit', 'cursor', 'after', 'before', 'order'];

  // A lone surrogate cannot be percent-encoded as UTF-8: send the invalid bytes themselves.
  const encode = (value: string) => {
    try {
      return encodeURIComponent(value);
    } catch {
      return '%ED%A0%80';
    }
  };

  it('answers a 4xx JSON error (or a success) to hundreds of malformed requests on every route', async () => {
    const next = random(99);
    const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)]!;
    const routes: Array<[string, () => string]> = [
      ['POST', () => '/v1/conversations'], ['GET', () => '/v1/conversations'], ['GET', () => `/v1/conversations/${pick(Object.values(ids))}`],
      ['PATCH', () => `/v1/conversations/${ids.conversation}`], ['DELETE', () => '/v1/conversations'],
      ['POST', () => `/v1/conversations/${ids.conversation}/messages`], ['GET', () => `/v1/conversations/${ids.conversation}/messages`],
      ['GET', () => `/v1/conversations/${ids.conversation}/state`], ['PUT', () => `/v1/conversations/${ids.conversation}/state`],
      ['POST', () => '/v1/inbound'], ['POST', () => '/v1/contacts'], ['GET', () => '/v1/contacts'], ['GET', () => `/v1/contacts/${ids.contact}/export`],
      ['POST', () => '/v1/channels'], ['GET', () => `/v1/channels/${pick(['x', ids.channel, '%zz'])}`], ['PATCH', () => `/v1/channels/${ids.channel}`],
      ['GET', () => '/v1/channels'], ['GET', () => '/v1/agents'], ['POST', () => '/v1/agents'],
      ['PATCH', () => `/v1/agents/${ids.agent}`], ['GET', () => `/v1/conversations/${ids.conversation}/context`],
    ];
    const failures: string[] = [];
    for (let i = 0; i < 600; i++) {
      const [method, path] = pick(routes);
      const body: Record<string, unknown> = {};
      for (let f = Math.floor(next() * 4); f > 0; f--) body[pick(fields)] = pick(weird);
      if (next() < 0.3) body.role = 'user';
      if (next() < 0.3) body.content = 'ok';
      const query = Array.from({ length: Math.floor(next() * 3) }, () =>
        `${pick(fields)}=${encode(String(pick(weird)))}`).join('&');
      const raw = next() < 0.1 ? pick(['{', '[1,2', 'null', '"str"', '{"a":1}{', '\u0000']) : undefined;
      const headers: Record<string, string> = { 'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/json; charset=latin1']) };
      if (next() < 0.2) headers['idempotency-key'] = String(pick(weird)).slice(0, 300).replace(/[^\x20-\x7e]/g, '');
      if (next() < 0.1) headers['last-event-id'] = pick(['x', '1-2', '99999999999999999999-1', '-1']);
      const response = await app.inject({
        method: method as 'GET', url: `${path()}${query ? `?${query}` : ''}`, headers,
        ...(method === 'GET' || method === 'DELETE' ? {} : { payload: raw ?? JSON.stringify(body) }),
      });
      const documented501 = response.statusCode === 501 && path().endsWith('/context'); // until agents land
      if (response.statusCode >= 500 && !documented501) failures.push(`${method} ${path()} ${query} ${raw ?? JSON.stringify(body)} -> ${response.statusCode} ${response.body}`);
      else if (response.statusCode >= 400) {
        if (!response.headers['content-type']?.toString().includes('application/json')) failures.push(`${method} ${path()}: not JSON: ${response.body}`);
        const error = response.json().error;
        if (typeof error?.code !== 'string' || typeof error?.message !== 'string') failures.push(`${method} ${path()}: no error shape: ${response.body}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
