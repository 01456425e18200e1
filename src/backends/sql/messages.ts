import { isDeepStrictEqual } from 'node:util';
import type { MessageRepository } from '../backend.js';
import { writeEvent } from './events.js';
import { applyPendingStatuses, setMessageStatus } from './message-status.js';
import { notFound } from '../../domain/errors.js';
import type { Message } from '../../domain/entities.js';
import { conversationClosed } from '../../domain/lifecycle.js';
import type { NewMessage } from '../backend-inputs.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';
import { recordUsage } from './usage.js';
import { MESSAGE_READ_COLUMNS, packExtra, type Tables } from './tables.js';

export const MESSAGE_INSERT = `INSERT INTO messages (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id,
  idempotency_key, status, status_at, extra, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Duplicate detection, in this order: the idempotency key within the conversation, then the external id. */
export const DUPLICATE_BY_KEY = 'SELECT * FROM messages WHERE conversation_id = ? AND idempotency_key = ?';
/** External ids are unique per channel, or per conversation for a conversation without one. */
export const DUPLICATE_BY_EXTERNAL_ID = 'SELECT * FROM messages WHERE channel_id = ? AND external_id = ?';
export const DUPLICATE_BY_EXTERNAL_ID_WITHOUT_CHANNEL = 'SELECT * FROM messages WHERE conversation_id = ? AND external_id = ? AND channel_id IS NULL';

/**
 * Appends message `last_seq + 1` inside the caller's transaction, which holds the conversation's row (`conv`: id,
 * channel_id, last_seq) locked: bumps the conversation, inserts the message, its event and its usage record.
 */
export async function insertAppended(sql: SqlRunner, tenant: string, conv: Row, m: NewMessage): Promise<Message> {
  const seq = Number(conv.last_seq) + 1;
  const conversationId = conv.id as string;
  await sql.run('UPDATE conversations SET last_seq = ?, last_message_at = ?, last_activity_at = greatest(last_activity_at, ?) WHERE id = ?', [seq, m.createdAt, m.createdAt, conversationId]);
  await sql.run(MESSAGE_INSERT, [conversationId, seq, m.id, tenant, conv.channel_id, m.role, m.content, m.externalId, m.idempotencyKey, m.status, m.createdAt, packExtra(m), m.createdAt]);
  await writeEvent(sql, tenant, { type: 'message.created', conversationId, data: { messageId: m.id, seq, role: m.role }, now: m.createdAt });
  await recordUsage(sql, tenant, conversationId, m);
  const created = new Date(m.createdAt).toISOString();
  return {
    id: m.id, conversationId, seq, role: m.role, content: m.content, parts: m.parts, externalId: m.externalId, idempotencyKey: m.idempotencyKey,
    status: m.status, statusAt: created, intent: m.intent, confidence: m.confidence, entities: m.entities, metadata: m.metadata,
    sender: m.sender, error: null, edits: null, tokens: m.tokens, usage: m.usage, createdAt: created,
  };
}

/**
 * An append as one transaction of plain statements, for an engine whose hot path cannot write a usage record
 * (PostgreSQL's append function): dedup by idempotency key, then external id, under the conversation's row lock.
 */
export function transactionalAppend(engine: SqlEngine, tables: Tables): MessageRepository['append'] {
  return (tenant, conversationId, m) => engine.tx(async (sql) => {
    const conv = await sql.one('SELECT id, status, channel_id, last_seq FROM conversations WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [conversationId, tenant]);
    if (!conv) throw notFound('conversation', conversationId);
    const duplicate = (m.idempotencyKey !== null ? await sql.one(DUPLICATE_BY_KEY, [conversationId, m.idempotencyKey]) : undefined)
      ?? (m.externalId !== null ? await sql.one(conv.channel_id === null ? DUPLICATE_BY_EXTERNAL_ID_WITHOUT_CHANNEL : DUPLICATE_BY_EXTERNAL_ID,
        conv.channel_id === null ? [conversationId, m.externalId] : [conv.channel_id, m.externalId]) : undefined);
    if (duplicate) return { message: tables.messages.fromRow(duplicate), duplicate: true };
    if (conv.status === 'closed') throw conversationClosed(conversationId);
    return { message: await insertAppended(sql, tenant, conv, m), duplicate: false };
  });
}

/** The hot read: a page by seq, its rows as arrays of MESSAGE_READ_COLUMNS. */
const PAGE = (order: 'asc' | 'desc') => `SELECT ${MESSAGE_READ_COLUMNS.join(', ')} FROM messages
  WHERE conversation_id = ? AND tenant_id = ? AND seq > ? AND seq < ? ORDER BY seq ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ?`;
const PAGES = { asc: PAGE('asc'), desc: PAGE('desc') };

/** Everything but `append`, which is each engine's own hot path. */
export function messageRepository(engine: SqlEngine, tables: Tables): Omit<MessageRepository, 'append'> {
  return {
    list(tenant, conversationId, range) {
      return engine.arrays(PAGES[range.order], [conversationId, tenant, range.after ?? 0, range.before ?? Number.MAX_SAFE_INTEGER, range.limit])
        .then(async (rows) => {
          if (!rows.length && !(await engine.one('SELECT 1 AS x FROM conversations WHERE id = ? AND tenant_id = ?', [conversationId, tenant]))) return undefined;
          return rows.map((row) => tables.messageFromArray(row, conversationId));
        });
    },

    async get(tenant, id) {
      const row = await engine.one('SELECT * FROM messages WHERE id = ? AND tenant_id = ?', [id, tenant]);
      return row && tables.messages.fromRow(row);
    },

    updateStatus: (tenant, id, status, at) => engine.tx(async (sql) => {
      const row = await sql.one('SELECT * FROM messages WHERE id = ? AND tenant_id = ? FOR UPDATE', [id, tenant]);
      return row && setMessageStatus(sql, tables, tenant, row, status, at, null);
    }),

    async statusByExternalId(tenant, channelId, externalId, status, at, error) {
      const found = await engine.tx(async (sql) => {
        const row = await sql.one('SELECT * FROM messages WHERE channel_id = ? AND external_id = ? AND tenant_id = ? FOR UPDATE', [channelId, externalId, tenant]);
        if (row) return setMessageStatus(sql, tables, tenant, row, status, at, error);
        await sql.run(`INSERT INTO pending_statuses (channel_id, external_id, status, tenant_id, at, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT DO NOTHING`, [channelId, externalId, status, tenant, at, error && JSON.stringify(error), at]);
        return undefined;
      });
      if (found) return found;
      // The message may have got this external id while the status was being kept: whoever commits second applies it.
      return (await engine.tx((sql) => applyPendingStatuses(sql, tables, tenant, channelId, externalId))) ?? 'pending';
    },

    edit: (tenant, channelId, externalId, edit) => engine.tx(async (sql) => {
      const row = await sql.one('SELECT * FROM messages WHERE channel_id = ? AND external_id = ? AND tenant_id = ? FOR UPDATE', [channelId, externalId, tenant]);
      if (!row) return undefined;
      const message = tables.messages.fromRow(row);
      // Key order aside (jsonb sorts keys): a repeat of the same edit changes nothing.
      if (message.content === edit.content && isDeepStrictEqual(message.parts, JSON.parse(JSON.stringify(edit.parts)))) return { message, changed: false };
      const edits = [...(message.edits ?? []), { content: message.content, parts: message.parts, editedAt: new Date(edit.at).toISOString() }];
      const next = { ...message, content: edit.content, parts: edit.parts, edits };
      await sql.run('UPDATE messages SET content = ?, extra = ? WHERE conversation_id = ? AND seq = ?', [edit.content, packExtra(next), row.conversation_id, row.seq]);
      await writeEvent(sql, tenant, { type: 'message.edited', conversationId: row.conversation_id, data: { messageId: row.id, seq: Number(row.seq), edits: edits.length }, now: edit.at });
      return { message: next, changed: true };
    }),
  };
}
