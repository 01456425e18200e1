import { canAdvance } from '../../domain/message-status.js';
import type { MessageRepository } from '../backend.js';
import { writeEvent } from './events.js';
import type { SqlEngine } from './sql.js';
import { MESSAGE_READ_COLUMNS, type Tables } from './tables.js';

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
      if (!row) return undefined;
      if (!canAdvance(row.status, status)) return { message: tables.messages.fromRow(row), changed: false };
      await sql.run('UPDATE messages SET status = ?, status_at = ? WHERE conversation_id = ? AND seq = ?', [status, at, row.conversation_id, row.seq]);
      await writeEvent(sql, tenant, { type: 'message.status', conversationId: row.conversation_id, data: { messageId: id, seq: row.seq, status }, now: at });
      return { message: tables.messages.fromRow({ ...row, status, status_at: at }), changed: true };
    }),
  };
}
