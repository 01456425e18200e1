import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/index.js';
import { expectError } from '../conformance/store-conformance.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

/** Every migration of this release, in order: the folder's files (both engines number them alike). */
const ALL = readdirSync(new URL('../../src/backends/sqlite/migrations/', import.meta.url)).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));

describe('migrations and opening', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-migrate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a SQLite file once and keeps its data across reopenings', async () => {
    const url = `sqlite:${join(dir, 'a.db')}`;
    expect((await migrate({ url })).applied).toEqual(ALL);
    expect((await migrate({ url })).applied).toEqual([]);
    const store = await openStore({ url, durability: 'full' });
    const conversation = await store.conversations.create({ title: 'kept' });
    await store.close();
    const again = await openStore({ url, migrate: false });
    expect((await again.conversations.get(conversation.id))!.title).toBe('kept');
    await again.close();
  });

  it('refuses a SQLite database that a newer Colloquy migrated', async () => {
    const path = join(dir, 'newer.db');
    await migrate({ url: `sqlite:${path}` });
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    const error = await expectError(openStore({ url: `sqlite:${path}` }), 'schema_too_new');
    expect(error.message).toMatch(/schema version 99.*Upgrade Colloquy/);
  });

  it('refuses a PostgreSQL schema that a newer Colloquy migrated, and migrates concurrently without harm', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      const results = await Promise.all([1, 2, 3].map(() => migrate({ url: POSTGRES_URL, schema })));
      expect(results.flatMap((r) => r.applied)).toEqual(ALL);
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`INSERT INTO ${schema}.colloquy_migrations (version, name) VALUES (99, '0099-future')`);
      await client.end();
      await expectError(openStore({ url: POSTGRES_URL, schema }), 'schema_too_new');
    } finally {
      await drop();
    }
  });

  it('answers unavailable, never a false success, when the database cannot be reached', async () => {
    await expectError(openStore({ url: 'postgres://postgres@127.0.0.1:1/nowhere' }), 'unavailable');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    await expectError(openStore({ url: `sqlite:${join(file, 'sub', 'colloquy.db')}` }), 'unavailable');
    await expectError(openStore({ url: `sqlite:${file}` }), 'unavailable');
  });

  it('with migrate: false, refuses a database that is not at this code\'s schema', async () => {
    const error = await expectError(openStore({ url: `sqlite:${join(dir, 'empty.db')}`, migrate: false }), 'schema_outdated');
    expect(error.message).toMatch(/colloquy migrate/);
  });

  it('with migrate: false, refuses an unmigrated PostgreSQL schema', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      await expectError(openStore({ url: POSTGRES_URL, schema, migrate: false }), 'schema_outdated');
      await migrate({ url: POSTGRES_URL, schema });
      const store = await openStore({ url: POSTGRES_URL, schema, migrate: false });
      await store.close();
    } finally {
      await drop();
    }
  });

  it('rejects an invalid tenant before opening anything', async () => {
    await expectError(openStore({ url: `sqlite:${join(dir, 'never.db')}`, tenant: 'no spaces' }), 'invalid_argument');
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  });

  it('rejects an unknown URL scheme with a clear message', async () => {
    const error = await expectError(openStore({ url: 'mysql://localhost/x' }), 'invalid_argument');
    expect(error.message).toMatch(/sqlite:<path>/);
    await expectError(openStore({ url: 'sqlite:' }), 'invalid_argument');
  });

  it('answers unavailable after the store was closed', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    await store.close();
    await expectError(store.conversations.create(), 'unavailable');
  });
});
