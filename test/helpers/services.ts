import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openStore, type Store } from '../../src/index.js';

const execFileAsync = promisify(execFile);

export const POSTGRES_URL = process.env.COLLOQUY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.COLLOQUY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.COLLOQUY_REQUIRE_SERVICES === '1';

let postgresUp: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL answers. Tests that need it skip when it does not — unless COLLOQUY_REQUIRE_SERVICES=1
 * (set by CI), where an unreachable service is a failure, never a silent skip.
 */
export function postgresAvailable(): Promise<boolean> {
  postgresUp ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 10_000 }); // generous: a loaded CI machine is slow to accept
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (required) throw new Error(`PostgreSQL at ${POSTGRES_URL} is required (COLLOQUY_REQUIRE_SERVICES=1) but unreachable: ${(error as Error).message}`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresUp;
}

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** A throwaway schema in the test database; drop() removes it with everything in it. */
export async function throwawaySchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniqueName('colloquy_test');
  return {
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The databases a server test runs on: SQLite in memory and a throwaway PostgreSQL schema.
 * `open()` answers undefined when PostgreSQL is unreachable (and not required).
 */
export const storeTargets: Array<{ name: 'sqlite' | 'postgres'; open(): Promise<{ store: Store; cleanup(): Promise<void> } | undefined> }> = [
  { name: 'sqlite', open: async () => ({ store: await openStore({ url: 'sqlite::memory:' }), cleanup: async () => {} }) },
  {
    name: 'postgres',
    open: async () => {
      if (!(await postgresAvailable())) return undefined;
      const { schema, drop } = await throwawaySchema();
      return { store: await openStore({ url: POSTGRES_URL, schema }), cleanup: drop };
    },
  },
];

/**
 * The same two databases as URLs, for tests that open stores of their own (with a clock, or private webhooks allowed):
 * `open()` answers undefined when PostgreSQL is unreachable (and not required); `drop()` removes what it made.
 */
export const storeUrls: Array<{ name: 'sqlite' | 'postgres'; open(): Promise<{ url: string; drop(): Promise<void> } | undefined> }> = [
  { name: 'sqlite', open: async () => ({ url: 'sqlite::memory:', drop: async () => {} }) },
  {
    name: 'postgres',
    open: async () => {
      if (!(await postgresAvailable())) return undefined;
      const { schema, drop } = await throwawaySchema();
      return { url: `${POSTGRES_URL}?schema=${schema}`, drop };
    },
  },
];

let redisUp: Promise<boolean> | undefined;

/** Whether Redis answers; as postgresAvailable, a failure under COLLOQUY_REQUIRE_SERVICES=1. */
export function redisAvailable(): Promise<boolean> {
  redisUp ??= (async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch (error) {
      if (required) throw new Error(`Redis at ${REDIS_URL} is required (COLLOQUY_REQUIRE_SERVICES=1) but unreachable: ${(error as Error).message}`);
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return redisUp;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once the redis-server just started on `port` answers PING (5 s at most). */
async function answering(port: number): Promise<void> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  for (let attempt = 0; ; attempt++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch (error) {
      if (attempt > 50) throw new Error(`redis-server on port ${port} did not start: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * A redis-server of the test's own, on its own port, that the test may kill and restart (the shared one on 6379
 * must stay up for everyone else). Undefined when redis-server cannot be started and services are not required.
 */
export async function ownRedis(): Promise<{ url: string; port: number; kill(): Promise<void>; start(): Promise<void> } | undefined> {
  if (!(await redisAvailable())) return undefined;
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], { stdio: 'ignore' });
    await answering(port);
  };
  const kill = async () => {
    const dying = child;
    if (!dying || dying.exitCode !== null) return;
    await new Promise((resolve) => {
      dying.once('exit', resolve);
      dying.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start };
}

/**
 * A three-master Redis Cluster of the test's own (redis-server and redis-cli --cluster create), for the cache
 * conformance suite. Undefined when Redis is not reachable and services are not required.
 */
export async function ownRedisCluster(): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (!(await redisAvailable())) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((port) => spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir,
  ], { stdio: 'ignore' }));
  const stop = async () => {
    await Promise.all(children.map((child) => child.exitCode === null && new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    })));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await answering(port);
    await execFileAsync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const admin = new Redis({ port: ports[0]!, host: '127.0.0.1' });
    try {
      for (let attempt = 0; !String(await admin.cluster('INFO')).includes('cluster_state:ok'); attempt++) {
        if (attempt > 100) throw new Error('the Redis Cluster did not reach cluster_state:ok');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      admin.disconnect();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: ports.map((port) => `redis://127.0.0.1:${port}`).join(','), stop };
}

/** Deletes the keys a test left under `prefix` in the shared Redis. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
      if (keys.length) await client.unlink(...keys);
    }
  } finally {
    client.disconnect();
  }
}
