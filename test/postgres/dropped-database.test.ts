import { Writable } from 'node:stream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/index.js';
import { buildApp } from '../../src/server/app.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../helpers/services.js';

const available = await postgresAvailable();

describe('a database dropped under traffic', () => {
  it.skipIf(!available)('answers 503 unavailable (never 500), is not ready while empty, logs one line per 10 s, and recovers once migrated', async () => {
    const name = uniqueName('colloquy_dropped');
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = Object.assign(new URL(POSTGRES_URL), { pathname: `/${name}` }).toString();
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _encoding, done) { lines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
    const store = await openStore({ url });
    const app = await buildApp({ store, logger: { level: 'warn', stream: sink } });
    try {
      const conversation = (await app.inject({ method: 'POST', url: '/v1/conversations', payload: {} })).json();
      const statuses = new Map<string, number>();
      let stop = false;
      const traffic = (async () => {
        while (!stop) {
          const answer = await app.inject({ method: 'POST', url: `/v1/conversations/${conversation.id}/messages`, payload: { role: 'user', content: 'x' } });
          const key = `${answer.statusCode} ${answer.json().error?.code ?? ''}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
      })();
      const count = (status: string) => [...statuses].filter(([k]) => k.startsWith(status)).reduce((n, [, v]) => n + v, 0);
      const until = async (check: () => boolean) => {
        for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      };
      await until(() => count('201') >= 20);
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await until(() => count('503') >= 50);
      const gone = await app.inject('/health/ready');
      expect(gone.json().error.code).toBe('unavailable');
      expect(gone.body).not.toContain(name); // open to anyone: the status and why, not the driver's words
      await admin.query(`CREATE DATABASE ${name}`);
      const empty = await app.inject('/health/ready');
      expect(empty.statusCode).toBe(503);
      expect(empty.json().error).toMatchObject({ code: 'unavailable', details: { reason: 'schema_missing' } });
      expect(empty.body).not.toContain(name);
      const before = count('503');
      await until(() => count('503') >= before + 50);
      stop = true;
      await traffic;
      expect([...statuses.keys()].sort()).toEqual(['201 ', '503 unavailable']);
      const table = await app.inject({ url: '/v1/conversations' });
      expect(table.json().error).toMatchObject({ code: 'unavailable', details: { reason: 'schema_missing' } });

      // Hundreds of failures, a handful of lines: no stack traces, one line per code per 10 s.
      const failures = lines.filter((l) => l.includes('"code":"unavailable"'));
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.length).toBeLessThan(10);
      expect(lines.some((l) => l.includes('"stack"'))).toBe(false);

      await migrate({ url });
      expect((await app.inject('/health/ready')).json()).toEqual({ status: 'ready' });
      expect((await app.inject({ method: 'POST', url: '/v1/conversations', payload: {} })).statusCode).toBe(201);
    } finally {
      await app.close();
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);
});
