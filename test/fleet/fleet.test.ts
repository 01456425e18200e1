import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { POSTGRES_URL, REDIS_URL, dropRedisPrefix, ownRedis, postgresAvailable, redisAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';
import { expectConverged, fleetSetup, runFleetLoad } from './fleet-load.js';

const up = (await postgresAvailable()) && (await redisAvailable());

const health = async (base: string) => (await (await fetch(`${base}/health/detailed`)).json()) as { status: string; database: { status: string }; cache: { status: string; fallbacks: number; hits: number } };

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!up)('a fleet: two colloquy serve processes on one PostgreSQL and one Redis', () => {
  let drop: () => Promise<void>;
  let a: ServerProcess;
  let b: ServerProcess;
  const prefix = `${uniqueName('fleet')}:`;
  beforeAll(async () => {
    const schema = await throwawaySchema();
    drop = schema.drop;
    const db = `${POSTGRES_URL}?schema=${schema.schema}`;
    a = await startServer(db, ['--redis', REDIS_URL, '--redis-prefix', prefix]);
    b = await startServer(db, ['--redis', REDIS_URL, '--redis-prefix', prefix]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await drop?.();
    await dropRedisPrefix(prefix);
  });

  it('read-your-writes across instances under 32 concurrent writers and readers', async () => {
    const conversations = await fleetSetup(a.url, 8, 32);
    const load = await runFleetLoad([a.url, b.url], conversations, { iterations: 30 });
    expect(load.failures).toEqual([]);
    expect(load.stale).toEqual([]);
    expect(load.requests).toBeGreaterThan(32 * 30 * 2);
    await expectConverged([a.url, b.url], conversations);
    const [ha, hb] = await Promise.all([health(a.url), health(b.url)]);
    // The contract is above (nothing failed, nothing stale). Health may say `degraded` on a loaded machine: a
    // Redis call slower than its 50 ms timeout is served by the database and reported, as it should be.
    for (const h of [ha, hb]) {
      expect(['ok', 'degraded']).toContain(h.status);
      expect(h.database.status).toBe('ok');
    }
    expect(ha.cache.hits + hb.cache.hits).toBeGreaterThan(0); // the reads really went through the cache
  });

  it('an SSE client on instance B receives an event produced on instance A', async () => {
    const controller = new AbortController();
    const response = await fetch(`${b.url}/v1/events`, { signal: controller.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    await reader.read(); // the stream is open (retry: line)
    const created = (await (await fetch(`${a.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"from A"}' })).json()) as { id: string };
    while (!received.includes(created.id)) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value;
    }
    controller.abort();
    expect(received).toContain('event: conversation.created');
    expect(received).toContain(created.id);
  });

  it('a delete on one instance leaves nothing readable on the other', async () => {
    const { id } = (await (await fetch(`${a.url}/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string };
    await fetch(`${a.url}/v1/conversations/${id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"role":"user","content":"hi"}' });
    for (const path of ['', '/messages?order=desc&limit=20', '/state']) expect((await fetch(`${b.url}/v1/conversations/${id}${path}`)).status).toBe(200); // cached on B
    expect((await fetch(`${a.url}/v1/conversations/${id}`, { method: 'DELETE' })).status).toBe(204);
    for (const path of ['', '/messages?order=desc&limit=20', '/state']) expect((await fetch(`${b.url}/v1/conversations/${id}${path}`)).status).toBe(404);
  });
});

describe.skipIf(!up)('a fleet whose Redis fails in the middle of a load', () => {
  let drop: () => Promise<void>;
  let redis: NonNullable<Awaited<ReturnType<typeof ownRedis>>>;
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    const schema = await throwawaySchema();
    drop = schema.drop;
    redis = (await ownRedis())!;
    const db = `${POSTGRES_URL}?schema=${schema.schema}`;
    a = await startServer(db, ['--redis', redis.url]);
    b = await startServer(db, ['--redis', redis.url]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.kill();
    await drop?.();
  });

  it('killed, restarted, then stalled by DEBUG SLEEP: no failed request, no stale read, degraded health meanwhile', async () => {
    const instances = [a.url, b.url];
    const conversations = await fleetSetup(a.url, 8, 16);
    let stop = false;
    const running = runFleetLoad(instances, conversations, { until: () => stop });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await pause(1_000);
      await redis.kill();
      await waitFor('both instances to report degraded', async () => (await Promise.all(instances.map(health))).every((h) => h.status === 'degraded' && h.cache.status === 'degraded'));
      await pause(1_000);
      await redis.start(); // empty, as a Redis without persistence comes back
      await waitFor('both instances to recover', async () => (await Promise.all(instances.map(health))).every((h) => h.status === 'ok'));
      await pause(1_000);
      // Stalled rather than gone: the entries survive the stall, so the version and lease rules must hold.
      const admin = new Redis(redis.url);
      await admin.call('DEBUG', 'SLEEP', '0.5');
      admin.disconnect();
      await waitFor('both instances to recover from the stall', async () => (await Promise.all(instances.map(health))).every((h) => h.status === 'ok'));
      await pause(1_000);
    } finally {
      stop = true;
    }
    const load = await running;
    expect(load.failures).toEqual([]);
    expect(load.stale).toEqual([]);
    await expectConverged(instances, conversations);
    // A last slow call under load may have degraded the tier again: what must hold is that it recovers.
    await waitFor('both caches to be ok once the load stopped', async () => (await Promise.all(instances.map(health))).every((h) => h.cache.status === 'ok'), 30_000);
    for (const h of await Promise.all(instances.map(health))) expect(h.cache.fallbacks).toBeGreaterThan(0);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/colloquy_cache_operations_total\{result="fallback"\} [1-9]/);
  }, 60_000);
});

describe.skipIf(!up)('rate limits across a fleet', () => {
  it('a key gets its limit once across two instances sharing Redis, not once per instance', async () => {
    const schema = await throwawaySchema();
    const prefix = `${uniqueName('rate')}:`;
    const db = `${POSTGRES_URL}?schema=${schema.schema}`;
    const args = ['--redis', REDIS_URL, '--redis-prefix', prefix, '--rate-limit', '6'];
    const [a, b] = await Promise.all([startServer(db, args), startServer(db, args)]);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetch(`${[a, b][i % 2]!.url}/v1/channels`)).status);
      expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(statuses.slice(6)).toEqual([429, 429]); // each instance alone would still allow these
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await schema.drop();
      await dropRedisPrefix(prefix);
    }
  });
});
