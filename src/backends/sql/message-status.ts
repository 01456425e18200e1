import { canAdvance } from '../../domain/message-status.js';
import type { JsonObject, MessageStatus, StatusUpdateResult } from '../../domain/entities.js';
import type { MessageError } from '../backend.js';
import { writeEvent } from './events.js';
import type { Row, SqlRunner } from './sql.js';
import { packExtra, type Tables } from './tables.js';

const RANK: Record<string, number> = { sent: 1, failed: 2, delivered: 3, read: 4 };

/**
 * Moves a locked message row's status forward (never back); `failed` keeps its error on the message. Writes the
 * `message.status` event when it changed something.
 */
export async function setMessageStatus(sql: SqlRunner, tables: Tables, tenant: string, row: Row, status: MessageStatus, at: number, error: MessageError | null): Promise<StatusUpdateResult> {
  const message = tables.messages.fromRow(row);
  if (!canAdvance(row.status, status)) return { message, changed: false };
  const failed = status === 'failed' && error ? { ...message, error: { ...error, at: new Date(error.at).toISOString() } } : message;
  const extra = failed === message ? row.extra : packExtra(failed as never);
  await sql.run('UPDATE messages SET status = ?, status_at = ?, extra = ? WHERE conversation_id = ? AND seq = ?',
    [status, at, typeof extra === 'string' || extra === null ? extra : JSON.stringify(extra), row.conversation_id, row.seq]);
  const data: JsonObject = { messageId: row.id, seq: Number(row.seq), status };
  if (status === 'failed' && error) data.errorCode = error.code;
  await writeEvent(sql, tenant, { type: 'message.status', conversationId: row.conversation_id, data, now: at });
  return { message: { ...failed, status, statusAt: new Date(at).toISOString() }, changed: true };
}

/** Statuses that waited for this external id, applied in rank order, then forgotten; the last result, if any. */
export async function applyPendingStatuses(sql: SqlRunner, tables: Tables, tenant: string, channelId: string, externalId: string): Promise<StatusUpdateResult | undefined> {
  const pending = await sql.all('SELECT * FROM pending_statuses WHERE channel_id = ? AND external_id = ?', [channelId, externalId]);
  if (!pending.length) return undefined;
  let result: StatusUpdateResult | undefined;
  for (const p of pending.sort((a, b) => (RANK[a.status] ?? 0) - (RANK[b.status] ?? 0))) {
    const row = await sql.one('SELECT * FROM messages WHERE channel_id = ? AND external_id = ? FOR UPDATE', [channelId, externalId]);
    if (!row) return result;
    const error = p.error === null || p.error === undefined ? null : (typeof p.error === 'string' ? JSON.parse(p.error) : p.error) as MessageError;
    const next = await setMessageStatus(sql, tables, tenant, row, p.status, Number(p.at), error);
    if (next.changed || !result) result = next;
  }
  await sql.run('DELETE FROM pending_statuses WHERE channel_id = ? AND external_id = ?', [channelId, externalId]);
  return result;
}
