import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';
import { REDIS_URL, dropRedisPrefix, redisAvailable, uniqueName } from '../helpers/services.js';

const redisUp = await redisAvailable();

describe('the newest page served from the hot tier as cached JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-page-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tiers = [
    { name: 'the in-process LRU', config: { cache: 'memory' as const }, up: true },
    { name: 'Redis (the page as the bytes Redis sent)', config: { redis: REDIS_URL, redisPrefix: `${uniqueName('pages')}:` }, up: redisUp },
  ];
  for (const { name, config, up } of tiers) it.skipIf(!up)(`answers exactly what the database answers, cursor included, on a miss and on a hit: ${name}`, async () => {
    const url = `sqlite:${join(dir, `${uniqueName('pages')}.db`)}`;
    const cached = await openStore({ url, ...config });
    const truth = await openStore({ url }); // no cache: reads the database every time
    const app = await buildApp({ store: cached, logger: false });
    try {
      const conversation = await cached.conversations.create();
      for (let i = 1; i <= 30; i++) {
        await cached.messages.append(conversation.id, {
          role: i % 2 ? 'user' : 'assistant', content: `m${i} "quoted" \\ \u00e1 😀`, ...(i === 7 ? { parts: [{ type: 'image', url: 'x' }], metadata: { a: 1 }, confidence: 0.5 } : {}),
        });
      }
      for (const limit of [20, 30, 50, 1]) {
        const expected = await truth.messages.list(conversation.id, { order: 'desc', limit });
        for (const attempt of ['miss', 'hit']) {
          const response = await app.inject({ method: 'GET', url: `/v1/conversations/${conversation.id}/messages?order=desc&limit=${limit}` });
          expect({ limit, attempt, status: response.statusCode }).toEqual({ limit, attempt, status: 200 });
          expect(response.headers['content-type']).toMatch(/^application\/json/);
          expect(response.json()).toEqual(expected);
        }
      }
      expect(cached.cacheStats()!.hits).toBeGreaterThan(0);
      // The cursor of a cached page continues where the database would.
      const first = (await app.inject({ method: 'GET', url: `/v1/conversations/${conversation.id}/messages?order=desc&limit=20` })).json();
      const next = (await app.inject({ method: 'GET', url: `/v1/conversations/${conversation.id}/messages?order=desc&limit=20&cursor=${first.nextCursor}` })).json();
      expect(next.data.map((m: { seq: number }) => m.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      expect(next.nextCursor).toBeNull();
      expect((await app.inject({ method: 'GET', url: '/v1/conversations/018f0000-0000-7000-8000-000000000000/messages?order=desc' })).statusCode).toBe(404);
    } finally {
      await app.close();
      await cached.close();
      await truth.close();
      if ('redisPrefix' in config && config.redisPrefix) await dropRedisPrefix(config.redisPrefix);
    }
  });
});
