import type { JsonObject } from '../../domain/entities.js';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { assertVersion, onePerPair, patchConversation } from '../../domain/lifecycle.js';
import type { ConversationRepository } from '../backend.js';
import { writeEvent, type EraseEvents } from './events.js';
import type { SqlEngine, SqlRunner } from './sql.js';
import type { Tables } from './tables.js';
import { announcePurged, moveToTrash } from './trash.js';

export const CONVERSATION_BY_ID = 'SELECT * FROM conversations WHERE id = ? AND tenant_id = ?';
export const CONVERSATION_INSERT = `INSERT INTO conversations (id, tenant_id, contact_id, channel_id, agent_id, previous_conversation_id,
  status, title, metadata, created_at, updated_at, last_activity_at, chat_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;

/**
 * Whether the tenant owns a row of `table` with this id. The row stays locked against deletion until the caller's
 * transaction ends, so a reference it checked cannot vanish before the write that makes it (a concurrent delete
 * waits, then sees the new reference).
 */
export const owned = async (sql: SqlRunner, table: 'contacts' | 'channels' | 'agents', tenant: string, id: string): Promise<boolean> =>
  (await sql.one(`SELECT 1 AS x FROM ${table} WHERE id = ? AND tenant_id = ? FOR KEY SHARE`, [id, tenant])) !== undefined;

export function conversationRepository(engine: SqlEngine, tables: Tables, eraseEvents: EraseEvents): ConversationRepository {
  const map = tables.conversations.fromRow;
  return {
    create: (tenant, input) => engine.tx(async (sql) => {
      for (const [table, id, what] of [['contacts', input.contactId, 'contact'], ['channels', input.channelId, 'channel'], ['agents', input.agentId, 'agent']] as const) {
        if (id && !(await owned(sql, table, tenant, id))) throw notFound(what, id);
      }
      const inserted = await sql.run(CONVERSATION_INSERT, [input.id, tenant, input.contactId, input.channelId, input.agentId, null,
        input.status, input.title, JSON.stringify(input.metadata), input.now, input.now, input.now, input.chatId ?? null]);
      if (!inserted) {
        if (input.chatId && await sql.one('SELECT 1 AS x FROM conversations WHERE tenant_id = ? AND agent_id = ? AND chat_id = ?', [tenant, input.agentId, input.chatId])) {
          throw new ColloquyError('conflict', `The agent already has a conversation with chat id "${input.chatId}": continue that one, or use another chat id.`, { reason: 'chat_id_taken', chatId: input.chatId });
        }
        throw onePerPair();
      }
      await writeEvent(sql, tenant, { type: 'conversation.created', conversationId: input.id, data: { status: input.status, version: 1 }, now: input.now });
      return map((await sql.one(CONVERSATION_BY_ID, [input.id, tenant]))!);
    }),

    async get(tenant, id) {
      const row = await engine.one(CONVERSATION_BY_ID, [id, tenant]);
      return row && map(row);
    },

    async byChatId(tenant, agentId, chatId) {
      const row = await engine.one('SELECT * FROM conversations WHERE tenant_id = ? AND agent_id = ? AND chat_id = ?', [tenant, agentId, chatId]);
      return row && map(row);
    },

    async list(tenant, filter) {
      const where = ['tenant_id = ?'];
      const params: unknown[] = [tenant];
      for (const [column, value] of [['status', filter.status], ['contact_id', filter.contactId], ['channel_id', filter.channelId], ['agent_id', filter.agentId]] as const) {
        if (value !== undefined) {
          where.push(`${column} = ?`);
          params.push(value);
        }
      }
      if (filter.after) {
        where.push('(last_activity_at, id) < (?, ?)');
        params.push(filter.after.activityAt, filter.after.id);
      }
      const rows = await engine.all(`SELECT * FROM conversations WHERE ${where.join(' AND ')} ORDER BY last_activity_at DESC, id DESC LIMIT ?`,
        [...params, filter.limit]);
      return rows.map((row) => map(row));
    },

    update: (tenant, id, patch) => engine.tx(async (sql) => {
      const row = await sql.one(`${CONVERSATION_BY_ID} FOR UPDATE`, [id, tenant]);
      if (!row) return undefined;
      assertVersion(patch.expectedVersion, row.version, 'Conversation');
      if (patch.agentId && !(await owned(sql, 'agents', tenant, patch.agentId))) throw notFound('agent', patch.agentId);
      const current = { status: row.status, title: row.title, agentId: row.agent_id, agentPaused: row.agent_paused === true || row.agent_paused === 1, metadata: engine.json(row.metadata), closedAt: row.closed_at };
      const { next, changed, reopening } = patchConversation(current, patch, patch.now);
      if (!changed.length) return map(row);
      if (reopening && row.contact_id && row.channel_id) {
        const other = await sql.one(`SELECT 1 AS x FROM conversations WHERE tenant_id = ? AND contact_id = ? AND channel_id = ?
          AND status <> 'closed' AND id <> ?`, [tenant, row.contact_id, row.channel_id, id]);
        if (other) throw onePerPair();
      }
      let updated;
      try {
        updated = await sql.one(`UPDATE conversations SET status = ?, title = ?, agent_id = ?, agent_paused = ?, metadata = ?, closed_at = ?, version = version + 1,
            updated_at = ?, last_activity_at = greatest(last_activity_at, ?) WHERE id = ? RETURNING *`, [
          next.status, next.title, next.agentId, next.agentPaused, JSON.stringify(next.metadata), next.closedAt, patch.now, patch.now, id,
        ]);
      } catch (error) {
        // Another conversation of the pair was opened between the check above and this update.
        if (engine.isUniqueViolation(error)) throw onePerPair();
        throw error;
      }
      await writeEvent(sql, tenant, { type: 'conversation.updated', conversationId: id, data: { status: next.status, version: row.version + 1, changed }, now: patch.now });
      return map(updated!);
    }),

    async markRead(tenant, id, seq) {
      // One statement, so that a concurrent append cannot slip between reading last_seq and clamping to it.
      const row = await engine.one(`UPDATE conversations SET read_seq = greatest(read_seq, least(coalesce(?, last_seq), last_seq))
        WHERE id = ? AND tenant_id = ? RETURNING *`, [seq ?? null, id, tenant]);
      return row && map(row);
    },

    delete: (tenant, which, now, trash) => engine.tx(async (sql) => {
      const ids = (await sql.all('id' in which
        ? 'SELECT id FROM conversations WHERE id = ? AND tenant_id = ? FOR UPDATE'
        : 'SELECT id FROM conversations WHERE contact_id = ? AND tenant_id = ? ORDER BY id FOR UPDATE',
      ['id' in which ? which.id : which.contactId, tenant])).map((r) => r.id as string);
      // A contact's trash is erased with its conversations, whether or not any is left outside it.
      if ('contactId' in which) {
        const trashed = await sql.all('DELETE FROM trash WHERE contact_id = ? AND tenant_id = ? RETURNING conversation_id', [which.contactId, tenant]);
        await announcePurged(sql, eraseEvents, tenant, trashed.map((r) => r.conversation_id as string), now);
      }
      if (!ids.length) return { deleted: [], unlinked: [] };
      // Explicitly rather than by the foreign key's SET NULL, to learn which records changed (the hot tier must).
      const unlinked = (await sql.all(`UPDATE conversations SET previous_conversation_id = NULL
        WHERE previous_conversation_id = ANY(?::uuid[]) AND NOT id = ANY(?::uuid[]) RETURNING id`, [ids, ids])).map((r) => r.id as string);
      if (trash && 'id' in which) await moveToTrash(sql, tables, tenant, ids[0]!, unlinked, { now, purgeAt: trash.purgeAt });
      await sql.run('DELETE FROM conversations WHERE id = ANY(?::uuid[])', [ids]);
      const data: JsonObject = trash ? { trashed: true, purgeAt: new Date(trash.purgeAt).toISOString() } : {};
      for (const id of ids) await eraseEvents(sql, tenant, [id], { type: 'conversation.deleted', conversationId: id, data, now });
      return { deleted: ids, unlinked };
    }),
  };
}
