import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresBackend } from '../../src/backends/postgres/postgres-backend.js';
import { loadMigrations, type Migration } from '../../src/backends/sql/migrations.js';
import { createSqliteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { openStore, type Store } from '../../src/index.js';
import { expectError } from '../conformance/store-conformance.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';

const folder = (engine: string) => new URL(`../../src/backends/${engine}/migrations/`, import.meta.url);
const own = { sqlite: loadMigrations(folder('sqlite')), postgres: loadMigrations(folder('postgres')) };
/** This release's schema version; the synthesized next release's steps come after it. */
const current = own.sqlite.length;
const tag = (version: number) => `${String(version).padStart(4, '0')}-next-release`;

/** A next release's migrations: this release's, then `more` (expand-only steps, as a next release writes them). */
const nextRelease = (engine: 'sqlite' | 'postgres', more: Array<{ sql: string; backwardCompatible: boolean }>): Migration[] => [
  ...own[engine],
  ...more.map((m, i) => {
    const version = own[engine].length + 1 + i;
    return { version, name: tag(version), ...m };
  }),
];

/** This release's code at work on a database a newer release migrated. */
async function works(store: Store): Promise<void> {
  const channel = await store.channels.create({ kind: 'whatsapp', name: 'upgrade', secrets: { accessToken: 't' } });
  const inbound = await store.ingest({ channelId: channel.id, from: { address: '55' }, externalId: 'up-1', content: 'oi' });
  await store.messages.append(inbound.conversation.id, { role: 'assistant', content: 'olá' });
  await store.state.set(inbound.conversation.id, { state: 'greeted', expectedVersion: 0 });
  expect((await store.messages.list(inbound.conversation.id)).data.map((m) => m.content)).toEqual(['oi', 'olá']);
  expect((await store.conversations.list()).data.map((c) => c.id)).toContain(inbound.conversation.id);
}

describe('rolling upgrades: this release on a schema one compatible migration ahead', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-rolling-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('numbers migrations alike on both engines, each one from 0004 saying whether the previous version can run on it', () => {
    const names = (engine: string) => readdirSync(folder(engine)).filter((f) => f.endsWith('.sql')).sort();
    expect(names('sqlite')).toEqual(names('postgres'));
    expect(own.sqlite.map((m) => m.backwardCompatible)).toEqual(own.postgres.map((m) => m.backwardCompatible));
    const bad = mkdtempSync(join(dir, 'bad-'));
    for (const [file, sql] of [['0001-a.sql', 'SELECT 1;'], ['0002-b.sql', 'SELECT 1;'], ['0003-c.sql', 'SELECT 1;'], ['0004-d.sql', 'SELECT 1;']]) writeFileSync(join(bad, file!), sql!);
    expect(() => loadMigrations(pathToFileURL(`${bad}/`))).toThrow(/0004-d\.sql lacks its "-- backward-compatible: yes\|no" header/);
  });

  it('SQLite: runs on a database the next release migrated with a compatible step, refuses an incompatible one', async () => {
    const compatible = join(dir, 'compatible.db');
    const next = await createSqliteBackend({ path: compatible, migrations: nextRelease('sqlite', [{ sql: 'ALTER TABLE conversations ADD COLUMN priority INTEGER;', backwardCompatible: true }]) });
    expect((await next.admin.migrate()).applied.at(-1)).toBe(tag(current + 1));
    await next.admin.close();
    for (const migrate of [false, true]) {
      const store = await openStore({ url: `sqlite:${compatible}`, migrate });
      await works(store);
      await store.close();
    }

    const incompatible = join(dir, 'incompatible.db');
    const breaking = await createSqliteBackend({ path: incompatible, migrations: nextRelease('sqlite', [{ sql: 'ALTER TABLE messages RENAME COLUMN content TO body;', backwardCompatible: false }]) });
    await breaking.admin.migrate();
    await breaking.admin.close();
    const refused = await expectError(openStore({ url: `sqlite:${incompatible}` }), 'schema_too_new', { databaseVersion: current + 1, codeVersion: current });
    expect(refused.message).toMatch(/not one the previous version can run on/);

    const twoAhead = join(dir, 'two-ahead.db');
    const further = await createSqliteBackend({ path: twoAhead, migrations: nextRelease('sqlite', [
      { sql: 'ALTER TABLE conversations ADD COLUMN a INTEGER;', backwardCompatible: true },
      { sql: 'ALTER TABLE conversations ADD COLUMN b INTEGER;', backwardCompatible: true },
    ]) });
    await further.admin.migrate();
    await further.admin.close();
    await expectError(openStore({ url: `sqlite:${twoAhead}`, migrate: false }), 'schema_too_new', { databaseVersion: current + 2, codeVersion: current });
  });

  it('PostgreSQL: the same, with instances of both releases on one schema at once', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    try {
      const next = await createPostgresBackend({ url: POSTGRES_URL, schema, migrations: nextRelease('postgres', [{ sql: 'ALTER TABLE conversations ADD COLUMN priority integer;', backwardCompatible: true }]) });
      await next.admin.migrate();
      const store = await openStore({ url: POSTGRES_URL, schema });
      await works(store);
      // The next release's instance keeps working beside this one.
      await next.admin.checkSchema();
      expect((await next.conversations.list(store.tenantId, { limit: 10 })).length).toBeGreaterThan(0);
      await store.close();
      await next.admin.close();
    } finally {
      await drop();
    }
    const other = await throwawaySchema();
    try {
      const breaking = await createPostgresBackend({ url: POSTGRES_URL, schema: other.schema, migrations: nextRelease('postgres', [{ sql: 'ALTER TABLE messages RENAME COLUMN content TO body;', backwardCompatible: false }]) });
      await breaking.admin.migrate();
      await breaking.admin.close();
      await expectError(openStore({ url: POSTGRES_URL, schema: other.schema, migrate: false }), 'schema_too_new', { databaseVersion: current + 1, codeVersion: current });
    } finally {
      await other.drop();
    }
  });
});
