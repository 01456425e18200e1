import { isDeepStrictEqual } from 'node:util';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { assertVersion, closedAtFor, continuity, conversationClosed, nextState, onePerPair } from '../../domain/lifecycle.js';
import { canAdvance } from '../../domain/message-status.js';
import type { ContactExport, EventType, Handle, JsonObject, Message, StoreEvent } from '../../domain/types.js';
import type { Backend, NewInbound, NewMessage } from '../backend.js';
import { DIAGNOSIS_SQL, diagnosisOf } from '../diagnosis.js';
import { guard } from '../guard.js';
import { exportRecords, importRecords } from '../portable.js';
import { startCheckpointer } from './checkpointer.js';
import { assertNotTooNew, loadMigrations } from '../migrations.js';
import { apiKeyOf, createRowMappers, emptyState, iso, messageOf, packExtra, type Row } from '../rows.js';

export interface SqliteConfig {
  /** File path, or ':memory:'. The parent directory is created when missing. */
  readonly path: string;
  /**
   * 'normal' (default): WAL with synchronous=NORMAL — every acknowledged write survives a process crash;
   * the last moments may be lost on power loss or an OS crash.
   * 'full': synchronous=FULL — also survives power loss, at the cost of an fsync per commit.
   */
  readonly durability?: 'normal' | 'full';
  /** How long a write waits for another process holding the file's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
}

const migrations = loadMigrations(new URL('./migrations/', import.meta.url));
const map = createRowMappers((value) => JSON.parse(value as string));
const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** SQLite backend on better-sqlite3. Writes run in synchronous IMMEDIATE transactions, so they never interleave. */
export async function createSqliteBackend(config: SqliteConfig): Promise<Backend> {
  const { default: Driver } = await import('better-sqlite3');
  const settings = Object.freeze({ durability: 'normal', busyTimeoutMs: 5000, ...config });
  const db = openDatabase(Driver, settings.path, settings.durability, settings.busyTimeoutMs);
  const checkpointer = settings.path === ':memory:' ? undefined : startCheckpointer(settings.path, 20);

  const statements = new Map<string, Statement>();
  const q = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const rawStatements = new Map<string, Statement>();
  const rawQ = (sql: string): Statement => {
    let statement = rawStatements.get(sql);
    if (!statement) {
      statement = db.prepare(sql).raw(true);
      rawStatements.set(sql, statement);
    }
    return statement;
  };

  const event = (tenant: string, type: EventType, conversationId: string | null, data: JsonObject, now: number, id: number | null = null): void => {
    q('INSERT INTO events (id, tenant_id, type, conversation_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      id, tenant, type, conversationId, JSON.stringify(data), now,
    );
  };
  /** Deletes events and returns the id the erasure's own event must take so that no id is ever reused. */
  const deleteEvents = (where: string, ...params: unknown[]): number => {
    const next = ((q('SELECT max(id) AS id FROM events').get() as Row).id ?? 0) + 1;
    q(`DELETE FROM events WHERE ${where}`).run(...params);
    return next;
  };

  const conversationRow = (tenant: string, id: string): Row | undefined =>
    q('SELECT * FROM conversations WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;

  const handlesOf = (contactId: string): Handle[] =>
    (q('SELECT channel, address FROM contact_handles WHERE contact_id = ? ORDER BY created_at, channel, address').all(contactId) as Row[])
      .map((h) => ({ channel: h.channel, address: h.address }));

  const contactById = (tenant: string, id: string) => {
    const row = q('SELECT * FROM contacts WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
    return row && map.contact(row, handlesOf(id));
  };

  const findDuplicate = (channelId: string | null, conversationId: string, m: NewMessage): Row | undefined => {
    if (m.idempotencyKey !== null) {
      const row = q('SELECT * FROM messages WHERE conversation_id = ? AND idempotency_key = ?').get(conversationId, m.idempotencyKey);
      if (row) return row as Row;
    }
    if (m.externalId === null) return undefined;
    return (channelId === null
      ? q('SELECT * FROM messages WHERE conversation_id = ? AND external_id = ? AND channel_id IS NULL').get(conversationId, m.externalId)
      : q('SELECT * FROM messages WHERE channel_id = ? AND external_id = ?').get(channelId, m.externalId)) as Row | undefined;
  };

  /** Inserts message `seq` and its event; the conversation row was already bumped to `seq`. */
  const insertMessage = (tenant: string, conversationId: string, channelId: string | null, seq: number, m: NewMessage) => {
    q(`INSERT INTO messages (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id,
         idempotency_key, status, status_at, extra, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      conversationId, seq, m.id, tenant, channelId, m.role, m.content, m.externalId,
      m.idempotencyKey, m.status, m.createdAt, packExtra(m), m.createdAt,
    );
    event(tenant, 'message.created', conversationId, { messageId: m.id, seq, role: m.role }, m.createdAt);
    const message: Message = {
      id: m.id, conversationId, seq, role: m.role, content: m.content, parts: m.parts,
      externalId: m.externalId, idempotencyKey: m.idempotencyKey, status: m.status, statusAt: iso(m.createdAt),
      intent: m.intent, confidence: m.confidence, entities: m.entities, metadata: m.metadata, createdAt: iso(m.createdAt),
    };
    return { message, duplicate: false };
  };

  const bump = (seq: number, at: number, conversationId: string) =>
    q('UPDATE conversations SET last_seq = ?, last_message_at = ?, last_activity_at = max(last_activity_at, ?) WHERE id = ?')
      .run(seq, at, at, conversationId);

  /** Dedup, then append; callers hold the write transaction. */
  const appendIn = (tenant: string, conv: Row, m: NewMessage) => {
    const duplicate = findDuplicate(conv.channel_id, conv.id, m);
    if (duplicate) return { message: map.message(duplicate), duplicate: true };
    if (conv.status === 'closed') throw conversationClosed(conv.id);
    bump(conv.last_seq + 1, m.createdAt, conv.id);
    return insertMessage(tenant, conv.id, conv.channel_id, conv.last_seq + 1, m);
  };

  /** Set while an import holds a transaction across awaits; writes wait for it. */
  let gate: Promise<void> | undefined;

  const write = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return async (...args: A): Promise<R> => {
      while (gate) await gate;
      return tx.immediate(...args);
    };
  };

  /**
   * Group commit for the hot writes: calls made in the same event-loop turn share one IMMEDIATE transaction,
   * each inside its own savepoint (a failing call rolls back only itself), and every caller is answered only
   * after the shared COMMIT. Pages that every append touches (the right edges of the message-id and event
   * indexes, the activity index) are then written once per batch instead of once per message.
   * The batch is flushed on a microtask, so a lone caller hardly waits and callers resumed together batch
   * together; when the previous event-loop turn saw several calls (requests arriving in separate I/O
   * callbacks), it waits for the end of the turn instead, to gather them.
   */
  const grouped = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const one = db.transaction(fn); // nested inside the batch: a savepoint
    const all = db.transaction((calls: Array<{ args: A }>) =>
      calls.map(({ args }) => {
        try {
          return { value: one(...args) };
        } catch (error) {
          // SQLITE_FULL, IOERR, … roll back the whole transaction, not just the savepoint: abort the batch, or
          // the calls after it would commit on their own while the batch reports failure.
          if (!db.inTransaction) throw error;
          return { error };
        }
      }));
    let queue: Array<{ args: A; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
    const flush = () => {
      const calls = queue;
      queue = [];
      if (calls.length === 1) {
        // Alone: a plain transaction, without the savepoint a batch gives each call.
        const [call] = calls as [(typeof calls)[number]];
        try {
          call.resolve(one.immediate(...call.args));
        } catch (error) {
          call.reject(error);
        }
        return;
      }
      let results: Array<{ value?: R; error?: unknown }>;
      try {
        results = all.immediate(calls);
      } catch (error) {
        for (const call of calls) call.reject(error); // the COMMIT failed: nobody is acknowledged
        return;
      }
      results.forEach((result, i) => ('error' in result ? calls[i]!.reject(result.error) : calls[i]!.resolve(result.value as R)));
    };
    let busy = false; // the previous turn had several calls
    let callsThisTurn = 0;
    const endTurn = () => {
      busy = callsThisTurn > 1;
      callsThisTurn = 0;
    };
    const call = (...args: A): Promise<R> =>
      new Promise<R>((resolve, reject) => {
        if (callsThisTurn++ === 0) setImmediate(endTurn);
        if (queue.push({ args, resolve, reject }) === 1) {
          if (busy) setImmediate(flush);
          else queueMicrotask(flush);
        }
      });
    return (...args: A): Promise<R> => (gate ? gate.then(() => call(...args)) : call(...args));
  };

  const append = grouped((tenant: string, conversationId: string, m: NewMessage) => {
    if (m.idempotencyKey === null && m.externalId === null) {
      // Nothing to deduplicate: bump and read the conversation in one statement.
      const bumped = q(`UPDATE conversations SET last_seq = last_seq + 1, last_message_at = ?, last_activity_at = max(last_activity_at, ?)
          WHERE id = ? AND tenant_id = ? AND status <> 'closed' RETURNING last_seq, channel_id`)
        .get(m.createdAt, m.createdAt, conversationId, tenant) as Row | undefined;
      if (bumped) return insertMessage(tenant, conversationId, bumped.channel_id, bumped.last_seq, m);
    }
    const conv = q('SELECT id, status, channel_id, last_seq FROM conversations WHERE id = ? AND tenant_id = ?').get(conversationId, tenant) as Row | undefined;
    if (!conv) throw notFound('conversation', conversationId);
    return appendIn(tenant, conv, m);
  });

  const backend: Backend = {
    dialect: 'sqlite',
    capabilities: Object.freeze({ multiProcess: false }),

    async migrate() {
      const run = db.transaction(() => {
        const current = db.pragma('user_version', { simple: true }) as number;
        assertNotTooNew(current, migrations, settings.path);
        const pending = migrations.filter((m) => m.version > current);
        for (const m of pending) db.exec(m.sql);
        if (pending.length) db.pragma(`user_version = ${migrations.length}`);
        return pending.map((m) => m.name);
      });
      const applied = run.immediate();
      return { applied, current: migrations.at(-1)?.name ?? null };
    },

    poolStats: () => null,

    async *exportRecords() {
      // Its own read-only connection in one read transaction: a consistent snapshot that never blocks writers.
      const memory = settings.path === ':memory:';
      const reader = memory ? db : new Driver(settings.path, { readonly: true, timeout: settings.busyTimeoutMs });
      if (!memory) reader.exec('BEGIN');
      try {
        yield* exportRecords({
          all: async (sql, values) => reader.prepare(sql).all(...values) as Row[],
          handlesJson: `(SELECT json_group_array(json_object('channel', channel, 'address', address))
            FROM (SELECT channel, address FROM contact_handles h WHERE h.contact_id = x.id ORDER BY created_at, channel, address))`,
          map,
        });
      } finally {
        if (!memory) {
          reader.exec('COMMIT');
          reader.close();
        }
      }
    },

    async importRecords(records) {
      // Other writes of this process wait: the import's transaction spans awaits and must not absorb them.
      let release!: () => void;
      gate = new Promise<void>((resolve) => { release = resolve; });
      db.exec('BEGIN IMMEDIATE');
      try {
        const counts = await importRecords({
          insertIfAbsent: async (row) =>
            q(`INSERT INTO ${row.table} (${row.columns.join(', ')}) VALUES (${row.columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`)
              .run(...row.values).changes > 0,
          conversationChannel: async (tenant, id) =>
            (q('SELECT channel_id FROM conversations WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined)?.channel_id,
          owns: async (table, tenant, id) => q(`SELECT 1 FROM ${table} WHERE id = ? AND tenant_id = ?`).get(id, tenant) !== undefined,
          advance: async (conversationId, seq, at) => void q(`UPDATE conversations SET last_seq = max(last_seq, ?),
            last_message_at = max(coalesce(last_message_at, 0), ?), last_activity_at = max(last_activity_at, ?) WHERE id = ?`).run(seq, at, at, conversationId),
        }, records);
        db.exec('COMMIT');
        return counts;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      } finally {
        gate = undefined;
        release();
      }
    },

    async diagnose() {
      const rows = Object.fromEntries(Object.entries(DIAGNOSIS_SQL).map(([name, sql]) => [name, q(sql).all() as Row[]]));
      return diagnosisOf(rows as never, []);
    },

    async checkSchema() {
      assertNotTooNew(db.pragma('user_version', { simple: true }) as number, migrations, settings.path, true);
    },

    async ping() {
      q('SELECT 1').get();
    },

    async close() {
      await checkpointer?.stop();
      if (db.open) db.close();
    },

    upsertContact: write((tenant, input) => {
      const found = q('SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?')
        .get(tenant, input.channel, input.address) as Row | undefined;
      if (!found) {
        q('INSERT INTO contacts (id, tenant_id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(input.id, tenant, input.name ?? null, JSON.stringify(input.metadata ?? {}), input.now, input.now);
        q('INSERT INTO contact_handles (tenant_id, channel, address, contact_id, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(tenant, input.channel, input.address, input.id, input.now);
        return contactById(tenant, input.id)!;
      }
      if (input.name !== undefined || input.metadata !== undefined) {
        q(`UPDATE contacts SET name = CASE WHEN ? THEN ? ELSE name END, metadata = coalesce(?, metadata), updated_at = ?
           WHERE id = ?`).run(input.name !== undefined ? 1 : 0, input.name ?? null, toJson(input.metadata), input.now, found.contact_id);
      }
      return contactById(tenant, found.contact_id)!;
    }),

    async getContact(tenant, id) {
      return contactById(tenant, id);
    },

    async listContacts(tenant, options) {
      const rows = q('SELECT * FROM contacts WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?').all(tenant, options.after ?? '', options.limit) as Row[];
      const handles = new Map<string, Handle[]>();
      const all = q(`SELECT contact_id, channel, address FROM contact_handles WHERE contact_id IN (SELECT value FROM json_each(?))
                     ORDER BY created_at, channel, address`).all(JSON.stringify(rows.map((r) => r.id))) as Row[];
      for (const h of all) handles.set(h.contact_id, [...(handles.get(h.contact_id) ?? []), { channel: h.channel, address: h.address }]);
      return rows.map((row) => map.contact(row, handles.get(row.id) ?? []));
    },

    async findContactByHandle(tenant, channel, address) {
      const found = q('SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?')
        .get(tenant, channel, address) as Row | undefined;
      return found && contactById(tenant, found.contact_id);
    },

    eraseContact: write((tenant, id, now) => {
      if (!q('SELECT 1 FROM contacts WHERE id = ? AND tenant_id = ?').get(id, tenant)) return undefined;
      const handles = handlesOf(id);
      const conversationIds = (q('SELECT id FROM conversations WHERE contact_id = ?').all(id) as Row[]).map((r) => r.id as string);
      const eventId = deleteEvents('conversation_id IN (SELECT value FROM json_each(?))', JSON.stringify(conversationIds));
      const unlinked = (q(`UPDATE conversations SET previous_conversation_id = NULL
        WHERE previous_conversation_id IN (SELECT value FROM json_each(?)) AND contact_id IS NOT ? RETURNING id`)
        .all(JSON.stringify(conversationIds), id) as Row[]).map((r) => r.id as string);
      q('DELETE FROM contacts WHERE id = ?').run(id); // cascades to handles, conversations, messages, states
      event(tenant, 'contact.erased', null, { contactId: id, conversationIds }, now, eventId);
      return { handles, conversationIds, unlinked };
    }),

    async exportContact(tenant, id) {
      const contact = contactById(tenant, id);
      if (!contact) return undefined;
      const conversations = (q('SELECT * FROM conversations WHERE contact_id = ? ORDER BY created_at, id').all(id) as Row[]).map((row) => {
        const stateRow = q('SELECT * FROM conversation_states WHERE conversation_id = ?').get(row.id) as Row | undefined;
        const messages = (q('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq').all(row.id) as Row[]).map(map.message);
        return { ...map.conversation(row), state: stateRow ? map.state(stateRow) : emptyState(row.id), messages };
      });
      return { contact, conversations } satisfies ContactExport;
    },

    async createChannel(tenant, input) {
      q(`INSERT INTO channels (id, tenant_id, kind, name, config, reopen_window_ms, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
        input.id, tenant, input.kind, input.name, JSON.stringify(input.config), input.config.reopenWindowSeconds * 1000, input.now, input.now,
      );
      return map.channel(q('SELECT * FROM channels WHERE id = ?').get(input.id) as Row);
    },

    async getChannel(tenant, id) {
      const row = q('SELECT * FROM channels WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
      return row && map.channel(row);
    },

    async listChannels(tenant) {
      return (q('SELECT * FROM channels WHERE tenant_id = ? ORDER BY id').all(tenant) as Row[]).map(map.channel);
    },

    createConversation: write((tenant, input) => {
      if (input.contactId && !q('SELECT 1 FROM contacts WHERE id = ? AND tenant_id = ?').get(input.contactId, tenant)) throw notFound('contact', input.contactId);
      if (input.channelId && !q('SELECT 1 FROM channels WHERE id = ? AND tenant_id = ?').get(input.channelId, tenant)) throw notFound('channel', input.channelId);
      if (input.agentId && !q('SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?').get(input.agentId, tenant)) throw notFound('agent', input.agentId);
      try {
        q(`INSERT INTO conversations (id, tenant_id, contact_id, channel_id, agent_id, status, title, metadata,
             created_at, updated_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
          input.id, tenant, input.contactId, input.channelId, input.agentId, input.status, input.title,
          JSON.stringify(input.metadata), input.now, input.now, input.now,
        );
      } catch (error) {
        if (isUnique(error)) throw onePerPair();
        throw error;
      }
      event(tenant, 'conversation.created', input.id, { status: input.status, version: 1 }, input.now);
      return map.conversation(conversationRow(tenant, input.id)!);
    }),

    async getConversation(tenant, id) {
      const row = conversationRow(tenant, id);
      return row && map.conversation(row);
    },

    async listConversations(tenant, filter) {
      const where = ['tenant_id = ?'];
      const params: unknown[] = [tenant];
      for (const [column, value] of [['status', filter.status], ['contact_id', filter.contactId], ['channel_id', filter.channelId], ['agent_id', filter.agentId]] as const) {
        if (value !== undefined) { where.push(`${column} = ?`); params.push(value); }
      }
      if (filter.after) { where.push('(last_activity_at, id) < (?, ?)'); params.push(filter.after.activityAt, filter.after.id); }
      params.push(filter.limit);
      const rows = q(`SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY last_activity_at DESC, id DESC LIMIT ?`).all(...params) as Row[];
      return rows.map(map.conversation);
    },

    updateConversation: write((tenant, id, patch) => {
      const row = conversationRow(tenant, id);
      if (!row) return undefined;
      assertVersion(patch.expectedVersion, row.version, 'Conversation');
      if (patch.agentId && !q('SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?').get(patch.agentId, tenant)) throw notFound('agent', patch.agentId);
      const status = patch.status ?? row.status;
      const title = patch.title !== undefined ? patch.title : row.title;
      const agentId = patch.agentId !== undefined ? patch.agentId : row.agent_id;
      const metadataChanged = patch.metadata !== undefined && !isDeepStrictEqual(patch.metadata, JSON.parse(row.metadata));
      const metadata = metadataChanged ? JSON.stringify(patch.metadata) : row.metadata;
      const changed = [
        status !== row.status && 'status', title !== row.title && 'title', agentId !== row.agent_id && 'agentId', metadataChanged && 'metadata',
      ].filter((c): c is string => c !== false);
      if (!changed.length) return map.conversation(row);
      try {
        q(`UPDATE conversations SET status = ?, title = ?, agent_id = ?, metadata = ?, closed_at = ?, version = version + 1,
             updated_at = ?, last_activity_at = max(last_activity_at, ?) WHERE id = ?`).run(
          status, title, agentId, metadata, closedAtFor(status, row.status, row.closed_at, patch.now), patch.now, patch.now, id,
        );
      } catch (error) {
        if (isUnique(error)) throw onePerPair();
        throw error;
      }
      event(tenant, 'conversation.updated', id, { status, version: row.version + 1, changed }, patch.now);
      return map.conversation(conversationRow(tenant, id)!);
    }),

    deleteConversations: write((tenant, which, now) => {
      const ids = 'id' in which
        ? (conversationRow(tenant, which.id) ? [which.id] : [])
        : (q('SELECT id FROM conversations WHERE contact_id = ? AND tenant_id = ? ORDER BY id').all(which.contactId, tenant) as Row[]).map((r) => r.id as string);
      // Explicitly rather than by the foreign key's SET NULL, to learn which records changed (the hot tier must).
      const unlinked = ids.length ? (q(`UPDATE conversations SET previous_conversation_id = NULL
        WHERE previous_conversation_id IN (SELECT value FROM json_each(?)) AND id NOT IN (SELECT value FROM json_each(?)) RETURNING id`)
        .all(JSON.stringify(ids), JSON.stringify(ids)) as Row[]).map((r) => r.id as string) : [];
      for (const id of ids) {
        const eventId = deleteEvents('conversation_id = ?', id);
        q('DELETE FROM conversations WHERE id = ?').run(id);
        event(tenant, 'conversation.deleted', id, {}, now, eventId);
      }
      return { deleted: ids, unlinked };
    }),

    async appendMessage(tenant, conversationId, message) {
      return append(tenant, conversationId, message);
    },

    async listMessages(tenant, conversationId, range) {
      // The hot read: named columns as arrays (no per-row objects from the driver), mapped once.
      const rows = rawQ(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND tenant_id = ? AND seq > ? AND seq < ?
                      ORDER BY seq ${range.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`).all(
        conversationId, tenant, range.after ?? 0, range.before ?? Number.MAX_SAFE_INTEGER, range.limit,
      ) as unknown[][];
      if (!rows.length && !conversationRow(tenant, conversationId)) return undefined;
      return rows.map((r) => messageFromArray(r, conversationId));
    },

    async getMessage(tenant, id) {
      const row = q('SELECT * FROM messages WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
      return row && map.message(row);
    },

    updateMessageStatus: write((tenant, id, status, at) => {
      const row = q('SELECT * FROM messages WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
      if (!row) return undefined;
      if (!canAdvance(row.status, status)) return { message: map.message(row), changed: false };
      q('UPDATE messages SET status = ?, status_at = ? WHERE id = ?').run(status, at, id);
      event(tenant, 'message.status', row.conversation_id, { messageId: id, seq: row.seq, status }, at);
      return { message: map.message({ ...row, status, status_at: at }), changed: true };
    }),

    ingest: grouped((tenant: string, input: NewInbound) => {
      const m = input.message;
      const channel = q('SELECT kind, reopen_window_ms FROM channels WHERE id = ? AND tenant_id = ?').get(input.channelId, tenant) as Row | undefined;
      if (!channel) throw notFound('channel', input.channelId);
      const duplicate = q('SELECT * FROM messages WHERE channel_id = ? AND external_id = ?').get(input.channelId, m.externalId) as Row | undefined;
      if (duplicate) {
        const conversation = map.conversation(conversationRow(tenant, duplicate.conversation_id)!);
        return { message: map.message(duplicate), conversation, duplicate: true, created: false, reopened: false };
      }
      let contactId = (q('SELECT contact_id FROM contact_handles WHERE tenant_id = ? AND channel = ? AND address = ?')
        .get(tenant, channel.kind, input.address) as Row | undefined)?.contact_id as string | undefined;
      if (!contactId) {
        contactId = input.contactId;
        q('INSERT INTO contacts (id, tenant_id, name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(contactId, tenant, input.name, '{}', input.now, input.now);
        q('INSERT INTO contact_handles (tenant_id, channel, address, contact_id, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(tenant, channel.kind, input.address, contactId, input.now);
      } else if (input.name !== null) {
        q('UPDATE contacts SET name = ?, updated_at = ? WHERE id = ? AND name IS NOT ?').run(input.name, input.now, contactId, input.name);
      }
      let conv = q(`SELECT * FROM conversations WHERE tenant_id = ? AND contact_id = ? AND channel_id = ? AND status <> 'closed'`)
        .get(tenant, contactId, input.channelId) as Row | undefined;
      let created = false;
      let reopened = false;
      if (!conv) {
        const last = q(`SELECT * FROM conversations WHERE contact_id = ? AND channel_id = ? ORDER BY last_activity_at DESC, id DESC LIMIT 1`)
          .get(contactId, input.channelId) as Row | undefined;
        if (last && continuity(false, last.last_activity_at, m.createdAt, channel.reopen_window_ms) === 'reopen') {
          q(`UPDATE conversations SET status = 'open', closed_at = NULL, version = version + 1, updated_at = ? WHERE id = ?`).run(input.now, last.id);
          event(tenant, 'conversation.updated', last.id, { status: 'open', version: last.version + 1, changed: ['status'], reopened: true }, input.now);
          reopened = true;
          conv = conversationRow(tenant, last.id)!;
        } else {
          q(`INSERT INTO conversations (id, tenant_id, contact_id, channel_id, previous_conversation_id, status, metadata,
               created_at, updated_at, last_activity_at) VALUES (?, ?, ?, ?, ?, 'open', '{}', ?, ?, ?)`).run(
            input.conversationId, tenant, contactId, input.channelId, last?.id ?? null, input.now, input.now, input.now,
          );
          event(tenant, 'conversation.created', input.conversationId, { status: 'open', version: 1 }, input.now);
          created = true;
          conv = conversationRow(tenant, input.conversationId)!;
        }
      }
      const { message } = appendIn(tenant, conv, m);
      return { message, conversation: map.conversation(conversationRow(tenant, conv.id)!), duplicate: false, created, reopened };
    }),

    async getState(tenant, conversationId) {
      if (!conversationRow(tenant, conversationId)) return undefined;
      const row = q('SELECT * FROM conversation_states WHERE conversation_id = ?').get(conversationId) as Row | undefined;
      return row ? map.state(row) : emptyState(conversationId);
    },

    setState: write((tenant, conversationId, input) => {
      if (!conversationRow(tenant, conversationId)) return undefined;
      const row = q('SELECT * FROM conversation_states WHERE conversation_id = ?').get(conversationId) as Row | undefined;
      const current = row ? { ...row, data: JSON.parse(row.data) } : { state: null, previous_state: null, data: {}, version: 0 };
      const next = nextState(current as never, input);
      q(`INSERT INTO conversation_states (conversation_id, tenant_id, state, previous_state, data, version, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, previous_state = excluded.previous_state,
           data = excluded.data, version = excluded.version, updated_at = excluded.updated_at`).run(
        conversationId, tenant, next.state, next.previous_state, JSON.stringify(next.data), next.version, input.now,
      );
      event(tenant, 'state.updated', conversationId, { version: next.version, state: next.state }, input.now);
      return { conversationId, state: next.state, previousState: next.previous_state, data: next.data, version: next.version, updatedAt: iso(input.now) };
    }),

    async createAgent(tenant, input) {
      try {
        q(`INSERT INTO agents (id, tenant_id, name, instructions, model, params, metadata, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
          input.id, tenant, input.name, input.instructions, input.model, JSON.stringify(input.params), JSON.stringify(input.metadata), input.now, input.now,
        );
      } catch (error) {
        if (isUnique(error)) throw agentNameTaken(input.name);
        throw error;
      }
      return map.agent(q('SELECT * FROM agents WHERE id = ?').get(input.id) as Row);
    },

    async getAgent(tenant, id) {
      const row = q('SELECT * FROM agents WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
      return row && map.agent(row);
    },

    async listAgents(tenant) {
      return (q('SELECT * FROM agents WHERE tenant_id = ? ORDER BY name').all(tenant) as Row[]).map(map.agent);
    },

    updateAgent: write((tenant, id, patch) => {
      const row = q('SELECT * FROM agents WHERE id = ? AND tenant_id = ?').get(id, tenant) as Row | undefined;
      if (!row) return undefined;
      try {
        q(`UPDATE agents SET name = ?, instructions = ?, model = ?, params = ?, metadata = ?, updated_at = ? WHERE id = ?`).run(
          patch.name ?? row.name, patch.instructions ?? row.instructions, patch.model ?? row.model,
          patch.params ? JSON.stringify(patch.params) : row.params, patch.metadata ? JSON.stringify(patch.metadata) : row.metadata, patch.now, id,
        );
      } catch (error) {
        if (isUnique(error)) throw agentNameTaken(patch.name ?? row.name);
        throw error;
      }
      return map.agent(q('SELECT * FROM agents WHERE id = ?').get(id) as Row);
    }),

    deleteAgent: write((tenant, id) => {
      if (!q('SELECT 1 FROM agents WHERE id = ? AND tenant_id = ?').get(id, tenant)) return undefined;
      const unlinked = (q('UPDATE conversations SET agent_id = NULL WHERE agent_id = ? RETURNING id').all(id) as Row[]).map((r) => r.id as string);
      q('DELETE FROM agents WHERE id = ?').run(id);
      return { unlinked };
    }),

    async createApiKey(input) {
      q('INSERT INTO api_keys (id, tenant_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(input.id, input.tenant, input.name, input.prefix, input.hash, input.now);
      return apiKeyOf(q('SELECT * FROM api_keys WHERE id = ?').get(input.id) as Row);
    },

    async listApiKeys() {
      return (q('SELECT * FROM api_keys ORDER BY created_at, id').all() as Row[]).map(apiKeyOf);
    },

    async revokeApiKey(id, now) {
      return q('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes > 0;
    },

    async findApiKey(hash) {
      const row = q('SELECT id, tenant_id FROM api_keys WHERE hash = ? AND revoked_at IS NULL').get(hash) as Row | undefined;
      return row && { id: row.id, tenantId: row.tenant_id };
    },

    async listEvents(tenant, options) {
      const after = parseEventCursor(options.after);
      const rows = (options.conversationId
        ? q('SELECT * FROM events WHERE conversation_id = ? AND tenant_id = ? AND id > ? ORDER BY id LIMIT ?').all(options.conversationId, tenant, after, options.limit)
        : q('SELECT * FROM events WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?').all(tenant, after, options.limit)) as Row[];
      return rows.map((row): StoreEvent => ({
        id: String(row.id), type: row.type, conversationId: row.conversation_id, data: JSON.parse(row.data), createdAt: iso(row.created_at),
      }));
    },
  };
  return guard(backend, translate);
}

const MESSAGE_COLUMNS = 'id, seq, role, content, external_id, idempotency_key, status, status_at, extra, created_at';

function messageFromArray(r: unknown[], conversationId: string): Message {
  const [id, seq, role, content, externalId, idempotencyKey, status, statusAt, extra, createdAt] = r as [
    string, number, Message['role'], string, string | null, string | null, Message['status'], number, string | null, number,
  ];
  return messageOf(id, conversationId, seq, role, content, externalId, idempotencyKey, status, statusAt, extra === null ? null : JSON.parse(extra), createdAt);
}

function openDatabase(Driver: typeof import('better-sqlite3'), path: string, durability: string, busyTimeoutMs: number): Database {
  let db: Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Driver(path, { timeout: busyTimeoutMs });
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    // Checkpoints normally run on the checkpointer's thread. Under writes without pause the WAL cannot restart
    // from there, so this inline checkpoint bounds it (~16 MB); measured trade-off in bench/RESULTS.md.
    db.pragma('wal_autocheckpoint = 4000');
    return db;
  } catch (error) {
    db?.close();
    throw translate(error, `cannot open SQLite file ${path}`);
  }
}

function parseEventCursor(after: string | undefined): number {
  if (after === undefined) return 0;
  if (!/^\d{1,15}$/.test(after)) {
    throw new ColloquyError('invalid_argument', `Invalid event cursor "${after}": pass back the id of an event you received.`, { after });
  }
  return Number(after);
}

const agentNameTaken = (name: string) =>
  new ColloquyError('conflict', `An agent named "${name}" already exists in this tenant; pick another name or update that agent.`, { name });

const isUnique = (error: unknown): boolean =>
  (error as { code?: string })?.code === 'SQLITE_CONSTRAINT_UNIQUE' || (error as { code?: string })?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';

/** Driver errors → ColloquyError, at the backend boundary. */
function translate(error: unknown, context?: string): unknown {
  if (error instanceof ColloquyError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const why = `${context ? `${context}: ` : ''}${(error as Error)?.message ?? String(error)}`;
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new ColloquyError('not_found', `A referenced record does not exist (${why}).`, { driverCode: code }, { cause: error });
  if (code === 'SQLITE_ERROR' && /no such (table|column)/.test(why)) {
    return new ColloquyError('unavailable', `Colloquy's tables are missing (${why}): run \`colloquy migrate\` or open the store with migrate: true.`, { driverCode: code }, { cause: error });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return new ColloquyError('conflict', `The change breaks a database constraint (${why}).`, { driverCode: code }, { cause: error });
  if (/^(SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PERM|AUTH)|E(NOENT|ACCES|PERM|ROFS|NOSPC|NOTDIR))/.test(code) ||
      (error as Error)?.message === 'The database connection is not open') {
    return new ColloquyError('unavailable', `SQLite is unavailable (${why}); nothing was written.`, { driverCode: code }, { cause: error });
  }
  return new ColloquyError('internal', `Unexpected SQLite error (${why}); nothing was written.`, { driverCode: code || undefined }, { cause: error });
}
