import { notFound } from '../../domain/errors.js';
import type { TurnRecord, TurnRepository } from '../agent-repositories.js';
import { writeEvent } from './events.js';
import type { Row, SqlEngine } from './sql.js';

const turnOf = (row: Row, json: (value: unknown) => any): TurnRecord => ({
  tenant: row.tenant_id, messageId: row.message_id, conversationId: row.conversation_id, agentId: row.agent_id, state: row.state,
  dueAt: Number(row.due_at), owner: row.owner ?? null, leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
  replyId: row.reply_id ?? null, error: row.error === null ? null : json(row.error),
});

/** A running turn of the conversation under a live lease (but for one the caller says it holds). */
const LIVE = `SELECT message_id FROM agent_turns WHERE conversation_id = ? AND state = 'running' AND lease_until > ?
  AND NOT (? AND message_id = ? AND owner = ?) LIMIT 1`;
/** Due turns: scheduled ones whose time came, and running ones whose holder's lease ran out. */
const DUE = `SELECT message_id, conversation_id FROM agent_turns
  WHERE (state = 'scheduled' AND due_at <= ?) OR (state = 'running' AND lease_until <= ?) ORDER BY due_at LIMIT ?`;
/** One due turn claimed, if it is still due and no other turn of its conversation runs (checked under the conversation's lock). */
const CLAIM_ONE = `UPDATE agent_turns SET state = 'running', owner = ?, lease_until = ?, updated_at = ?
  WHERE message_id = ? AND ((state = 'scheduled' AND due_at <= ?) OR (state = 'running' AND lease_until <= ?))
  AND NOT EXISTS (SELECT 1 FROM agent_turns o WHERE o.conversation_id = agent_turns.conversation_id AND o.message_id <> agent_turns.message_id
    AND o.state = 'running' AND o.lease_until > ?) RETURNING *`;

export function turnRepository(engine: SqlEngine): TurnRepository {
  const json = engine.json;
  return {
    begin: (tenant, t) => engine.tx(async (sql) => {
      // The conversation's row lock orders every begin of one conversation: two turns never both see it free.
      const conv = await sql.one('SELECT id FROM conversations WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [t.conversationId, tenant]);
      if (!conv) throw notFound('conversation', t.conversationId);
      const reply = await sql.one('SELECT id FROM messages WHERE conversation_id = ? AND idempotency_key = ?', [t.conversationId, t.replyKey]);
      const mine = await sql.one('SELECT * FROM agent_turns WHERE message_id = ?', [t.messageId]);
      if (reply) {
        if (mine?.state !== 'done') {
          await sql.run(`UPDATE agent_turns SET state = 'done', reply_id = ?, owner = NULL, lease_until = NULL, updated_at = ? WHERE message_id = ?`, [reply.id, t.now, t.messageId]);
        }
        return { outcome: 'done', replyId: reply.id as string };
      }
      const live = await sql.one(LIVE, [t.conversationId, t.now, t.held === true, t.messageId, t.owner]);
      if (live) return { outcome: 'busy', messageId: live.message_id as string };
      const until = t.now + t.leaseMs;
      if (mine) {
        await sql.run(`UPDATE agent_turns SET state = 'running', owner = ?, lease_until = ?, agent_id = ?, error = NULL, updated_at = ? WHERE message_id = ?`,
          [t.owner, until, t.agentId, t.now, t.messageId]);
      } else {
        await sql.run(`INSERT INTO agent_turns (message_id, tenant_id, conversation_id, agent_id, state, due_at, owner, lease_until, created_at, updated_at)
          VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`, [t.messageId, tenant, t.conversationId, t.agentId, t.now, t.owner, until, t.now, t.now]);
      }
      return { outcome: 'claimed' };
    }),

    async renew(messageId, owner, until) {
      return (await engine.run(`UPDATE agent_turns SET lease_until = ? WHERE message_id = ? AND owner = ? AND state = 'running'`, [until, messageId, owner])) > 0;
    },

    finish: (messageId, owner, outcome, now) => engine.tx(async (sql) => {
      if ('replyId' in outcome) {
        await sql.run(`UPDATE agent_turns SET state = 'done', reply_id = ?, owner = NULL, lease_until = NULL, error = NULL, updated_at = ? WHERE message_id = ? AND owner = ?`,
          [outcome.replyId, now, messageId, owner]);
        return;
      }
      const [state, detail, due] = 'skipped' in outcome ? ['done', outcome.skipped, null] : [outcome.retryAt !== undefined ? 'scheduled' : 'failed', outcome.error, outcome.retryAt ?? null];
      const row = await sql.one(`UPDATE agent_turns SET state = ?, error = ?, due_at = coalesce(?, due_at), owner = NULL, lease_until = NULL, updated_at = ?
        WHERE message_id = ? AND owner = ? AND state = 'running' RETURNING tenant_id, conversation_id, agent_id`, [state, JSON.stringify(detail), due, now, messageId, owner]);
      if (!row) return;
      const event = 'error' in outcome ? 'agent.error' : outcome.skipped.reason === 'budget_exceeded' ? 'agent.refused' : undefined;
      if (event) await writeEvent(sql, row.tenant_id, { type: event, conversationId: row.conversation_id, data: { messageId, agentId: row.agent_id, ...detail }, now });
    }),

    schedule: (tenant, t) => engine.tx(async (sql) => {
      await sql.one('SELECT id FROM conversations WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [t.conversationId, tenant]);
      if (await sql.one('SELECT 1 AS x FROM agent_turns WHERE message_id = ?', [t.messageId])) return false;
      await sql.run(`DELETE FROM agent_turns WHERE conversation_id = ? AND state = 'scheduled'`, [t.conversationId]);
      await sql.run(`INSERT INTO agent_turns (message_id, tenant_id, conversation_id, agent_id, state, due_at, created_at, updated_at)
        VALUES (?, ?, ?, ?, 'scheduled', ?, ?, ?)`, [t.messageId, tenant, t.conversationId, t.agentId, t.dueAt, t.now, t.now]);
      return true;
    }),

    async claimDue(o) {
      const candidates = await engine.all(DUE, [o.now, o.now, o.limit * 2]);
      const claimed: TurnRecord[] = [];
      const seen = new Set<string>();
      for (const candidate of candidates) {
        if (claimed.length >= o.limit || seen.has(candidate.conversation_id)) continue;
        seen.add(candidate.conversation_id);
        // Under the conversation's row lock, as begin: two instances never both start a turn of one conversation.
        const row = await engine.tx(async (sql) => {
          await sql.one('SELECT id FROM conversations WHERE id = ? FOR NO KEY UPDATE', [candidate.conversation_id]);
          return sql.one(CLAIM_ONE, [o.owner, o.now + o.leaseMs, o.now, candidate.message_id, o.now, o.now, o.now]);
        });
        if (row) claimed.push(turnOf(row, json));
      }
      return claimed;
    },

    async get(tenant, messageId) {
      const row = await engine.one('SELECT * FROM agent_turns WHERE message_id = ? AND tenant_id = ?', [messageId, tenant]);
      return row && turnOf(row, json);
    },

    async answered(tenant, conversationId, idempotencyKey) {
      const row = await engine.one(`SELECT u.id AS user_id, r.id AS reply_id FROM messages u
        JOIN messages r ON r.conversation_id = u.conversation_id AND r.idempotency_key = 'reply:' || u.id
        WHERE u.conversation_id = ? AND u.tenant_id = ? AND u.idempotency_key = ? AND u.role = 'user'`, [conversationId, tenant, idempotencyKey]);
      return row && { userMessageId: String(row.user_id), replyId: String(row.reply_id) };
    },

    async unanswered(tenant, channelId, since, limit) {
      const rows = await engine.all(`SELECT c.id AS conversation_id, m.id AS message_id, m.created_at FROM conversations c
        JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
        WHERE c.tenant_id = ? AND c.channel_id = ? AND c.status <> 'closed' AND NOT c.agent_paused AND c.last_message_at >= ?
          AND m.role = 'user' AND NOT EXISTS (SELECT 1 FROM agent_turns t WHERE t.message_id = m.id)
        ORDER BY c.last_message_at LIMIT ?`, [tenant, channelId, since, limit]);
      return rows.map((row) => ({ conversationId: row.conversation_id, messageId: row.message_id, createdAt: Number(row.created_at) }));
    },
  };
}
