import type { Conversation, ConversationState, Message } from '../../domain/entities.js';
import type { TrashRecord, TrashRepository } from '../trash-repository.js';
import { writeEvent, type EraseEvents } from './events.js';
import type { Row, SqlEngine, SqlRunner } from './sql.js';
import type { Tables } from './tables.js';

const PURGE_BATCH = 200;

const insert = (table: string, columns: readonly string[]) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;

/** A conversation as the trash keeps it, with the fields added since an earlier version trashed it, as a row without them reads. */
export const keptConversation = (c: Conversation): Conversation =>
  (c.readSeq === undefined ? { ...c, readSeq: 0, unreadCount: c.lastSeq } : c);

/**
 * Copies a conversation, its messages and its state into the trash, as entities, inside the caller's transaction
 * and before it deletes the conversation (locked by the caller). `linkedFrom`: the conversations whose link to it the
 * delete is about to clear.
 */
export async function moveToTrash(sql: SqlRunner, tables: Tables, tenant: string, id: string, linkedFrom: string[], at: { now: number; purgeAt: number }): Promise<void> {
  const row = await sql.one('SELECT * FROM conversations WHERE id = ? AND tenant_id = ?', [id, tenant]);
  if (!row) return;
  const conversation = tables.conversations.fromRow(row);
  const stateRow = await sql.one('SELECT * FROM conversation_states WHERE conversation_id = ?', [id]);
  const messages = await sql.all('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq', [id]);
  await sql.run(`INSERT INTO trash (conversation_id, tenant_id, contact_id, channel_id, conversation, state, linked_from, messages, deleted_at, purge_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  [id, tenant, row.contact_id ?? null, row.channel_id ?? null, JSON.stringify(conversation), stateRow ? JSON.stringify(tables.states.fromRow(stateRow)) : null,
    JSON.stringify(linkedFrom), messages.length, at.now, at.purgeAt]);
  for (const m of messages) {
    await sql.run('INSERT INTO trash_messages (conversation_id, seq, channel_id, message) VALUES (?, ?, ?, ?)', [id, Number(m.seq), m.channel_id ?? null, JSON.stringify(tables.messages.fromRow(m))]);
  }
}

/**
 * A trashed conversation erased before or at its purge time, inside the caller's transaction: its last events go
 * (the `conversation.deleted` that said "trashed") and a `conversation.deleted` with `purged: true` says it is gone,
 * so that a receiver told to keep it learns to erase it.
 */
export async function announcePurged(sql: SqlRunner, eraseEvents: EraseEvents, tenant: string, ids: string[], now: number): Promise<void> {
  for (const id of ids) await eraseEvents(sql, tenant, [id], { type: 'conversation.deleted', conversationId: id, data: { purged: true }, now });
}

export function trashRepository(engine: SqlEngine, tables: Tables, eraseEvents: EraseEvents): TrashRepository {
  const json = engine.json;
  const recordOf = (row: Row): TrashRecord => ({
    conversation: { ...keptConversation(json(row.conversation) as Conversation), contactId: row.contact_id ?? null },
    messages: Number(row.messages), deletedAt: Number(row.deleted_at), purgeAt: Number(row.purge_at),
  });
  return {
    async list(tenant, page) {
      const rows = await engine.all(`SELECT * FROM trash WHERE tenant_id = ?${page.before ? ' AND (deleted_at < ? OR (deleted_at = ? AND conversation_id < ?))' : ''}
        ORDER BY deleted_at DESC, conversation_id DESC LIMIT ?`,
      [tenant, ...(page.before ? [page.before.deletedAt, page.before.deletedAt, page.before.id] : []), page.limit]);
      return rows.map(recordOf);
    },
    async get(tenant, id) {
      const row = await engine.one('SELECT * FROM trash WHERE conversation_id = ? AND tenant_id = ?', [id, tenant]);
      return row && recordOf(row);
    },
    restore: (tenant, id, now) => engine.tx(async (sql) => {
      // The contact first, as an ingest and an erasure take it: a restore then never deadlocks with either, and an
      // ingest opening a conversation for the contact meanwhile is seen (this one comes back closed).
      const peek = await sql.one('SELECT contact_id FROM trash WHERE conversation_id = ? AND tenant_id = ?', [id, tenant]);
      if (!peek) return undefined;
      if (peek.contact_id && !(await sql.one('SELECT 1 AS x FROM contacts WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [peek.contact_id, tenant]))) return undefined;
      const row = await sql.one('SELECT * FROM trash WHERE conversation_id = ? AND tenant_id = ? FOR UPDATE', [id, tenant]);
      if (!row || row.contact_id !== peek.contact_id) return undefined;
      const kept = recordOf(row).conversation;
      const exists = async (query: string, params: unknown[]) => (await sql.one(query, params)) !== undefined;
      // What changed while it was away: another conversation of its contact and channel opened (it comes back closed),
      // its agent, previous conversation or chat id gone or taken (it comes back without them).
      const busy = kept.status !== 'closed' && kept.contactId !== null && kept.channelId !== null
        && await exists("SELECT 1 AS x FROM conversations WHERE tenant_id = ? AND contact_id = ? AND channel_id = ? AND status <> 'closed' FOR UPDATE", [tenant, kept.contactId, kept.channelId]);
      const agentId = kept.agentId && await exists('SELECT 1 AS x FROM agents WHERE id = ? AND tenant_id = ? FOR KEY SHARE', [kept.agentId, tenant]) ? kept.agentId : null;
      const previous = kept.previousConversationId && await exists('SELECT 1 AS x FROM conversations WHERE id = ? AND tenant_id = ? FOR KEY SHARE', [kept.previousConversationId, tenant]) ? kept.previousConversationId : null;
      const chatId = kept.chatId && agentId && !(await exists('SELECT 1 AS x FROM conversations WHERE tenant_id = ? AND agent_id = ? AND chat_id = ?', [tenant, agentId, kept.chatId])) ? kept.chatId : null;
      const conversation: Conversation = {
        ...kept, agentId, previousConversationId: previous, chatId, status: busy ? 'closed' : kept.status,
        closedAt: busy ? kept.closedAt ?? new Date(now).toISOString() : kept.closedAt,
        version: kept.version + 1, updatedAt: new Date(now).toISOString(),
      };
      await sql.run(insert('conversations', tables.conversations.columns), tables.conversations.values(conversation, tenant));
      let externalIdsDropped = 0;
      for (const m of await sql.all('SELECT channel_id, message FROM trash_messages WHERE conversation_id = ? ORDER BY seq', [id])) {
        let message = json(m.message) as Message;
        // Its send was queued when the conversation left: the queue entry went with it, and it may or may not have
        // reached the customer. Never resent blindly: failed, saying so.
        if (message.status === 'pending' && message.role === 'assistant' && m.channel_id) {
          message = { ...message, status: 'failed', statusAt: new Date(now).toISOString(), error: { code: 'deleted_before_sent', title: 'The conversation was deleted while this message waited to be sent; it may not have reached the customer. Send it again if it is still needed.', reason: 'ambiguous', at: new Date(now).toISOString() } };
        }
        // A provider's retry stored again while this was in the trash holds the external id now: this copy lets it go.
        if (message.externalId && m.channel_id && await exists('SELECT 1 AS x FROM messages WHERE channel_id = ? AND external_id = ?', [m.channel_id, message.externalId])) {
          message = { ...message, externalId: null };
          externalIdsDropped++;
        }
        await sql.run(insert('messages', tables.messages.columns), tables.messages.values(message, tenant, { channelId: m.channel_id ?? null }));
      }
      if (row.state !== null && row.state !== undefined) await sql.run(insert('conversation_states', tables.states.columns), tables.states.values(json(row.state) as ConversationState, tenant));
      const linkedFrom = json(row.linked_from) as string[];
      const relinked = linkedFrom.length
        ? (await sql.all(`UPDATE conversations SET previous_conversation_id = ? WHERE tenant_id = ? AND id = ANY(?::uuid[]) AND previous_conversation_id IS NULL RETURNING id`, [id, tenant, linkedFrom])).map((r) => r.id as string)
        : [];
      await sql.run('DELETE FROM trash WHERE conversation_id = ?', [id]);
      await writeEvent(sql, tenant, { type: 'conversation.restored', conversationId: id, data: { status: conversation.status, version: conversation.version, closed: busy }, now });
      return { conversation, closed: busy, relinked, externalIdsDropped };
    }),
    purge: (tenant, id, now) => engine.tx(async (sql) => {
      const gone = await sql.all('DELETE FROM trash WHERE conversation_id = ? AND tenant_id = ? RETURNING conversation_id', [id, tenant]);
      await announcePurged(sql, eraseEvents, tenant, gone.map((r) => r.conversation_id as string), now);
      return gone.length > 0;
    }),
    async purgeExpired(now) {
      // In transactions of PURGE_BATCH, so that a large sweep never holds SQLite's one writer for long.
      let total = 0;
      for (;;) {
        const count = await engine.tx(async (sql) => {
          const gone = await sql.all(`DELETE FROM trash WHERE conversation_id IN (SELECT conversation_id FROM trash WHERE purge_at <= ? LIMIT ${PURGE_BATCH})
            RETURNING conversation_id, tenant_id`, [now]);
          for (const row of gone) await announcePurged(sql, eraseEvents, row.tenant_id as string, [row.conversation_id as string], now);
          return gone.length;
        });
        total += count;
        if (count < PURGE_BATCH) return total;
      }
    },
  };
}
