import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openStore } from '../../src/index.js';
import { cacheKey } from '../../src/store/cache-keys.js';
import { scopeOfStore } from '../../src/store/store.js';
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

describe('what an earlier version left: records without the read marker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-read-marker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a record it cached and a conversation it trashed as a row without the marker reads, and restores it', async () => {
    const file = join(dir, 'earlier.db');
    const url = `sqlite:${file}`;
    let store = await openStore({ url, cache: 'memory' });
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
    const cached = (await store.ingest({ channelId: channel.id, from: { address: '5511' }, externalId: 'a', content: 'oi' })).conversation;
    const trashed = await store.conversations.create({ contactId: cached.contactId! });
    for (const content of ['a', 'b']) await store.messages.append(trashed.id, { role: 'user', content });
    await store.conversations.markRead(trashed.id, { seq: 1 });
    await store.conversations.delete(trashed.id);

    // The earlier version's record in a shared hot tier: its own fields only.
    const { readSeq: _r, unreadCount: _u, ...earlier } = (await store.conversations.get(cached.id))!;
    await scopeOfStore(store).hot!.apply([{ op: 'write', key: cacheKey.conversation(store.tenantId, cached.id), version: cached.version + cached.lastSeq + 1, value: earlier }]);
    expect(await store.conversations.get(cached.id)).toEqual({ ...earlier, readSeq: 0, unreadCount: 1 });
    await store.close();

    const db = new Database(file);
    db.prepare("UPDATE trash SET conversation = json_remove(conversation, '$.readSeq', '$.unreadCount')").run();
    db.close();
    store = await openStore({ url });
    try {
      const expected = { id: trashed.id, lastSeq: 2, readSeq: 0, unreadCount: 2 };
      expect((await store.trash.list()).data[0]!.conversation).toMatchObject(expected);
      expect((await store.trash.get(trashed.id))!.conversation).toMatchObject(expected);
      expect((await store.contacts.export(cached.contactId!))!.trashed[0]).toMatchObject(expected);
      expect((await store.trash.restore(trashed.id)).conversation).toMatchObject(expected);
      expect(await store.conversations.get(trashed.id)).toMatchObject(expected);
    } finally {
      await store.close();
    }
  });
});

describe('handles stored before normalisation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-handles-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Two contacts with an open conversation each, whose handles are two spellings of one number, as an older version stored them. */
  async function seed(url: string, raw: (sql: string, params: unknown[]) => Promise<void>, schema = '') {
    const store = await openStore({ url });
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'line' });
    const older = await store.ingest({ channelId: channel.id, from: { address: '5511111111111', name: 'Ana' }, externalId: 'a', content: 'oi', timestamp: Date.now() - 60_000 });
    const newer = await store.ingest({ channelId: channel.id, from: { address: '5522222222222' }, externalId: 'b', content: 'olá' });
    await store.close();
    await raw(`UPDATE ${schema}contact_handles SET address = '+55 (11) 98765-4321' WHERE address = '5511111111111'`, []);
    await raw(`UPDATE ${schema}contact_handles SET address = '５５１１９８７６５４３２１' WHERE address = '5522222222222'`, []);
    await raw(`DELETE FROM ${schema}colloquy_settings WHERE name = 'handles-normalized'`, []);
    return { channel, older, newer };
  }

  async function check(url: string, seeded: Awaited<ReturnType<typeof seed>>, raw: (sql: string, params: unknown[]) => Promise<void>, schema = '') {
    const report = await migrate({ url });
    expect(report.handles).toEqual({ changed: 2, merged: 1 });
    expect((await migrate({ url })).handles).toBeUndefined(); // once per database
    const store = await openStore({ url });
    try {
      const contact = (await store.contacts.findByHandle({ channel: 'whatsapp', address: '+55 11 98765 4321' }))!;
      expect(contact).toMatchObject({ id: seeded.older.conversation.contactId, name: 'Ana', handles: [{ channel: 'whatsapp', address: '5511987654321' }] });
      expect(await store.contacts.get(seeded.newer.conversation.contactId!)).toBeNull();
      // The contact-merge rule: the older-activity conversation is closed and linked from the other.
      expect(await store.conversations.get(seeded.older.conversation.id)).toMatchObject({ status: 'closed' });
      expect(await store.conversations.get(seeded.newer.conversation.id)).toMatchObject({ status: 'open', contactId: contact.id, previousConversationId: seeded.older.conversation.id });
      expect((await store.diagnose()).merges.count).toBe(1);
      const next = await store.ingest({ channelId: seeded.channel.id, from: { address: '5511987654321' }, externalId: 'c', content: '?' });
      expect(next.conversation.id).toBe(seeded.newer.conversation.id);
      // An instance of the previous version, still running during a rolling upgrade, stores a handle its way:
      // the next start respells it too.
      await store.ingest({ channelId: seeded.channel.id, from: { address: '5521912345678' }, externalId: 'd', content: 'oi' });
    } finally {
      await store.close();
    }
    await raw(`UPDATE ${schema}contact_handles SET address = '+55 21 91234-5678' WHERE address = '5521912345678'`, []);
    expect((await migrate({ url })).handles).toEqual({ changed: 1, merged: 0 });
    const again = await openStore({ url });
    expect((await again.contacts.findByHandle({ channel: 'whatsapp', address: '5521912345678' }))!.handles).toEqual([{ channel: 'whatsapp', address: '5521912345678' }]);
    await again.close();
  }

  it('are respelled once, on SQLite, merging the contacts that turn out to be one person', async () => {
    const file = join(dir, 'old.db');
    const url = `sqlite:${file}`;
    const raw = async (sql: string) => {
      const db = new Database(file);
      db.prepare(sql).run();
      db.close();
    };
    const seeded = await seed(url, raw);
    await check(url, seeded, raw);
  });

  it('are respelled once, on PostgreSQL', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const url = `${POSTGRES_URL}?schema=${schema}`;
      const raw = async (sql: string, params: unknown[]) => {
        await client.query(sql, params);
      };
      const seeded = await seed(url, raw, `${schema}.`);
      await check(url, seeded, raw, `${schema}.`);
    } finally {
      await client.end();
      await drop();
    }
  });
});
