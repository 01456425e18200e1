import { isDeepStrictEqual } from 'node:util';
import type { MessageRepository } from '../backend.js';
import { writeEvent } from './events.js';
import { applyPendingStatuses, setMessageStatus } from './message-status.js';
import type { SqlEngine } from './sql.js';
import { MESSAGE_READ_COLUMNS, packExtra, type Tables } from './tables.js';

export const MESSAGE_INSERT = `INSERT INTO messages (conversation_id, seq, id, tenant_id, channel_id, role, content, external_id,
  idempotency_key, status, status_at, extra, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Duplicate detection, in this order: the idempotency key within the conversation, then the external id. */
export const DUPLICATE_BY_KEY = 'SELECT * FROM messages WHERE conversation_id = ? AND idempotency_key = ?';
/** External ids are unique per channel, or per conversation for a conversation without one. */
export const DUPLICATE_BY_EXTERNAL_ID = 'SELECT * FROM messages WHERE channel_id = ? AND external_id = ?';
export const DUPLICATE_BY_EXTERNAL_ID_WITHOUT_CHANNEL = 'SELECT * FROM messages WHERE conversation_id = ? AND external_id = ? AND channel_id IS NULL';

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
