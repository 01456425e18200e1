import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';

// Races that SQLite cannot have (its writes are serialised) but PostgreSQL can: another session holds a
// row lock mid-change while the store works on the same rows.
describe('postgres races with an in-flight transaction of another session', async () => {
  const available = await postgresAvailable();
  let store: Store;
  let schema: { schema: string; drop(): Promise<void> };
  let other: pg.Client;

  beforeAll(async () => {
    if (!available) return;
    schema = await throwawaySchema();
    store = (await openStore({ url: POSTGRES_URL, schema: schema.schema })).tenant(uniqueName('t'));
    other = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema.schema}` });
    await other.connect();
  });
  afterAll(async () => {
    if (!available) return;
    await other.end();
    await store.close();
    await schema.drop();
  });

  const waitUntilBlocked = async () => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await other.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
      if (rows[0].n > 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the store call never waited for the lock');
  };

  it.skipIf(!available)('an inbound message racing a close is stored (the conversation is reopened), never lost', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'race' });
    const first = await store.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'a', content: 'a' });
    await other.query('BEGIN');
    await other.query(`UPDATE conversations SET status = 'closed', closed_at = 1, version = version + 1 WHERE id = $1`, [first.conversation.id]);
    const pending = store.ingest({ channelId: channel.id, from: { address: '1' }, externalId: 'b', content: 'b' });
    await waitUntilBlocked();
    await other.query('COMMIT');
    const result = await pending;
    expect(result).toMatchObject({ duplicate: false, reopened: true, message: { seq: 2, content: 'b' } });
    expect(result.conversation).toMatchObject({ id: first.conversation.id, status: 'open' });
    expect((await store.messages.list(first.conversation.id)).data.map((m) => m.content)).toEqual(['a', 'b']);
  });

  it.skipIf(!available)('a duplicate delivery racing the same external id in another conversation changes nothing', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'race-duplicate', config: { reopenWindowSeconds: 3600 } });
    const a = await store.ingest({ channelId: channel.id, from: { address: '5501' }, externalId: 'a1', content: 'a' });
    const b = await store.ingest({ channelId: channel.id, from: { address: '5502' }, externalId: 'b1', content: 'b' });
    const closed = await store.conversations.update(a.conversation.id, { status: 'closed' });
    // Another session appends a message with external id 'e' to B's conversation (as the API does) and has not
    // committed yet, when A's delivery of the same id arrives: it must be a duplicate that reopens nothing.
    await other.query('BEGIN');
    await other.query(`SELECT * FROM colloquy_append($1, $2, $3, 'user', 'x', 'e', NULL, 'delivered', NULL, $4)`,
      [store.tenantId, b.conversation.id, randomUUID(), Date.now()]);
    const pending = store.ingest({ channelId: channel.id, from: { address: '5501' }, externalId: 'e', content: 'again' });
    await waitUntilBlocked();
    await other.query('COMMIT');
    const result = await pending;
    expect(result.duplicate).toBe(true);
    expect(await store.conversations.get(a.conversation.id)).toMatchObject({ status: 'closed', version: closed.version });
    expect((await store.conversations.list({ contactId: a.conversation.contactId! })).data).toHaveLength(1);
  });

  it.skipIf(!available)('an inbound message racing a delete of its conversation is stored in a new one', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'race-delete' });
    const first = await store.ingest({ channelId: channel.id, from: { address: '2' }, externalId: 'a', content: 'a' });
    await other.query('BEGIN');
    await other.query('DELETE FROM conversations WHERE id = $1', [first.conversation.id]);
    const pending = store.ingest({ channelId: channel.id, from: { address: '2' }, externalId: 'b', content: 'b' });
    await waitUntilBlocked();
    await other.query('COMMIT');
    const result = await pending;
    expect(result).toMatchObject({ duplicate: false, created: true, message: { seq: 1, content: 'b' } });
    expect(result.conversation.id).not.toBe(first.conversation.id);
    expect((await store.messages.list(result.conversation.id)).data).toHaveLength(1);
  });

  it.skipIf(!available)('erasing a contact while an append is in flight leaves no event of theirs behind', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'erase' });
    const first = await store.ingest({ channelId: channel.id, from: { address: '3' }, externalId: 'a', content: 'a' });
    await other.query('BEGIN');
    await other.query(`SELECT * FROM colloquy_append($1, $2, gen_random_uuid(), 'user', 'in flight', NULL, NULL, 'delivered', NULL, 1)`,
      [store.tenantId, first.conversation.id]);
    const erasing = store.contacts.erase(first.conversation.contactId!);
    await waitUntilBlocked();
    await other.query('COMMIT');
    expect(await erasing).toBe(true);
    expect((await store.events.list({ conversationId: first.conversation.id })).data).toEqual([]);
    const { rows } = await other.query('SELECT count(*)::int AS n FROM events WHERE conversation_id = $1', [first.conversation.id]);
    expect(rows[0].n).toBe(0);
  });
});
