import { isDeepStrictEqual } from 'node:util';
import { readFileSync } from 'node:fs';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { assertVersion, closedAtFor, conversationClosed, nextState, onePerPair } from '../../domain/lifecycle.js';
import { canAdvance } from '../../domain/message-status.js';
import type { EventType, Handle, JsonObject, StoreEvent } from '../../domain/types.js';
import type { Backend, NewMessage } from '../backend.js';
import { DIAGNOSIS_SQL, diagnosisOf } from '../diagnosis.js';
import { guard } from '../guard.js';
import { exportRecords, importRecords } from '../portable.js';
import { assertNotTooNew, loadMigrations } from '../migrations.js';
import { apiKeyOf, createRowMappers, emptyState, extraOf, iso, messageOf, packExtra, type Row } from '../rows.js';

export interface PostgresConfig {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** Schema for Colloquy's tables (created if missing). Default: the connection's search_path (usually public). */
  readonly schema?: string;
  /** Pool size. Default 10. */
  readonly poolSize?: number;
  /** Per-statement timeout; a hung database answers `unavailable` instead of hanging requests. Default 30000 ms. */
  readonly statementTimeoutMs?: number;
  /** How long to wait for a connection. Default 10000 ms. */
  readonly connectTimeoutMs?: number;
}

const migrations = loadMigrations(new URL('./migrations/', import.meta.url));
const APPEND_FAST = readFileSync(new URL('./queries/append-fast.sql', import.meta.url), 'utf8');
const map = createRowMappers((value) => value);
const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const INT8 = 20;
const MIGRATION_LOCK = 7_236_930_151; // arbitrary constant: serialises concurrent migrators
/** How long listEvents waits for committed events held back by older, still running transactions. */
const EVENT_SETTLE_WAIT_MS = 250;

/** PostgreSQL backend on a `pg` pool. Hot paths (append, ingest) are server-side functions: one round trip each. */
export async function createPostgresBackend(config: PostgresConfig): Promise<Backend> {
  const { default: pg } = await import('pg');
  const settings = Object.freeze({ poolSize: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000, ...config });
  if (settings.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(settings.schema)) {
    throw new ColloquyError('invalid_argument', `Invalid schema name "${settings.schema}": use lowercase letters, digits and _.`);
  }
  let queries = 0;
  /** Counts every statement sent, for the round-trip metric. */
  class CountingClient extends pg.Client {
    override query(...args: unknown[]): never {
      queries++;
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  }
  const pool: Pool = new pg.Pool({
    Client: CountingClient,
    connectionString: settings.url,
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    // The locking in the SQL functions relies on READ COMMITTED, whatever the server's default.
    options: `-c default_transaction_isolation=read\\ committed${settings.schema ? ` -c search_path=${settings.schema}` : ''}`,
    // int8 columns here are epoch ms and sequence numbers: far below 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as never },
  });
  // An idle client that loses its server must not crash the process; the next query reports `unavailable`.
  pool.on('error', () => {});

  const query = async (text: string | QueryConfig, values?: unknown[]): Promise<Row[]> => {
    const result = typeof text === 'string' ? await pool.query(text, values) : await pool.query(text);
    return result.rows;
  };
  const one = async (text: string, values: unknown[]): Promise<Row | undefined> => (await query(text, values))[0];

  /** Runs fn in a transaction on one client; rolls back on any error. */
  const tx = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => { broken = rollbackError; });
      throw error;
    } finally {
      client.release(broken); // a client whose ROLLBACK failed may still be in a transaction: destroy it
    }
  };
  const rowsOf = async (client: PoolClient, text: string, values: unknown[]) => (await client.query(text, values)).rows as Row[];

  const event = (client: PoolClient, tenant: string, type: EventType, conversationId: string | null, data: JsonObject, now: number) =>
    client.query('INSERT INTO events (tenant_id, type, conversation_id, data, created_at) VALUES ($1, $2, $3, $4, $5)', [
      tenant, type, conversationId, JSON.stringify(data), now,
    ]);

  const handlesOf = async (contactId: string): Promise<Handle[]> =>
    (await query('SELECT channel, address FROM contact_handles WHERE contact_id = $1 ORDER BY created_at, channel COLLATE "C", address COLLATE "C"', [contactId]))
      .map((h) => ({ channel: h.channel, address: h.address }));

  const contactById = async (tenant: string, id: string) => {
    const row = await one('SELECT * FROM contacts WHERE id = $1 AND tenant_id = $2', [id, tenant]);
    return row && map.contact(row, await handlesOf(id));
  };

  const conversationById = async (tenant: string, id: string) => {
    const row = await one('SELECT * FROM conversations WHERE id = $1 AND tenant_id = $2', [id, tenant]);
    return row && map.conversation(row);
  };

  const exists = async (client: PoolClient, table: 'contacts' | 'channels' | 'agents', tenant: string, id: string) =>
    (await client.query(`SELECT 1 FROM ${table} WHERE id = $1 AND tenant_id = $2`, [id, tenant])).rowCount === 1;

  const messageArgs = (m: NewMessage) => [m.id, m.role, m.content, m.externalId, m.idempotencyKey, m.status, packExtra(m), m.createdAt];

  const backend: Backend = {
    dialect: 'postgres',
    capabilities: Object.freeze({ multiProcess: true }),

    async migrate() {
      return tx(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        if (settings.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${settings.schema}`);
        await client.query(`CREATE TABLE IF NOT EXISTS colloquy_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
        const current = Number((await rowsOf(client, 'SELECT coalesce(max(version), 0) AS v FROM colloquy_migrations', []))[0]?.v ?? 0);
        assertNotTooNew(current, migrations, `${redact(settings.url)}${settings.schema ? ` (schema ${settings.schema})` : ''}`);
        const pending = migrations.filter((m) => m.version > current);
        for (const m of pending) {
          await client.query(m.sql);
          await client.query('INSERT INTO colloquy_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        }
        return { applied: pending.map((m) => m.name), current: migrations.at(-1)?.name ?? null };
      });
    },

    async diagnose() {
      const rows = Object.fromEntries(await Promise.all(Object.entries(DIAGNOSIS_SQL).map(async ([name, sql]) => [name, await query(sql)])));
      const warnings: string[] = [];
      // Event delivery waits for every older transaction: report the ones that hold it back.
      const old = await query(`SELECT pid, state, now() - xact_start AS age FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND xact_start < now() - interval '60 seconds' ORDER BY xact_start LIMIT 5`);
      for (const r of old) warnings.push(`transaction of pid ${r.pid} (${r.state}) has been open for ${JSON.stringify(r.age)}: live events wait until it ends`);
      const prepared = await one('SELECT count(*)::int AS n FROM pg_prepared_xacts', []);
      if (prepared?.n) warnings.push(`${prepared.n} prepared transaction(s) are pending: live events wait until they are committed or rolled back`);
      const ahead = await one(`SELECT max(tx)::text AS tx FROM events WHERE tx >= pg_snapshot_xmax(pg_current_snapshot())`, []);
      if (ahead?.tx) warnings.push('events carry transaction ids ahead of this cluster (a restored dump?): new events sort before them; restart event consumers from the beginning');
      return diagnosisOf(rows as never, warnings);
    },

    async *exportRecords() {
      // One REPEATABLE READ snapshot for the whole export, paged by key.
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        yield* exportRecords({
          all: async (sql, values) => (await client.query(numbered(sql), values)).rows as Row[],
          handlesJson: `(SELECT coalesce(json_agg(json_build_object('channel', h.channel, 'address', h.address)
            ORDER BY h.created_at, h.channel COLLATE "C", h.address COLLATE "C"), '[]'::json) FROM contact_handles h WHERE h.contact_id = x.id)`,
          map,
        });
        await client.query('COMMIT');
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },

    async importRecords(records) {
      return tx((client) => importRecords({
        insertIfAbsent: async (row) =>
          (await client.query(`INSERT INTO ${row.table} (${row.columns.join(', ')}) VALUES (${row.columns.map((_, i) => `$${i + 1}`).join(', ')})
            ON CONFLICT DO NOTHING`, row.values)).rowCount === 1,
        conversationChannel: async (tenant, id) =>
          (await rowsOf(client, 'SELECT channel_id FROM conversations WHERE id = $1 AND tenant_id = $2', [id, tenant]))[0]?.channel_id,
        owns: async (table, tenant, id) => (await client.query(`SELECT 1 FROM ${table} WHERE id = $1 AND tenant_id = $2`, [id, tenant])).rowCount === 1,
        advance: async (conversationId, seq, at) => void (await client.query(`UPDATE conversations SET last_seq = greatest(last_seq, $1),
          last_message_at = greatest(last_message_at, $2), last_activity_at = greatest(last_activity_at, $2) WHERE id = $3`, [seq, at, conversationId])),
      }, records));
    },

    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, queries }),

    async checkSchema() {
      const table = await one(`SELECT to_regclass('colloquy_migrations') AS t`, []);
      const current = table?.t ? Number((await one('SELECT coalesce(max(version), 0) AS v FROM colloquy_migrations', []))!.v) : 0;
      assertNotTooNew(current, migrations, `${redact(settings.url)}${settings.schema ? ` (schema ${settings.schema})` : ''}`, true);
    },

    async ping() {
      await query('SELECT 1');
    },

    async close() {
      await pool.end();
    },

    async upsertContact(tenant, input) {
      const id = await tx(async (client) => {
        const inserted = await client.query(`WITH contact AS (
            INSERT INTO contacts (id, tenant_id, name, metadata, created_at, updated_at) VALUES ($4, $1, $6, $7, $5, $5) RETURNING id)
          INSERT INTO contact_handles (tenant_id, channel, address, contact_id, created_at)
            SELECT $1, $2, $3, id, $5 FROM contact ON CONFLICT DO NOTHING`,
          [tenant, input.channel, input.address, input.id, input.now, input.name ?? null, JSON.stringify(input.metadata ?? {})]);
        if (inserted.rowCount === 1) return input.id;
        await client.query('DELETE FROM contacts WHERE id = $1', [input.id]); // the handle already had a contact
        const found = (await rowsOf(client, 'SELECT contact_id FROM contact_handles WHERE tenant_id = $1 AND channel = $2 AND address = $3',
          [tenant, input.channel, input.address]))[0];
        if (!found) throw new ColloquyError('conflict', 'The contact of this handle was erased at the same moment; retry the call.');
        if (input.name !== undefined || input.metadata !== undefined) {
          await client.query(`UPDATE contacts SET name = CASE WHEN $1 THEN $2 ELSE name END, metadata = coalesce($3::jsonb, metadata),
              updated_at = $4 WHERE id = $5`, [input.name !== undefined, input.name ?? null, toJson(input.metadata), input.now, found.contact_id]);
        }
        return found.contact_id as string;
      });
      return (await contactById(tenant, id))!;
    },

    getContact: contactById,

    async listContacts(tenant, options) {
      const rows = options.after
        ? await query('SELECT * FROM contacts WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3', [tenant, options.after, options.limit])
        : await query('SELECT * FROM contacts WHERE tenant_id = $1 ORDER BY id LIMIT $2', [tenant, options.limit]);
      const handles = new Map<string, Handle[]>();
      const all = await query(`SELECT contact_id, channel, address FROM contact_handles WHERE contact_id = ANY($1::uuid[])
        ORDER BY created_at, channel COLLATE "C", address COLLATE "C"`, [rows.map((r) => r.id)]);
      for (const h of all) handles.set(h.contact_id, [...(handles.get(h.contact_id) ?? []), { channel: h.channel, address: h.address }]);
      return rows.map((row) => map.contact(row, handles.get(row.id) ?? []));
    },

    async findContactByHandle(tenant, channel, address) {
      const found = await one('SELECT contact_id FROM contact_handles WHERE tenant_id = $1 AND channel = $2 AND address = $3', [tenant, channel, address]);
      return found && contactById(tenant, found.contact_id);
    },

    async eraseContact(tenant, id, now) {
      return tx(async (client) => {
        const locked = await client.query('SELECT 1 FROM contacts WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [id, tenant]);
        if (locked.rowCount !== 1) return undefined;
        const handles = (await rowsOf(client, 'SELECT channel, address FROM contact_handles WHERE contact_id = $1', [id])).map((r) => ({ channel: r.channel, address: r.address }) as Handle);
        const conversationIds = (await rowsOf(client, 'SELECT id FROM conversations WHERE contact_id = $1', [id])).map((r) => r.id as string);
        // Other contacts' links to these (only imported data has them), explicitly: the hot tier must learn of them.
        const unlinked = (await rowsOf(client, `UPDATE conversations SET previous_conversation_id = NULL
          WHERE previous_conversation_id = ANY($1::uuid[]) AND contact_id IS DISTINCT FROM $2 RETURNING id`, [conversationIds, id])).map((r) => r.id as string);
        await client.query('DELETE FROM contacts WHERE id = $1', [id]); // cascades; waits for writers on those rows
        // After the cascade: a new statement also sees events that concurrent writers committed meanwhile.
        await client.query('DELETE FROM events WHERE conversation_id = ANY($1::uuid[])', [conversationIds]);
        await event(client, tenant, 'contact.erased', null, { contactId: id, conversationIds }, now);
        return { handles, conversationIds, unlinked };
      });
    },

    async exportContact(tenant, id) {
      const contact = await contactById(tenant, id);
      if (!contact) return undefined;
      const rows = await query('SELECT * FROM conversations WHERE contact_id = $1 ORDER BY created_at, id', [id]);
      const conversations = await Promise.all(rows.map(async (row) => {
        const stateRow = await one('SELECT * FROM conversation_states WHERE conversation_id = $1', [row.id]);
        const messages = (await query('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq', [row.id])).map(map.message);
        return { ...map.conversation(row), state: stateRow ? map.state(stateRow) : emptyState(row.id), messages };
      }));
      return { contact, conversations };
    },

    async createChannel(tenant, input) {
      const row = await one(`INSERT INTO channels (id, tenant_id, kind, name, config, reopen_window_ms, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`, [
        input.id, tenant, input.kind, input.name, JSON.stringify(input.config), input.config.reopenWindowSeconds * 1000, input.now, input.now,
      ]);
      return map.channel(row!);
    },

    async getChannel(tenant, id) {
      const row = await one('SELECT * FROM channels WHERE id = $1 AND tenant_id = $2', [id, tenant]);
      return row && map.channel(row);
    },

    async listChannels(tenant) {
      return (await query('SELECT * FROM channels WHERE tenant_id = $1 ORDER BY id', [tenant])).map(map.channel);
    },

    async createConversation(tenant, input) {
      return tx(async (client) => {
        if (input.contactId && !(await exists(client, 'contacts', tenant, input.contactId))) throw notFound('contact', input.contactId);
        if (input.channelId && !(await exists(client, 'channels', tenant, input.channelId))) throw notFound('channel', input.channelId);
        if (input.agentId && !(await exists(client, 'agents', tenant, input.agentId))) throw notFound('agent', input.agentId);
        const inserted = await client.query(`INSERT INTO conversations (id, tenant_id, contact_id, channel_id, agent_id, status, title, metadata,
            created_at, updated_at, last_activity_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)
          ON CONFLICT DO NOTHING RETURNING *`, [
          input.id, tenant, input.contactId, input.channelId, input.agentId, input.status, input.title, JSON.stringify(input.metadata), input.now,
        ]);
        if (inserted.rowCount !== 1) throw onePerPair();
        await event(client, tenant, 'conversation.created', input.id, { status: input.status, version: 1 }, input.now);
        return map.conversation(inserted.rows[0]);
      });
    },

    getConversation: conversationById,

    async listConversations(tenant, filter) {
      const where = ['tenant_id = $1'];
      const params: unknown[] = [tenant];
      for (const [column, value] of [['status', filter.status], ['contact_id', filter.contactId], ['channel_id', filter.channelId], ['agent_id', filter.agentId]] as const) {
        if (value !== undefined) { params.push(value); where.push(`${column} = $${params.length}`); }
      }
      if (filter.after) {
        params.push(filter.after.activityAt, filter.after.id);
        where.push(`(last_activity_at, id) < ($${params.length - 1}, $${params.length})`);
      }
      params.push(filter.limit);
      const rows = await query(`SELECT * FROM conversations WHERE ${where.join(' AND ')}
        ORDER BY last_activity_at DESC, id DESC LIMIT $${params.length}`, params);
      return rows.map(map.conversation);
    },

    async updateConversation(tenant, id, patch) {
      return tx(async (client) => {
        const row = (await rowsOf(client, 'SELECT * FROM conversations WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [id, tenant]))[0];
        if (!row) return undefined;
        assertVersion(patch.expectedVersion, row.version, 'Conversation');
        if (patch.agentId && !(await exists(client, 'agents', tenant, patch.agentId))) throw notFound('agent', patch.agentId);
        const status = patch.status ?? row.status;
        const title = patch.title !== undefined ? patch.title : row.title;
        const agentId = patch.agentId !== undefined ? patch.agentId : row.agent_id;
        const metadataChanged = patch.metadata !== undefined && !isDeepStrictEqual(patch.metadata, row.metadata);
        const changed = [
          status !== row.status && 'status', title !== row.title && 'title', agentId !== row.agent_id && 'agentId', metadataChanged && 'metadata',
        ].filter((c): c is string => c !== false);
        if (!changed.length) return map.conversation(row);
        if (status !== 'closed' && row.status === 'closed' && row.contact_id && row.channel_id) {
          const other = await client.query(`SELECT 1 FROM conversations WHERE tenant_id = $1 AND contact_id = $2 AND channel_id = $3
            AND status <> 'closed' AND id <> $4`, [tenant, row.contact_id, row.channel_id, id]);
          if (other.rowCount) throw onePerPair();
        }
        const updated = await client.query(`UPDATE conversations SET status = $1, title = $2, agent_id = $3, metadata = $4, closed_at = $5,
            version = version + 1, updated_at = $6, last_activity_at = greatest(last_activity_at, $6) WHERE id = $7 RETURNING *`, [
          status, title, agentId, metadataChanged ? JSON.stringify(patch.metadata) : JSON.stringify(row.metadata),
          closedAtFor(status, row.status, row.closed_at, patch.now), patch.now, id,
        ]);
        await event(client, tenant, 'conversation.updated', id, { status, version: row.version + 1, changed }, patch.now);
        return map.conversation(updated.rows[0]);
      });
    },

    async deleteConversations(tenant, which, now) {
      return tx(async (client) => {
        const ids = (await rowsOf(client, 'id' in which
          ? 'SELECT id FROM conversations WHERE id = $1 AND tenant_id = $2 FOR UPDATE'
          : 'SELECT id FROM conversations WHERE contact_id = $1 AND tenant_id = $2 ORDER BY id FOR UPDATE',
        ['id' in which ? which.id : which.contactId, tenant])).map((r) => r.id as string);
        if (!ids.length) return { deleted: [], unlinked: [] };
        // Explicitly rather than by the foreign key's SET NULL, to learn which records changed (the hot tier must).
        const unlinked = (await rowsOf(client, `UPDATE conversations SET previous_conversation_id = NULL
          WHERE previous_conversation_id = ANY($1::uuid[]) AND NOT id = ANY($1::uuid[]) RETURNING id`, [ids])).map((r) => r.id as string);
        await client.query('DELETE FROM conversations WHERE id = ANY($1::uuid[])', [ids]);
        await client.query('DELETE FROM events WHERE conversation_id = ANY($1::uuid[])', [ids]); // after the cascade, as in eraseContact
        for (const id of ids) await event(client, tenant, 'conversation.deleted', id, {}, now);
        return { deleted: ids, unlinked };
      });
    },

    async appendMessage(tenant, conversationId, m) {
      if (m.idempotencyKey === null && m.externalId === null) {
        // Nothing to deduplicate: one statement. The UPDATE takes the conversation's row lock; a concurrent
        // append waits for it, then re-reads the row (READ COMMITTED), so seq stays gapless.
        const rows = await query({ name: 'colloquy_append_fast', text: APPEND_FAST, values: [tenant, conversationId, ...messageArgs(m)] });
        if (rows[0]) return { message: messageOf(m.id, conversationId, rows[0].seq, m.role, m.content, null, null, m.status, m.createdAt, extraOf(m), m.createdAt), duplicate: false };
        // No row: the conversation is missing or closed; the function below says which.
      }
      const row = (await query({
        name: 'colloquy_append',
        text: 'SELECT * FROM colloquy_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        values: [tenant, conversationId, ...messageArgs(m)],
      }))[0]!;
      if (row.outcome === 'not_found') throw notFound('conversation', conversationId);
      if (row.outcome === 'closed') throw conversationClosed(conversationId);
      return { message: map.message(row), duplicate: row.outcome === 'duplicate' };
    },

    async listMessages(tenant, conversationId, range) {
      const desc = range.order === 'desc';
      const rows = await query({
        name: desc ? 'colloquy_messages_desc' : 'colloquy_messages_asc',
        text: `SELECT * FROM messages WHERE conversation_id = $1 AND tenant_id = $2 AND seq > $3 AND seq < $4
               ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT $5`,
        values: [conversationId, tenant, range.after ?? 0, range.before ?? Number.MAX_SAFE_INTEGER, range.limit],
      });
      if (!rows.length && !(await one('SELECT 1 FROM conversations WHERE id = $1 AND tenant_id = $2', [conversationId, tenant]))) return undefined;
      return rows.map(map.message);
    },

    async getMessage(tenant, id) {
      const row = await one('SELECT * FROM messages WHERE id = $1 AND tenant_id = $2', [id, tenant]);
      return row && map.message(row);
    },

    async updateMessageStatus(tenant, id, status, at) {
      return tx(async (client) => {
        const row = (await rowsOf(client, 'SELECT * FROM messages WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [id, tenant]))[0];
        if (!row) return undefined;
        if (!canAdvance(row.status, status)) return { message: map.message(row), changed: false };
        await client.query('UPDATE messages SET status = $1, status_at = $2 WHERE conversation_id = $3 AND seq = $4', [status, at, row.conversation_id, row.seq]);
        await event(client, tenant, 'message.status', row.conversation_id, { messageId: id, seq: row.seq, status }, at);
        return { message: map.message({ ...row, status, status_at: at }), changed: true };
      });
    },

    async ingest(tenant, input) {
      const m = input.message;
      const row = (await query({
        name: 'colloquy_ingest',
        text: 'SELECT * FROM colloquy_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
        values: [tenant, input.channelId, input.address, input.name, input.contactId, input.conversationId, m.id, m.content,
          m.externalId, m.status, packExtra(m), m.createdAt, input.now],
      }))[0]!;
      if (row.outcome === 'channel_not_found') throw notFound('channel', input.channelId);
      const conversation = map.conversation(row.conversation);
      return {
        message: map.message({ ...row, conversation_id: conversation.id }), conversation,
        duplicate: row.outcome === 'duplicate', created: row.created, reopened: row.reopened,
      };
    },

    async getState(tenant, conversationId) {
      const row = await one(`SELECT c.id, s.* FROM conversations c LEFT JOIN conversation_states s ON s.conversation_id = c.id
        WHERE c.id = $1 AND c.tenant_id = $2`, [conversationId, tenant]);
      if (!row) return undefined;
      return row.version === null ? emptyState(conversationId) : map.state(row);
    },

    async setState(tenant, conversationId, input) {
      return tx(async (client) => {
        const conv = await client.query('SELECT 1 FROM conversations WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE', [conversationId, tenant]);
        if (conv.rowCount !== 1) return undefined;
        const row = (await rowsOf(client, 'SELECT * FROM conversation_states WHERE conversation_id = $1', [conversationId]))[0];
        const next = nextState((row ?? { state: null, previous_state: null, data: {}, version: 0 }) as never, input);
        await client.query(`INSERT INTO conversation_states (conversation_id, tenant_id, state, previous_state, data, version, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7)
          ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, previous_state = excluded.previous_state,
            data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`, [
          conversationId, tenant, next.state, next.previous_state, JSON.stringify(next.data), next.version, input.now,
        ]);
        await event(client, tenant, 'state.updated', conversationId, { version: next.version, state: next.state }, input.now);
        return { conversationId, state: next.state, previousState: next.previous_state, data: next.data, version: next.version, updatedAt: iso(input.now) };
      });
    },

    async createAgent(tenant, input) {
      const row = await one(`INSERT INTO agents (id, tenant_id, name, instructions, model, params, metadata, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING RETURNING *`, [
        input.id, tenant, input.name, input.instructions, input.model, JSON.stringify(input.params), JSON.stringify(input.metadata), input.now,
      ]);
      if (!row) throw agentNameTaken(input.name);
      return map.agent(row);
    },

    async getAgent(tenant, id) {
      const row = await one('SELECT * FROM agents WHERE id = $1 AND tenant_id = $2', [id, tenant]);
      return row && map.agent(row);
    },

    async listAgents(tenant) {
      return (await query('SELECT * FROM agents WHERE tenant_id = $1 ORDER BY name COLLATE "C"', [tenant])).map(map.agent);
    },

    async updateAgent(tenant, id, patch) {
      try {
        const row = await one(`UPDATE agents SET name = coalesce($3, name), instructions = coalesce($4, instructions), model = coalesce($5, model),
            params = coalesce($6::jsonb, params), metadata = coalesce($7::jsonb, metadata), updated_at = $8
          WHERE id = $1 AND tenant_id = $2 RETURNING *`, [
          id, tenant, patch.name ?? null, patch.instructions ?? null, patch.model ?? null, toJson(patch.params), toJson(patch.metadata), patch.now,
        ]);
        return row && map.agent(row);
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw agentNameTaken(patch.name ?? '');
        throw error;
      }
    },

    async deleteAgent(tenant, id) {
      return tx(async (client) => {
        // The agent's row lock first: a conversation cannot take up the agent until this commits (then fails).
        const locked = await client.query('SELECT 1 FROM agents WHERE id = $1 AND tenant_id = $2 FOR UPDATE', [id, tenant]);
        if (locked.rowCount !== 1) return undefined;
        const unlinked = (await rowsOf(client, 'UPDATE conversations SET agent_id = NULL WHERE agent_id = $1 RETURNING id', [id])).map((r) => r.id as string);
        await client.query('DELETE FROM agents WHERE id = $1', [id]);
        return { unlinked };
      });
    },

    async createApiKey(input) {
      const row = await one(`INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING *`, [input.id, input.tenant, input.name, input.prefix, input.hash, input.now]);
      return apiKeyOf(row!);
    },

    async listApiKeys() {
      return (await query('SELECT * FROM api_keys ORDER BY created_at, id')).map(apiKeyOf);
    },

    async revokeApiKey(id, now) {
      return (await pool.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [now, id])).rowCount === 1;
    },

    async findApiKey(hash) {
      const row = await one('SELECT id, tenant_id FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]);
      return row && { id: row.id, tenantId: row.tenant_id };
    },

    async listEvents(tenant, options) {
      const [tx0, id0] = parseEventCursor(options.after);
      const scope = options.conversationId ? 'conversation_id = $5 AND tenant_id = $1' : 'tenant_id = $1';
      const values = [tenant, tx0, id0, options.limit, ...(options.conversationId ? [options.conversationId] : [])];
      // Settled = every transaction older than the event's has finished, so nothing can commit before it any more.
      // Settled rows form a prefix in (tx, id) order; only that prefix is returned. Committed events held back by
      // an older transaction still running are usually released within milliseconds: wait a little for them so
      // that a reader sees its own writes, but never return an unsettled event.
      const deadline = Date.now() + EVENT_SETTLE_WAIT_MS;
      for (;;) {
        const rows = await query(`SELECT id, tx::text AS tx_text, type, conversation_id, data, created_at,
            tx < pg_snapshot_xmin(pg_current_snapshot()) AS settled
          FROM events WHERE ${scope} AND (tx, id) > ($2::text::xid8, $3) ORDER BY tx, id LIMIT $4`, values);
        const settled = rows.findIndex((row) => !row.settled);
        if (settled === -1 || Date.now() >= deadline) {
          return rows.slice(0, settled === -1 ? rows.length : settled).map((row): StoreEvent => ({
            id: `${row.tx_text}-${row.id}`, type: row.type, conversationId: row.conversation_id, data: row.data, createdAt: iso(row.created_at),
          }));
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    },
  };
  return guard(backend, translate);
}

/** `?` placeholders (as in the shared SQL) → `$1, $2, …`. */
const numbered = (sql: string): string => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

function parseEventCursor(after: string | undefined): [string, number] {
  if (after === undefined) return ['0', 0];
  const match = /^(\d{1,19})-(\d{1,18})$/.exec(after);
  if (!match) throw new ColloquyError('invalid_argument', `Invalid event cursor "${after}": pass back the id of an event you received.`, { after });
  return [match[1]!, Number(match[2])];
}

const agentNameTaken = (name: string) =>
  new ColloquyError('conflict', `An agent named "${name}" already exists in this tenant; pick another name or update that agent.`, { name });

const redact = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Driver errors → ColloquyError, at the backend boundary. */
function translate(error: unknown): unknown {
  if (error instanceof ColloquyError) return error;
  const code = String((error as { code?: string })?.code ?? '');
  const message = (error as Error)?.message ?? String(error);
  if (code === '23505' || code === '23P01') return new ColloquyError('conflict', `The change conflicts with existing data (${message}).`, { driverCode: code }, { cause: error });
  if (code === '23503') return new ColloquyError('not_found', `A referenced record does not exist (${message}).`, { driverCode: code }, { cause: error });
  if (code === '42P01' || code === '42883' || code === '3F000') {
    return new ColloquyError('unavailable', `Colloquy's tables are missing (${message}): run \`colloquy migrate\` or open the store with migrate: true.`, { driverCode: code }, { cause: error });
  }
  if (code.startsWith('22')) return new ColloquyError('invalid_argument', `PostgreSQL rejected a value (${message}).`, { driverCode: code }, { cause: error });
  if (/^(08|53|57|58|40)/.test(code) || /^E(CONN|HOST|NET|PIPE|TIMEDOUT|AI_)/.test(code) ||
      /timeout|terminat|Connection|connect|pool/i.test(message)) {
    return new ColloquyError('unavailable', `PostgreSQL is unavailable (${message}); nothing was acknowledged.`, { driverCode: code || undefined }, { cause: error });
  }
  return new ColloquyError('internal', `Unexpected PostgreSQL error (${message}); nothing was acknowledged.`, { driverCode: code || undefined }, { cause: error });
}
