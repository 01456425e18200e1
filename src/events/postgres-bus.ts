import pg from 'pg';
import { createCoalescer, type EventBus } from './bus.js';

const CHANNEL = 'colloquy_events';

/**
 * Wake-ups through PostgreSQL LISTEN/NOTIFY, for a fleet without Redis: one connection of its own both
 * listens and notifies, opened on the first announcement or live reader. Notifications are sent after the
 * commit they announce, outside its transaction, so they add no lock to the write path. Reconnects a second
 * after losing its connection.
 */
export function createPostgresBus(url: string): EventBus {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  // One statement per tick, one at a time on the connection.
  let sending: Promise<unknown> = Promise.resolve();
  const coalescer = createCoalescer((payloads) => {
    const on = client;
    if (!on) return Promise.resolve();
    sending = sending.catch(() => {}).then(() => on.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [CHANNEL, payloads]));
    return sending;
  });
  const connect = async () => {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    let gone = false;
    // Once per connection, whichever of its error, its end or a failed LISTEN comes first.
    const lost = () => {
      if (gone) return;
      gone = true;
      if (client === next) client = undefined;
      next.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void connect(), 1_000);
    };
    next.on('error', lost);
    next.on('end', lost);
    next.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) coalescer.receive(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      if (closed) {
        gone = true;
        await next.end();
      } else client = next;
    } catch {
      lost();
    }
  };
  // Connects on first use: a process that neither writes nor listens (`colloquy export`) never opens it.
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void connect();
  };
  return {
    publish(tenant) {
      start();
      coalescer.publish(tenant);
    },
    subscribe(listener) {
      coalescer.subscribe(listener);
    },
    listen: start,
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
