import type { Agent, Channel, Contact, Conversation, ConversationState, Handle, Message } from '../../domain/entities.js';
import { handlesByContact } from './contacts.js';
import type { Row, SqlRunner } from './sql.js';
import { emptyState, type Tables } from './tables.js';

/**
 * The portable form of a database (`colloquy export` / `import`): one JSON object per line, in the API's own
 * shapes, parents before children. Events are not exported: they describe changes made in the source; a
 * target's consumers start from the target's own log. API keys are not exported either.
 *
 * A channel's `secrets` are present only when asked for: in a file their values are in the clear; between the
 * store and the backend they are sealed (`store/secret-box.ts`).
 */
export type PortableRecord =
  | { kind: 'channel'; tenant: string; data: Channel; secrets?: Record<string, string> }
  | { kind: 'agent'; tenant: string; data: Agent }
  | { kind: 'contact'; tenant: string; data: Contact }
  | { kind: 'conversation'; tenant: string; data: Conversation & { state: ConversationState } }
  | { kind: 'message'; tenant: string; data: Message };

export const PORTABLE_KINDS = ['channel', 'agent', 'contact', 'conversation', 'message'] as const;

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is wrong with a record's envelope, or undefined; the database's constraints check the rest. */
export function portableProblem(record: unknown): string | undefined {
  const r = record as { kind?: unknown; tenant?: unknown; data?: { id?: unknown } } | null;
  if (!r || typeof r !== 'object') return 'is not an object';
  if (!PORTABLE_KINDS.includes(r.kind as never)) return `has an unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.tenant !== 'string' || !TENANT.test(r.tenant)) return 'has an invalid tenant';
  if (!r.data || typeof r.data !== 'object' || typeof r.data.id !== 'string' || !UUID.test(r.data.id)) return 'has no data with a UUID id';
  return undefined;
}

const START = '00000000-0000-0000-0000-000000000000';
const PAGE = 1000;

/**
 * Every record of the database, parents before children, paged by key so memory stays flat. `sql` must read
 * one snapshot (the engines open a read-only snapshot transaction for it).
 */
export async function* exportRecords(sql: SqlRunner, tables: Tables): AsyncGenerator<PortableRecord> {
  const byId = async function* (select: string) {
    for (let after = START; ;) {
      const rows = await sql.all(`${select} WHERE x.id > ? ORDER BY x.id LIMIT ${PAGE}`, [after]);
      yield rows;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.id;
    }
  };
  for await (const rows of byId('SELECT x.* FROM channels x')) {
    for (const row of rows) yield { kind: 'channel', tenant: row.tenant_id, data: tables.channels.fromRow(row), secrets: tables.channelSecrets(row) };
  }
  for await (const rows of byId('SELECT x.* FROM agents x')) {
    for (const row of rows) yield { kind: 'agent', tenant: row.tenant_id, data: tables.agents.fromRow(row) };
  }
  for await (const rows of byId('SELECT x.* FROM contacts x')) {
    const handles = await handlesByContact(sql, rows.map((r) => r.id));
    for (const row of rows) yield { kind: 'contact', tenant: row.tenant_id, data: tables.contacts.fromRow(row, handles.get(row.id) ?? []) };
  }
  const conversations = `SELECT x.*, s.state AS s_state, s.previous_state AS s_previous_state, s.data AS s_data,
    s.version AS s_version, s.updated_at AS s_updated_at FROM conversations x LEFT JOIN conversation_states s ON s.conversation_id = x.id`;
  for await (const rows of byId(conversations)) {
    for (const row of rows) {
      const state = row.s_version === null ? emptyState(row.id) : tables.states.fromRow({
        conversation_id: row.id, state: row.s_state, previous_state: row.s_previous_state, data: row.s_data, version: row.s_version, updated_at: row.s_updated_at,
      });
      yield { kind: 'conversation', tenant: row.tenant_id, data: { ...tables.conversations.fromRow(row), state } };
    }
  }
  for (let after: [string, number] = [START, 0]; ;) {
    const rows = await sql.all(`SELECT * FROM messages WHERE (conversation_id, seq) > (?, ?) ORDER BY conversation_id, seq LIMIT ${PAGE}`, after);
    for (const row of rows) yield { kind: 'message', tenant: row.tenant_id, data: tables.messages.fromRow(row) };
    if (rows.length < PAGE) return;
    after = [rows.at(-1)!.conversation_id, rows.at(-1)!.seq];
  }
}

const insertIfAbsent = async (sql: SqlRunner, table: string, columns: readonly string[], values: unknown[]) =>
  (await sql.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`, values)) > 0;

type Owner = 'contacts' | 'channels' | 'agents' | 'conversations';
const owns = async (sql: SqlRunner, table: Owner, tenant: string, id: string) =>
  (await sql.one(`SELECT 1 AS x FROM ${table} WHERE id = ? AND tenant_id = ?`, [id, tenant])) !== undefined;

const TABLE_OF = { channel: 'channels', agent: 'agents', contact: 'contacts', conversation: 'conversations' } as const;
const HANDLE_COLUMNS = ['tenant_id', 'channel', 'address', 'contact_id', 'created_at'];
const handleValues = (tenant: string, contact: Contact, h: Handle) => [tenant, h.channel, h.address, contact.id, Date.parse(contact.createdAt)];

/**
 * Inserts what is absent and leaves what is present, inside the caller's transaction: importing the same file
 * twice changes nothing, and a newer export of the same database adds what is new (conversations' lastSeq
 * follows imported messages). A record whose references are missing or belong to another tenant is skipped,
 * never linked across tenants.
 */
export async function importRecords(sql: SqlRunner, tables: Tables, records: PortableRecord[]): Promise<{ inserted: number; present: number; skipped: number }> {
  const counts = { inserted: 0, present: 0, skipped: 0 };
  const channels = new Map<string, string | null | undefined>();
  const refsOk = async (tenant: string, refs: Array<[Owner, string | null]>) => {
    for (const [table, id] of refs) if (id !== null && !(await owns(sql, table, tenant, id))) return false;
    return true;
  };
  for (const record of records) {
    const t = record.tenant;
    if (record.kind === 'message') {
      const m = record.data;
      const key = `${t}/${m.conversationId}`;
      if (!channels.has(key)) channels.set(key, (await sql.one('SELECT channel_id FROM conversations WHERE id = ? AND tenant_id = ?', [m.conversationId, t]))?.channel_id);
      const channelId = channels.get(key);
      if (channelId === undefined) {
        counts.skipped++; // its conversation is not in this tenant (not imported, or another one is open for the pair)
        continue;
      }
      if (await insertIfAbsent(sql, 'messages', tables.messages.columns, tables.messages.values(m, t, { channelId }))) {
        const at = Date.parse(m.createdAt);
        await sql.run(`UPDATE conversations SET last_seq = greatest(last_seq, ?), last_message_at = greatest(coalesce(last_message_at, 0), ?),
          last_activity_at = greatest(last_activity_at, ?) WHERE id = ?`, [m.seq, at, at, m.conversationId]);
        counts.inserted++;
      } else counts.present++;
      continue;
    }
    if (record.kind === 'conversation') {
      const c = record.data;
      if (!(await refsOk(t, [['contacts', c.contactId], ['channels', c.channelId], ['agents', c.agentId], ['conversations', c.previousConversationId]]))) {
        counts.skipped++;
        continue;
      }
    }
    if (await insertIfAbsent(sql, TABLE_OF[record.kind], ...rowOf(tables, record))) {
      if (record.kind === 'contact') for (const h of record.data.handles) await insertIfAbsent(sql, 'contact_handles', HANDLE_COLUMNS, handleValues(t, record.data, h));
      if (record.kind === 'conversation' && record.data.state.version > 0) {
        await insertIfAbsent(sql, 'conversation_states', tables.states.columns, tables.states.values(record.data.state, t));
      }
      counts.inserted++;
    } else if (await owns(sql, TABLE_OF[record.kind], t, record.data.id)) {
      // Present: a contact may still gain a handle; a conversation keeps its own state.
      if (record.kind === 'contact') for (const h of record.data.handles) await insertIfAbsent(sql, 'contact_handles', HANDLE_COLUMNS, handleValues(t, record.data, h));
      counts.present++;
    } else {
      counts.skipped++; // the id belongs to another tenant, or (conversation) another one is open for the pair
    }
  }
  return counts;
}

function rowOf(tables: Tables, record: Exclude<PortableRecord, { kind: 'message' }>): [readonly string[], unknown[]] {
  const t = record.tenant;
  switch (record.kind) {
    case 'channel': return [tables.channels.columns, tables.channels.values(record.data, t, { secrets: record.secrets ?? {} })];
    case 'agent': return [tables.agents.columns, tables.agents.values(record.data, t)];
    case 'contact': return [tables.contacts.columns, tables.contacts.values(record.data, t)];
    case 'conversation': return [tables.conversations.columns, tables.conversations.values(record.data, t)];
  }
}

export type { Row };
