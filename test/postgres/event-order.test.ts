import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/index.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema, uniqueName } from '../helpers/services.js';

// Sequence order is not commit order: an older transaction can commit its event after a newer one. A reader
// that had already moved its cursor past the newer event would skip the older one forever. This pins down
// that the event log never lets that happen.
describe('postgres event log: a late commit of an older transaction is never skipped', async () => {
  const available = await postgresAvailable();
  let store: Store;
  let schema: { schema: string; drop(): Promise<void> };
  let client: pg.Client;

  beforeAll(async () => {
    if (!available) return;
    schema = await throwawaySchema();
    store = (await openStore({ url: POSTGRES_URL, schema: schema.schema })).tenant(uniqueName('t'));
    client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema.schema}` });
    await client.connect();
  });
  afterAll(async () => {
    if (!available) return;
    await client.end();
    await store.close();
    await schema.drop();
  });

  it.skipIf(!available)('holds back newer events until the older transaction ends, then delivers both in order', async () => {
    const conversation = await store.conversations.create();
    const seen = (await store.events.list()).data;
    expect(seen.map((e) => e.type)).toEqual(['conversation.created']);

    // An older transaction writes an event and stays open.
    await client.query('BEGIN');
    await client.query(`INSERT INTO events (tenant_id, type, conversation_id, data, created_at) VALUES ($1, 'conversation.updated', $2, '{"late":true}', 0)`,
      [store.tenantId, conversation.id]);
    // A newer transaction commits its event first.
    const { message } = await store.messages.append(conversation.id, { role: 'user', content: 'newer' });

    const started = Date.now();
    const whileOpen = (await store.events.list({ after: seen.at(-1)!.id })).data;
    expect(whileOpen).toEqual([]); // the committed newer event is held back, not delivered ahead of the older one
    expect(Date.now() - started).toBeGreaterThanOrEqual(200); // it waited for the horizon before giving up

    await client.query('COMMIT');
    const after = (await store.events.list({ after: seen.at(-1)!.id })).data;
    expect(after.map((e) => e.type)).toEqual(['conversation.updated', 'message.created']);
    expect(after[0]!.data).toEqual({ late: true });
    expect(after[1]!.data).toMatchObject({ messageId: message.id });
  });

  it.skipIf(!available)('releases a held-back event as soon as the older transaction ends', async () => {
    const conversation = await store.conversations.create();
    const cursor = (await store.events.list({ limit: 1000 })).data.at(-1)!.id;
    await client.query('BEGIN');
    await client.query('SELECT pg_current_xact_id()'); // holds an xid, writes no event
    await store.messages.append(conversation.id, { role: 'user', content: 'x' });
    const pending = store.events.list({ after: cursor });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.query('ROLLBACK');
    expect((await pending).data.map((e) => e.type)).toEqual(['message.created']);
  });
});
