import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { importFrom } from '../../src/cli/portable.js';
import { openStore } from '../../src/index.js';
import { POSTGRES_URL, REDIS_URL, postgresAvailable, redisAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';

const up = (await postgresAvailable()) && (await redisAvailable());

describe.skipIf(!up)('an import into a live fleet', () => {
  it('advances a cached conversation and empties the hot tier it went around, so nothing stale is read', async () => {
    const { schema, drop } = await throwawaySchema();
    const redisPrefix = `${uniqueName('import')}:`;
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-import-'));
    const live = await openStore({ url: POSTGRES_URL, schema, redis: REDIS_URL, redisPrefix });
    const redis = new Redis(REDIS_URL);
    try {
      const conversation = await live.conversations.create({});
      await live.messages.append(conversation.id, { role: 'user', content: 'one' });
      // The same conversation elsewhere, one message further: its export is a delta for the live database.
      const other = await openStore({ url: 'sqlite::memory:' });
      const records = [];
      try {
        await other.importAll([...await collect(live.exportAll())]);
        await other.messages.append(conversation.id, { role: 'assistant', content: 'two' });
        records.push(...await collect(other.exportAll()));
      } finally {
        await other.close();
      }
      const file = join(dir, 'delta.jsonl');
      writeFileSync(file, records.map((record) => JSON.stringify(record)).join('\n'));

      expect((await live.messages.list(conversation.id, { order: 'desc', limit: 20 })).data.map((m) => m.content)).toEqual(['one']); // cached now
      expect((await live.conversations.get(conversation.id))!.lastSeq).toBe(1);
      expect((await redis.keys(`${redisPrefix}*`)).length).toBeGreaterThan(0);

      const totals = await importFrom(`${POSTGRES_URL}?schema=${schema}`, file, { redis: REDIS_URL, redisPrefix });
      expect(totals.inserted).toBe(1);
      expect(await redis.keys(`${redisPrefix}*`)).toEqual([]);
      expect((await live.messages.list(conversation.id, { order: 'desc', limit: 20 })).data.map((m) => m.content)).toEqual(['two', 'one']);
      expect((await live.conversations.get(conversation.id))!.lastSeq).toBe(2);
    } finally {
      redis.disconnect();
      await live.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}
