import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createChannelRuntime } from '../../src/channels/channel-runtime.js';
import { createOutboxSender } from '../../src/channels/outbox-sender.js';
import { openStore } from '../../src/index.js';
import { startFakeGraphApi } from '../fakes/fake-graph-api.js';
import { POSTGRES_URL, postgresAvailable, throwawaySchema } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

describe('a status arriving while the send that gets its id commits (PostgreSQL, READ COMMITTED)', () => {
  it('is applied: kept by the status, found after the commit by the send', async (ctx) => {
    if (!(await postgresAvailable())) return ctx.skip();
    const { schema, drop } = await throwawaySchema();
    const graph = await startFakeGraphApi();
    const store = await openStore({ url: POSTGRES_URL, schema });
    const channels = createChannelRuntime({ store, settingsCacheMs: 0 });
    const sender = createOutboxSender({ channels, pollMs: 50, timeoutMs: 2_000 });
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      // The send's transaction pauses at its commit (a deferred trigger): its provider id is written, not yet visible.
      await admin.query(`CREATE FUNCTION ${schema}.slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$`);
      await admin.query(`CREATE CONSTRAINT TRIGGER outbox_slow_commit AFTER UPDATE ON ${schema}.outbox DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.state = 'done') EXECUTE FUNCTION ${schema}.slow_commit()`);
      const channel = await store.channels.create({ kind: 'whatsapp', name: 'race', config: { phoneNumberId: '1', graphApiUrl: graph.url }, secrets: { accessToken: 't', appSecret: 'a', verifyToken: 'v' } });
      const { conversation } = await store.ingest({ channelId: channel.id, from: { address: '5511955554444' }, externalId: 'wamid.in', content: 'oi', timestamp: Date.now() - 60_000 });
      sender.start();
      const { message } = await store.messages.append(conversation.id, { role: 'assistant', content: 'já vai' });
      await waitFor('the send', () => graph.sends.length === 1);
      await new Promise((r) => setTimeout(r, 400));
      // Inside the paused commit: the message has no visible id yet, so the status is kept.
      expect(await channels.ops.status(channel.id, 'wamid.fake1', 'delivered', Date.now(), null)).toBe('pending');
      await waitFor('the kept status to be applied', async () => (await store.messages.get(message.id))!.status === 'delivered', 15_000);
    } finally {
      await sender.stop();
      await channels.close();
      await store.close();
      await admin.end();
      await graph.close();
      await drop();
    }
  });
});
