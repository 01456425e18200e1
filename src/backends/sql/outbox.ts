import { ColloquyError, notFound } from '../../domain/errors.js';
import { conversationClosed } from '../../domain/lifecycle.js';
import type { Message } from '../../domain/entities.js';
import type { NewMessage } from '../backend-inputs.js';
import type { OutboxEntry, OutboxRepository } from '../backend.js';
import { writeEvent } from './events.js';
import { DUPLICATE_BY_KEY, insertAppended } from './messages.js';
import { applyPendingStatuses, setMessageStatus } from './message-status.js';
import type { Row, SqlEngine } from './sql.js';
import { packExtra, type Tables } from './tables.js';

const entryOf = (row: Row): OutboxEntry => ({
  messageId: row.message_id, tenant: row.tenant_id, channelId: row.channel_id, conversationId: row.conversation_id,
  seq: Number(row.seq), recipient: row.recipient, attempts: Number(row.attempts), createdAt: Number(row.created_at),
});

/**
 * Queued entries whose turn it is: due, and the head of their conversation (its oldest unfinished entry: messages
 * leave in seq order, one in flight per conversation). SKIP LOCKED: instances claiming at once take different rows.
 */
const CLAIM = `UPDATE outbox SET state = 'sending', lease_owner = ?, lease_until = ?, attempts = attempts + 1
  WHERE message_id IN (SELECT o.message_id FROM outbox o WHERE o.state = 'queued' AND o.head AND o.next_at <= ?
    ORDER BY o.next_at LIMIT ? FOR UPDATE SKIP LOCKED)
  AND state = 'queued' RETURNING *`;
/**
 * After an entry is done, the next unfinished one of its conversation becomes its head. The conversation's row is
 * share-locked first: an append (which holds it for update while it inserts) either committed, and its entry is
 * seen here, or waits, and then sees this one done and inserts its entry as the head.
 */
const NEXT_HEAD = `UPDATE outbox SET head = true WHERE message_id = (SELECT message_id FROM outbox
  WHERE conversation_id = ? AND state <> 'done' ORDER BY seq LIMIT 1) AND NOT head`;
/** Entries whose sender stopped answering while it held them: the provider may or may not have the message. */
const TAKE_OVER = `UPDATE outbox SET lease_owner = ?, lease_until = ?
  WHERE message_id IN (SELECT message_id FROM outbox WHERE state = 'sending' AND lease_until < ? ORDER BY lease_until LIMIT ? FOR UPDATE SKIP LOCKED)
  AND state = 'sending' RETURNING *`;

export function outboxRepository(engine: SqlEngine, tables: Tables): OutboxRepository {
  const mine = 'message_id = ? AND lease_owner = ? AND state = \'sending\'';
  return {
    append: (tenant, conversationId, m, rules) => engine.tx(async (sql) => {
      const conv = await sql.one('SELECT id, status, channel_id, contact_id, last_seq FROM conversations WHERE id = ? AND tenant_id = ? FOR NO KEY UPDATE', [conversationId, tenant]);
      if (!conv) throw notFound('conversation', conversationId);
      if (m.idempotencyKey !== null) {
        const duplicate = await sql.one(DUPLICATE_BY_KEY, [conversationId, m.idempotencyKey]);
        if (duplicate) return { message: tables.messages.fromRow(duplicate), duplicate: true };
      }
      if (conv.status === 'closed') throw conversationClosed(conversationId);
      const recipient = conv.contact_id && (await sql.one(`SELECT address FROM contact_handles WHERE tenant_id = ? AND contact_id = ? AND channel = ?
        ORDER BY created_at DESC LIMIT 1`, [tenant, conv.contact_id, rules.kind]))?.address;
      if (!recipient) {
        throw new ColloquyError('conflict', `Conversation ${conversationId} has no contact with a ${rules.kind} handle: there is nobody to send this message to. Append it with role "system", or start the conversation from an inbound message.`, { reason: 'no_recipient', id: conversationId });
      }
      if (rules.windowMs !== null) {
        const last = (await sql.one(`SELECT max(m.created_at) AS at FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE c.tenant_id = ? AND c.contact_id = ? AND c.channel_id = ? AND m.role = 'user'`, [tenant, conv.contact_id, conv.channel_id]))?.at;
        if (last === null || last === undefined || rules.now - Number(last) > rules.windowMs) {
          throw new ColloquyError('window_closed', `The customer's last message is ${last === null || last === undefined ? 'missing' : `from ${new Date(Number(last)).toISOString()}`}: outside WhatsApp's 24-hour customer-service window only a template message can be sent (parts: [{ type: 'template', name, language, components }]).`,
            { id: conversationId, lastInboundAt: last === null || last === undefined ? null : new Date(Number(last)).toISOString() });
        }
      }
      const message = await insertAppended(sql, tenant, { ...conv, id: conversationId }, m);
      // The head when nothing of the conversation is unfinished (the conversation's row lock orders this with finish).
      await sql.run(`INSERT INTO outbox (message_id, tenant_id, channel_id, conversation_id, seq, recipient, state, head, next_at, created_at)
        VALUES (?, ?, ?, ?, ?, ?, 'queued', NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = ? AND p.state <> 'done'), ?, ?)`,
      [m.id, tenant, conv.channel_id, conversationId, message.seq, recipient, conversationId, rules.now, rules.now]);
      return { message, duplicate: false };
    }),

    async claim(options) {
      const until = options.now + options.leaseMs;
      const interrupted = options.takeOver ? await engine.all(TAKE_OVER, [options.owner, until, options.now, options.limit]) : [];
      const fresh = await engine.all(CLAIM, [options.owner, until, options.now, Math.max(0, options.limit - interrupted.length)]);
      if (!interrupted.length && !fresh.length) return [];
      // What to send, for the whole batch in one read.
      const ids = [...interrupted, ...fresh].map((row) => row.message_id as string);
      const messages = new Map((await engine.all('SELECT id, content, extra FROM messages WHERE id = ANY(?::uuid[])', [ids])).map((m) => [m.id as string, m]));
      const claimed = (row: Row, isInterrupted: boolean) => {
        const m = messages.get(row.message_id);
        return { ...entryOf(row), interrupted: isInterrupted, content: m?.content ?? '', parts: (m && engine.json(m.extra)?.parts) ?? null };
      };
      return [...interrupted.map((row) => claimed(row, true)), ...fresh.map((row) => claimed(row, false))];
    },

    async renew(messageId, owner, until) {
      return (await engine.run(`UPDATE outbox SET lease_until = ? WHERE ${mine}`, [until, messageId, owner])) === 1;
    },

    async release(messageId, owner, nextAt, countAttempt) {
      // error NULL: put off without an error of the provider's, so that a change of the channel makes it due again (dueNow).
      await engine.run(`UPDATE outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL, next_at = ?, attempts = attempts - ?, error = NULL WHERE ${mine}`,
        [nextAt, countAttempt ? 0 : 1, messageId, owner]);
    },

    async dueNow(channelId, now) {
      // Not those backing off after a provider's error (a rate limit's retry_after stands).
      await engine.run("UPDATE outbox SET next_at = ? WHERE channel_id = ? AND state = 'queued' AND next_at > ? AND error IS NULL", [now, channelId, now]);
    },

    async retry(messageId, owner, nextAt, error) {
      await engine.run(`UPDATE outbox SET state = 'queued', lease_owner = NULL, lease_until = NULL, next_at = ?, error = ? WHERE ${mine}`,
        [nextAt, JSON.stringify(error), messageId, owner]);
    },

    finish: (messageId, owner, outcome, now, conversationId) => engine.tx(async (sql) => {
      await sql.one('SELECT 1 AS x FROM conversations WHERE id = ? FOR SHARE', [conversationId]);
      // Only while this owner holds the lease: a lost lease means whoever holds it now decides.
      const entry = await sql.one(`UPDATE outbox SET state = 'done', head = false, outcome = ?, error = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL
        WHERE ${mine} RETURNING tenant_id, channel_id, conversation_id, seq`,
      ['sent' in outcome ? 'sent' : 'failed', 'failed' in outcome ? JSON.stringify(outcome.failed) : null, now, messageId, owner]);
      if (!entry) return undefined;
      await sql.run(NEXT_HEAD, [conversationId]);
      if ('sent' in outcome) {
        // The provider's id, and pending → sent, in one statement (a status that came first is applied below).
        const row = await sql.one(`UPDATE messages SET external_id = ?, status = CASE WHEN status = 'pending' THEN 'sent' ELSE status END,
          status_at = CASE WHEN status = 'pending' THEN ? ELSE status_at END WHERE conversation_id = ? AND seq = ? RETURNING *`,
        [outcome.sent.externalId, now, entry.conversation_id, entry.seq]);
        if (!row) return undefined;
        const moved = row.status === 'sent' && Number(row.status_at) === now;
        if (moved) await writeEvent(sql, entry.tenant_id, { type: 'message.status', conversationId: entry.conversation_id, data: { messageId, seq: Number(entry.seq), status: 'sent' }, now });
        return { result: { message: tables.messages.fromRow(row), changed: moved } };
      }
      const row = await sql.one('SELECT * FROM messages WHERE conversation_id = ? AND seq = ? FOR UPDATE', [entry.conversation_id, entry.seq]);
      return row && { result: await setMessageStatus(sql, tables, entry.tenant_id, row, 'failed', now, outcome.failed) };
    }).then((done) => done?.result),

    async applyKept(tenant, channelId, externalId) {
      // Almost always none: looked for outside a transaction first (a write transaction costs a commit).
      if (!(await engine.one('SELECT 1 AS x FROM pending_statuses WHERE channel_id = ? AND external_id = ?', [channelId, externalId]))) return undefined;
      return engine.tx((sql) => applyPendingStatuses(sql, tables, tenant, channelId, externalId));
    },

    async prune(before) {
      const entries = await engine.run("DELETE FROM outbox WHERE state = 'done' AND finished_at < ?", [before]);
      const statuses = await engine.run('DELETE FROM pending_statuses WHERE created_at < ?', [before]);
      return { entries, statuses };
    },

    async stats(tenant, channelId, now, windowMs) {
      const pending = await engine.one(`SELECT count(*) AS depth, min(created_at) AS oldest FROM outbox WHERE channel_id = ? AND tenant_id = ? AND state <> 'done'`, [channelId, tenant]);
      const recent = await engine.all(`SELECT outcome, count(*) AS n FROM outbox WHERE channel_id = ? AND state = 'done' AND finished_at >= ? GROUP BY outcome`, [channelId, now - windowMs]);
      const count = (outcome: string) => Number(recent.find((r) => r.outcome === outcome)?.n ?? 0);
      return { depth: Number(pending?.depth ?? 0), oldestAt: pending?.oldest === null || pending?.oldest === undefined ? null : Number(pending.oldest), recentSent: count('sent'), recentFailed: count('failed') };
    },
  };
}
