import { readFileSync } from 'node:fs';
import type { Pool, QueryConfig } from 'pg';
import { notFound } from '../../domain/errors.js';
import { conversationClosed } from '../../domain/lifecycle.js';
import type { StoreEvent } from '../../domain/entities.js';
import { iso } from '../../domain/time.js';
import type { AppendResult, IngestResult } from '../../domain/entities.js';
import type { NewInbound, NewMessage } from '../backend-inputs.js';
import { badEventCursor, writeEvent, type EraseEvents } from '../sql/events.js';
import type { Row } from '../sql/sql.js';
import { packExtra, type Tables } from '../sql/tables.js';

const APPEND_FAST = readFileSync(new URL('./queries/append-fast.sql', import.meta.url), 'utf8');
const EVENTS_AFTER = readFileSync(new URL('./queries/events-after.sql', import.meta.url), 'utf8');
const EVENTS = {
  tenant: EVENTS_AFTER.replaceAll('{scope}', 'tenant_id = $1'),
  conversation: EVENTS_AFTER.replaceAll('{scope}', 'conversation_id = $5 AND tenant_id = $1'),
};
/** How long listEvents waits for committed events held back by older, still running transactions. */
const EVENT_SETTLE_WAIT_MS = 1_000;

/**
 * PostgreSQL's hot paths, one round trip each: an append without dedup keys is one data-modifying statement
 * (`queries/append-fast.sql`), any other append the function `colloquy_append`, an inbound message the function
 * `colloquy_ingest` (migrations 0001 and 0004). Also its event log, delivered in (transaction id, id) order.
 */
export function postgresHotPath(pool: Pool, tables: Tables) {
  const query = async (config: QueryConfig): Promise<Row[]> => (await pool.query(config)).rows;
  const messageArgs = (m: NewMessage) => [m.id, m.role, m.content, m.externalId, m.idempotencyKey, m.status, packExtra(m), m.createdAt];

  async function append(tenant: string, conversationId: string, m: NewMessage): Promise<AppendResult> {
    if (m.idempotencyKey === null && m.externalId === null) {
      // The UPDATE takes the conversation's row lock; a concurrent append waits for it, then re-reads the row
      // (READ COMMITTED), so seq stays gapless.
      const rows = await query({ name: 'colloquy_append_fast', text: APPEND_FAST, values: [tenant, conversationId, ...messageArgs(m)] });
      if (rows[0]) {
        const created = iso(m.createdAt);
        return {
          message: {
            id: m.id, conversationId, seq: rows[0].seq, role: m.role, content: m.content, parts: m.parts, externalId: null, idempotencyKey: null,
            status: m.status, statusAt: created, intent: m.intent, confidence: m.confidence, entities: m.entities, metadata: m.metadata, sender: m.sender, error: null, edits: null, tokens: m.tokens, usage: m.usage, createdAt: created,
          },
          duplicate: false,
        };
      }
      // No row: the conversation is missing or closed; the function below says which.
    }
    const row = (await query({
      name: 'colloquy_append',
      text: 'SELECT * FROM colloquy_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      values: [tenant, conversationId, ...messageArgs(m)],
    }))[0]!;
    if (row.outcome === 'not_found') throw notFound('conversation', conversationId);
    if (row.outcome === 'closed') throw conversationClosed(conversationId);
    return { message: tables.messages.fromRow(row), duplicate: row.outcome === 'duplicate' };
  }

  async function ingest(tenant: string, input: NewInbound): Promise<IngestResult> {
    const m = input.message;
    const row = (await query({
      name: 'colloquy_ingest',
      text: 'SELECT * FROM colloquy_ingest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
      values: [tenant, input.channelId, input.address, input.name, input.contactId, input.conversationId, m.id, m.content,
        m.externalId, m.status, packExtra(m), m.createdAt, input.now],
    }))[0]!;
    if (row.outcome === 'channel_not_found') throw notFound('channel', input.channelId);
    const conversation = tables.conversations.fromRow(row.conversation);
    return {
      message: tables.messages.fromRow({ ...row, conversation_id: conversation.id }), conversation,
      duplicate: row.outcome === 'duplicate', created: row.created, reopened: row.reopened,
    };
  }

  const eraseEvents: EraseEvents = async (sql, tenant, conversationIds, event) => {
    // After the rows' cascade: a new statement also sees events that concurrent writers committed meanwhile.
    await sql.run('DELETE FROM events WHERE conversation_id = ANY(?::uuid[])', [conversationIds]);
    await writeEvent(sql, tenant, event);
  };

  async function listEvents(tenant: string, options: { after?: string | undefined; limit: number; conversationId?: string | undefined }): Promise<StoreEvent[]> {
    const [tx0, id0] = parseEventCursor(options.after);
    const text = options.conversationId ? EVENTS.conversation : EVENTS.tenant;
    const values = [tenant, tx0, id0, options.limit, ...(options.conversationId ? [options.conversationId] : [])];
    // Only the settled prefix is returned (queries/events-after.sql). Committed events held back by an older
    // transaction still running are usually released within milliseconds: wait a little for them so that a
    // reader sees its own writes, but never return an unsettled event.
    const deadline = Date.now() + EVENT_SETTLE_WAIT_MS;
    for (;;) {
      const rows = (await pool.query(text, values)).rows as Row[];
      const settled = rows.findIndex((row) => !row.settled);
      if (settled === -1 || Date.now() >= deadline) {
        return rows.slice(0, settled === -1 ? rows.length : settled).map((row) => ({
          id: `${row.tx_text}-${row.id}`, type: row.type, conversationId: row.conversation_id, data: row.data, createdAt: iso(row.created_at),
        }));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  /** The tenant's newest settled event: its next events to be delivered come after it. */
  async function eventsHead(tenant: string): Promise<string | null> {
    const row = (await pool.query(`SELECT tx::text AS tx, id FROM events WHERE tenant_id = $1 AND tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx DESC, id DESC LIMIT 1`, [tenant])).rows[0] as Row | undefined;
    return row ? `${row.tx}-${row.id}` : null;
  }

  return { append, ingest, eraseEvents, listEvents, eventsHead };
}

/** Event ids in delivery order, (transaction id, id) (null: the log's start). */
export function compareEventIds(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const [ta, ia] = parseEventCursor(a);
  const [tb, ib] = parseEventCursor(b);
  const tx = BigInt(ta) - BigInt(tb);
  return tx < 0n ? -1 : tx > 0n ? 1 : ia - ib;
}

function parseEventCursor(after: string | undefined): [string, number] {
  if (after === undefined) return ['0', 0];
  const match = /^(\d{1,19})-(\d{1,18})$/.exec(after);
  if (!match) throw badEventCursor(after);
  return [match[1]!, Number(match[2])];
}
