import type { Database, Statement } from 'better-sqlite3';
import { notFound } from '../../domain/errors.js';
import { conversationClosed, reopens } from '../../domain/lifecycle.js';
import type { EventType, JsonObject, Message, StoreEvent } from '../../domain/entities.js';
import { iso } from '../../domain/time.js';
import type { AppendResult, IngestResult } from '../../domain/entities.js';
import type { NewInbound, NewMessage } from '../backend-inputs.js';
import { CHANNEL_BY_ID } from '../sql/channels.js';
import { CONTACT_INSERT, CONTACT_OF_HANDLE, HANDLE_INSERT } from '../sql/contacts.js';
import { CONVERSATION_BY_ID, CONVERSATION_INSERT } from '../sql/conversations.js';
import { badEventCursor, EVENT_INSERT, type EraseEvents } from '../sql/events.js';
import { DUPLICATE_BY_EXTERNAL_ID, DUPLICATE_BY_EXTERNAL_ID_WITHOUT_CHANNEL, DUPLICATE_BY_KEY, MESSAGE_INSERT } from '../sql/messages.js';
import type { Row } from '../sql/sql.js';
import { packExtra, type Tables } from '../sql/tables.js';
import { USAGE_INSERT, usageEventData, usageValues } from '../sql/usage.js';
import type { ConnectionGate } from './connection-gate.js';
import { groupCommit } from './group-commit.js';

/**
 * SQLite's hot paths: appends and inbound messages as synchronous transactions, batched by group commit, over
 * the same shared statements as the other repositories. The continuity rule comes from `domain/lifecycle.ts`.
 * Also its event log: integer ids in commit order (one writer at a time), never reused.
 */
export function sqliteHotPath(db: Database, prepare: (sql: string) => Statement, gate: ConnectionGate, tables: Tables) {
  const event = (tenant: string, type: EventType, conversationId: string | null, data: JsonObject, now: number): void => {
    prepare(EVENT_INSERT).run(tenant, type, conversationId, JSON.stringify(data), now);
  };
  const conversationRow = (tenant: string, id: string) => prepare(CONVERSATION_BY_ID).get(id, tenant) as Row | undefined;

  const findDuplicate = (channelId: string | null, conversationId: string, m: NewMessage): Row | undefined => {
    if (m.idempotencyKey !== null) {
      const row = prepare(DUPLICATE_BY_KEY).get(conversationId, m.idempotencyKey);
      if (row) return row as Row;
    }
    if (m.externalId === null) return undefined;
    return (channelId === null
      ? prepare(DUPLICATE_BY_EXTERNAL_ID_WITHOUT_CHANNEL).get(conversationId, m.externalId)
      : prepare(DUPLICATE_BY_EXTERNAL_ID).get(channelId, m.externalId)) as Row | undefined;
  };

  /** Inserts message `seq` and its event; the conversation row was already bumped to `seq`. */
  const insertMessage = (tenant: string, conversationId: string, channelId: string | null, seq: number, m: NewMessage): AppendResult => {
    prepare(MESSAGE_INSERT).run(conversationId, seq, m.id, tenant, channelId, m.role, m.content, m.externalId,
      m.idempotencyKey, m.status, m.createdAt, packExtra(m), m.createdAt);
    event(tenant, 'message.created', conversationId, { messageId: m.id, seq, role: m.role }, m.createdAt);
    if (m.usage) {
      prepare(USAGE_INSERT).run(...usageValues(tenant, conversationId, m));
      event(tenant, 'usage.recorded', conversationId, usageEventData(m), m.createdAt);
    }
    const created = iso(m.createdAt);
    const message: Message = {
      id: m.id, conversationId, seq, role: m.role, content: m.content, parts: m.parts, externalId: m.externalId,
      idempotencyKey: m.idempotencyKey, status: m.status, statusAt: created, intent: m.intent, confidence: m.confidence,
      entities: m.entities, metadata: m.metadata, sender: m.sender, error: null, edits: null, tokens: m.tokens, usage: m.usage, createdAt: created,
    };
    return { message, duplicate: false };
  };

  /** Dedup, then append; callers hold the write transaction. */
  const appendIn = (tenant: string, conv: Row, m: NewMessage): AppendResult => {
    const duplicate = findDuplicate(conv.channel_id, conv.id, m);
    if (duplicate) return { message: tables.messages.fromRow(duplicate), duplicate: true };
    if (conv.status === 'closed') throw conversationClosed(conv.id);
    prepare('UPDATE conversations SET last_seq = ?, last_message_at = ?, last_activity_at = max(last_activity_at, ?) WHERE id = ?')
      .run(conv.last_seq + 1, m.createdAt, m.createdAt, conv.id);
    return insertMessage(tenant, conv.id, conv.channel_id, conv.last_seq + 1, m);
  };

  const append = groupCommit(db, gate, (tenant: string, conversationId: string, m: NewMessage): AppendResult => {
    if (m.idempotencyKey === null && m.externalId === null) {
      // Nothing to deduplicate: bump and read the conversation in one statement.
      const bumped = prepare(`UPDATE conversations SET last_seq = last_seq + 1, last_message_at = ?, last_activity_at = max(last_activity_at, ?)
          WHERE id = ? AND tenant_id = ? AND status <> 'closed' RETURNING last_seq, channel_id`)
        .get(m.createdAt, m.createdAt, conversationId, tenant) as Row | undefined;
      if (bumped) return insertMessage(tenant, conversationId, bumped.channel_id, bumped.last_seq, m);
    }
    const conv = prepare('SELECT id, status, channel_id, last_seq FROM conversations WHERE id = ? AND tenant_id = ?').get(conversationId, tenant) as Row | undefined;
    if (!conv) throw notFound('conversation', conversationId);
    return appendIn(tenant, conv, m);
  });

  const ingest = groupCommit(db, gate, (tenant: string, input: NewInbound): IngestResult => {
    const m = input.message;
    const channel = prepare(CHANNEL_BY_ID).get(input.channelId, tenant) as Row | undefined;
    if (!channel) throw notFound('channel', input.channelId);
    // A duplicate has no side effects: answer before touching anything.
    const duplicate = prepare(DUPLICATE_BY_EXTERNAL_ID).get(input.channelId, m.externalId) as Row | undefined;
    if (duplicate) {
      const conversation = tables.conversations.fromRow(conversationRow(tenant, duplicate.conversation_id)!);
      return { message: tables.messages.fromRow(duplicate), conversation, duplicate: true, created: false, reopened: false };
    }
    let contactId = (prepare(CONTACT_OF_HANDLE).get(tenant, channel.kind, input.address) as Row | undefined)?.contact_id as string | undefined;
    if (!contactId) {
      contactId = input.contactId;
      prepare(CONTACT_INSERT).run(contactId, tenant, input.name, '{}', input.now, input.now);
      prepare(HANDLE_INSERT).run(tenant, channel.kind, input.address, contactId, input.now);
    } else if (input.name !== null) {
      prepare('UPDATE contacts SET name = ?, updated_at = ? WHERE id = ? AND name IS DISTINCT FROM ?').run(input.name, input.now, contactId, input.name);
    }
    let conv = prepare(`SELECT * FROM conversations WHERE tenant_id = ? AND contact_id = ? AND channel_id = ? AND status <> 'closed'`)
      .get(tenant, contactId, input.channelId) as Row | undefined;
    let created = false;
    let reopened = false;
    if (!conv) {
      const last = prepare(`SELECT * FROM conversations WHERE contact_id = ? AND channel_id = ? ORDER BY last_activity_at DESC, id DESC LIMIT 1`)
        .get(contactId, input.channelId) as Row | undefined;
      if (last && reopens(last.last_activity_at, m.createdAt, channel.reopen_window_ms)) {
        prepare(`UPDATE conversations SET status = 'open', closed_at = NULL, version = version + 1, updated_at = ? WHERE id = ?`).run(input.now, last.id);
        event(tenant, 'conversation.updated', last.id, { status: 'open', version: last.version + 1, changed: ['status'], reopened: true }, input.now);
        reopened = true;
        conv = conversationRow(tenant, last.id)!;
      } else {
        prepare(CONVERSATION_INSERT).run(input.conversationId, tenant, contactId, input.channelId, null, last?.id ?? null,
          'open', null, '{}', input.now, input.now, input.now, null);
        event(tenant, 'conversation.created', input.conversationId, { status: 'open', version: 1 }, input.now);
        created = true;
        conv = conversationRow(tenant, input.conversationId)!;
      }
    }
    const { message } = appendIn(tenant, conv, m);
    return { message, conversation: tables.conversations.fromRow(conversationRow(tenant, conv.id)!), duplicate: false, created, reopened };
  });

  const eraseEvents: EraseEvents = async (sql, tenant, conversationIds, e) => {
    // Ids are never reused, so cursors stay valid: the erasure's event takes an id past the old maximum
    // (without the per-insert cost of AUTOINCREMENT).
    const next = ((await sql.one('SELECT max(id) AS id FROM events'))?.id ?? 0) + 1;
    await sql.run('DELETE FROM events WHERE conversation_id = ANY(?)', [conversationIds]);
    await sql.run('INSERT INTO events (id, tenant_id, type, conversation_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [next, tenant, e.type, e.conversationId, JSON.stringify(e.data), e.now]);
  };

  async function listEvents(tenant: string, options: { after?: string | undefined; limit: number; conversationId?: string | undefined }): Promise<StoreEvent[]> {
    const after = parseEventCursor(options.after);
    while (gate.held) await gate.free();
    const rows = (options.conversationId
      ? prepare('SELECT * FROM events WHERE conversation_id = ? AND tenant_id = ? AND id > ? ORDER BY id LIMIT ?').all(options.conversationId, tenant, after, options.limit)
      : prepare('SELECT * FROM events WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?').all(tenant, after, options.limit)) as Row[];
    return rows.map((row) => ({
      id: String(row.id), type: row.type, conversationId: row.conversation_id, data: JSON.parse(row.data), createdAt: iso(row.created_at),
    }));
  }

  /**
   * The newest event of the log, any tenant's: ids are one sequence, so the tenant's next events come after it. The
   * log's rather than the tenant's own: events have no index by tenant (one would cost appends ≈20%, measured), and a
   * tenant's newest could lie behind every other tenant's events. What a tenant can tell from it is only whether the
   * log moved (ids are encrypted per tenant); PostgreSQL's is the tenant's own (events_position).
   */
  async function eventsHead(): Promise<string | null> {
    while (gate.held) await gate.free();
    const id = (prepare('SELECT max(id) AS id FROM events').get() as { id: number | null }).id;
    return id === null ? null : String(id);
  }

  return { append, ingest, eraseEvents, listEvents, eventsHead };
}

/** Event ids in delivery order (null: the log's start). */
export const compareEventIds = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : parseEventCursor(a) - parseEventCursor(b);

function parseEventCursor(after: string | undefined): number {
  if (after === undefined) return 0;
  if (!/^\d{1,15}$/.test(after)) throw badEventCursor(after);
  return Number(after);
}
