import type { Agent, Channel, Contact, Conversation, ConversationState, Message } from '../domain/types.js';
import { packExtra, type Row } from './rows.js';

/**
 * The portable form of a database (`colloquy export` / `import`): one JSON object per line, in the API's own
 * shapes, parents before children. Events are not exported: they describe changes made in the source; a
 * target's consumers start from the target's own log. API keys are not exported either.
 */
export type PortableRecord =
  | { kind: 'channel'; tenant: string; data: Channel }
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

/** One row to insert if absent: `table`, its columns and values (times as epoch ms, JSON as text). */
export interface PortableRow {
  table: string;
  columns: string[];
  values: unknown[];
}

const ms = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
const json = (value: unknown): string => JSON.stringify(value);

/** The rows a record becomes; the conversation's id is returned for messages so importers can skip orphans. */
export function rowsOf(record: PortableRecord): PortableRow[] {
  const t = record.tenant;
  switch (record.kind) {
    case 'channel': {
      const c = record.data;
      return [{ table: 'channels', columns: ['id', 'tenant_id', 'kind', 'name', 'config', 'reopen_window_ms', 'created_at', 'updated_at'],
        values: [c.id, t, c.kind, c.name, json(c.config), c.config.reopenWindowSeconds * 1000, ms(c.createdAt), ms(c.updatedAt)] }];
    }
    case 'agent': {
      const a = record.data;
      return [{ table: 'agents', columns: ['id', 'tenant_id', 'name', 'instructions', 'model', 'params', 'metadata', 'created_at', 'updated_at'],
        values: [a.id, t, a.name, a.instructions, a.model, json(a.params), json(a.metadata), ms(a.createdAt), ms(a.updatedAt)] }];
    }
    case 'contact': {
      const c = record.data;
      return [
        { table: 'contacts', columns: ['id', 'tenant_id', 'name', 'metadata', 'created_at', 'updated_at'],
          values: [c.id, t, c.name, json(c.metadata), ms(c.createdAt), ms(c.updatedAt)] },
        ...c.handles.map((h) => ({ table: 'contact_handles', columns: ['tenant_id', 'channel', 'address', 'contact_id', 'created_at'],
          values: [t, h.channel, h.address, c.id, ms(c.createdAt)] })),
      ];
    }
    case 'conversation': {
      const c = record.data;
      const rows: PortableRow[] = [{
        table: 'conversations',
        columns: ['id', 'tenant_id', 'contact_id', 'channel_id', 'agent_id', 'previous_conversation_id', 'status', 'title', 'metadata', 'version',
          'last_seq', 'created_at', 'updated_at', 'last_activity_at', 'last_message_at', 'closed_at'],
        values: [c.id, t, c.contactId, c.channelId, c.agentId, c.previousConversationId, c.status, c.title, json(c.metadata), c.version,
          c.lastSeq, ms(c.createdAt), ms(c.updatedAt), ms(c.lastActivityAt), ms(c.lastMessageAt), ms(c.closedAt)],
      }];
      const s = c.state;
      if (s.version > 0) {
        rows.push({ table: 'conversation_states', columns: ['conversation_id', 'tenant_id', 'state', 'previous_state', 'data', 'version', 'updated_at'],
          values: [c.id, t, s.state, s.previousState, json(s.data), s.version, ms(s.updatedAt)] });
      }
      return rows;
    }
    case 'message': {
      const m = record.data;
      return [{
        table: 'messages',
        columns: ['conversation_id', 'seq', 'id', 'tenant_id', 'channel_id', 'role', 'content', 'external_id', 'idempotency_key', 'status',
          'status_at', 'extra', 'created_at'],
        // channel_id is filled in by the importer from the conversation.
        values: [m.conversationId, m.seq, m.id, t, null, m.role, m.content, m.externalId, m.idempotencyKey, m.status, ms(m.statusAt),
          packExtra(m), ms(m.createdAt)],
      }];
    }
  }
}

const START = '00000000-0000-0000-0000-000000000000';
const PAGE = 1000;

export interface ExportSource {
  /** Runs a read with `?` placeholders inside the export's snapshot. */
  all(sql: string, values: unknown[]): Promise<Row[]>;
  /** SQL for a contact's handles as a JSON array text/value column named handles_json. */
  readonly handlesJson: string;
  readonly map: RowMappersLike;
}

interface RowMappersLike {
  channel(row: Row): Channel;
  agent(row: Row): Agent;
  contact(row: Row, handles: Contact['handles']): Contact;
  conversation(row: Row): Conversation;
  state(row: Row): ConversationState;
  message(row: Row): Message;
}

/** Every record of the database, parents before children, paged by key so memory stays flat. */
export async function* exportRecords(source: ExportSource): AsyncGenerator<PortableRecord> {
  const { map } = source;
  const byId = async function* (sql: string) {
    for (let after = START; ;) {
      const rows = await source.all(`${sql} WHERE x.id > ? ORDER BY x.id LIMIT ${PAGE}`, [after]);
      yield* rows;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.id;
    }
  };
  for await (const row of byId('SELECT x.* FROM channels x')) yield { kind: 'channel', tenant: row.tenant_id, data: map.channel(row) };
  for await (const row of byId('SELECT x.* FROM agents x')) yield { kind: 'agent', tenant: row.tenant_id, data: map.agent(row) };
  for await (const row of byId(`SELECT x.*, ${source.handlesJson} AS handles_json FROM contacts x`)) {
    const handles = typeof row.handles_json === 'string' ? JSON.parse(row.handles_json) : row.handles_json;
    yield { kind: 'contact', tenant: row.tenant_id, data: map.contact(row, handles) };
  }
  const conversations = `SELECT x.*, s.state AS s_state, s.previous_state AS s_previous_state, s.data AS s_data,
    s.version AS s_version, s.updated_at AS s_updated_at FROM conversations x LEFT JOIN conversation_states s ON s.conversation_id = x.id`;
  for await (const row of byId(conversations)) {
    const state = row.s_version === null
      ? { conversationId: row.id, state: null, previousState: null, data: {}, version: 0, updatedAt: null }
      : map.state({ conversation_id: row.id, state: row.s_state, previous_state: row.s_previous_state, data: row.s_data, version: row.s_version, updated_at: row.s_updated_at });
    yield { kind: 'conversation', tenant: row.tenant_id, data: { ...map.conversation(row), state } };
  }
  for (let after: [string, number] = [START, 0]; ;) {
    const rows = await source.all(`SELECT * FROM messages WHERE (conversation_id, seq) > (?, ?) ORDER BY conversation_id, seq LIMIT ${PAGE}`, after);
    for (const row of rows) yield { kind: 'message', tenant: row.tenant_id, data: map.message(row) };
    if (rows.length < PAGE) return;
    after = [rows.at(-1)!.conversation_id, rows.at(-1)!.seq];
  }
}

export interface ImportTarget {
  /** Inserts the row unless its key exists; true when a row was inserted. Runs inside the import's transaction. */
  insertIfAbsent(row: PortableRow): Promise<boolean>;
  /** The channel of a conversation of the tenant, or undefined when that conversation does not exist. */
  conversationChannel(tenant: string, id: string): Promise<string | null | undefined>;
  /** Whether a row with this id exists in `table` and belongs to `tenant`. */
  owns(table: 'contacts' | 'channels' | 'agents' | 'conversations', tenant: string, id: string): Promise<boolean>;
  /** Moves a conversation's lastSeq and activity times forward to cover an imported message. */
  advance(conversationId: string, seq: number, at: number): Promise<void>;
}

const TABLE_OF = { channel: 'channels', agent: 'agents', contact: 'contacts', conversation: 'conversations' } as const;

/**
 * Inserts what is absent and leaves what is present: importing the same file twice changes nothing, and a
 * newer export of the same database adds what is new (conversations' lastSeq follows imported messages).
 * A record whose references are missing or belong to another tenant is skipped, never linked across tenants.
 */
export async function importRecords(target: ImportTarget, records: PortableRecord[]): Promise<{ inserted: number; present: number; skipped: number }> {
  const counts = { inserted: 0, present: 0, skipped: 0 };
  const channels = new Map<string, string | null | undefined>();
  const refsOk = async (tenant: string, refs: Array<['contacts' | 'channels' | 'agents' | 'conversations', string | null]>) => {
    for (const [table, id] of refs) if (id !== null && !(await target.owns(table, tenant, id))) return false;
    return true;
  };
  for (const record of records) {
    const [first, ...children] = rowsOf(record);
    if (record.kind === 'message') {
      const key = `${record.tenant}/${record.data.conversationId}`;
      if (!channels.has(key)) channels.set(key, await target.conversationChannel(record.tenant, record.data.conversationId));
      const channel = channels.get(key);
      if (channel === undefined) {
        counts.skipped++; // its conversation is not in this tenant (not imported, or another one is open for the pair)
        continue;
      }
      first!.values[4] = channel;
      if (await target.insertIfAbsent(first!)) {
        await target.advance(record.data.conversationId, record.data.seq, Date.parse(record.data.createdAt));
        counts.inserted++;
      } else counts.present++;
      continue;
    }
    if (record.kind === 'conversation') {
      const c = record.data;
      const refs = await refsOk(record.tenant, [['contacts', c.contactId], ['channels', c.channelId], ['agents', c.agentId], ['conversations', c.previousConversationId]]);
      if (!refs) {
        counts.skipped++;
        continue;
      }
    }
    if (await target.insertIfAbsent(first!)) {
      for (const child of children) await target.insertIfAbsent(child);
      counts.inserted++;
    } else if (await target.owns(TABLE_OF[record.kind], record.tenant, record.data.id)) {
      // Present: a contact may still gain a handle; a conversation keeps its own state.
      if (record.kind === 'contact') for (const child of children) await target.insertIfAbsent(child);
      counts.present++;
    } else {
      counts.skipped++; // the id belongs to another tenant, or (conversation) another one is open for the pair
    }
  }
  return counts;
}
