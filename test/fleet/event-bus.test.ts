import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { POSTGRES_URL, REDIS_URL, postgresAvailable, redisAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';

const pgUp = await postgresAvailable();
const redisUp = pgUp && (await redisAvailable());

/** Two store instances on one database; B must be woken by A's commits through the bus alone. */
async function wakesAcrossInstances(open: () => Promise<Store>): Promise<void> {
  const a = await open();
  const b = await open();
  try {
    const tenant = uniqueName('t');
    const woken: number[] = [];
    const unsubscribe = b.tenant(tenant).events.onChange(() => woken.push(Date.now()));
    const other = b.tenant(uniqueName('other')).events.onChange(() => woken.push(-1));
    // The subscriber connects in the background: retry the announcement until one arrives.
    let conversationId: string | undefined;
    for (let attempt = 0; attempt < 50 && !woken.length; attempt++) {
      conversationId = (await a.tenant(tenant).conversations.create({})).id;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(woken.length).toBeGreaterThan(0);
    expect(woken).not.toContain(-1); // another tenant's readers are not woken
    // What the wake-up announces is in B's durable log.
    expect((await b.tenant(tenant).events.list()).data.map((e) => e.conversationId)).toContain(conversationId);
    unsubscribe();
    other();
  } finally {
    await a.close();
    await b.close();
  }
}

describe('live events reach every instance', () => {
  it.skipIf(!redisUp)('through Redis pub/sub', async () => {
    const { schema, drop } = await throwawaySchema();
    const redisPrefix = `${uniqueName('bus')}:`;
    try {
      await wakesAcrossInstances(() => openStore({ url: POSTGRES_URL, schema, redis: REDIS_URL, redisPrefix }));
    } finally {
      await drop();
    }
  });

  it.skipIf(!pgUp)('through PostgreSQL LISTEN/NOTIFY without Redis', async () => {
    const { schema, drop } = await throwawaySchema();
    try {
      await wakesAcrossInstances(() => openStore({ url: POSTGRES_URL, schema }));
    } finally {
      await drop();
    }
  });
});

describe('engine capabilities', () => {
  it.skipIf(!pgUp)('warns that an in-process cache goes stale on a database several processes write', async () => {
    const { schema, drop } = await throwawaySchema();
    const said: string[] = [];
    try {
      const store = await openStore({ url: POSTGRES_URL, schema, cache: 'memory', log: (message) => said.push(message) });
      await store.close();
      const single = await openStore({ url: 'sqlite::memory:', cache: 'memory', log: (message) => said.push(`sqlite: ${message}`) });
      await single.close();
    } finally {
      await drop();
    }
    expect(said).toEqual([expect.stringMatching(/^an in-process cache is correct only while this process is the database's only writer/)]);
  });
});
