import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  AgentSchema, ChannelSchema, ContactSchema, ConversationSchema, ConversationStateSchema, MessageSchema,
  type Agent, type Channel, type Contact, type Conversation, type ConversationState, type Message,
} from '../../domain/entities.js';
import { describeErrors, findBadText } from '../../domain/validate.js';
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
  | { kind: 'channel'; tenant: string; data: Channel; secrets?: Record<string, string>; idempotencyKey?: string; idempotencyHash?: string }
  | { kind: 'agent'; tenant: string; data: Agent }
  | { kind: 'contact'; tenant: string; data: Contact }
  | { kind: 'conversation'; tenant: string; data: Conversation & { state: ConversationState } }
  | { kind: 'message'; tenant: string; data: Message };

export const PORTABLE_KINDS = ['channel', 'agent', 'contact', 'conversation', 'message'] as const;

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Each kind's data in the API's own shape: a record that does not match is refused before anything is written.
const shape = (schema: TSchema) => ({ schema, check: Compile(schema) });
const SHAPES = {
  channel: [shape(ChannelSchema)],
  agent: [shape(AgentSchema)],
  contact: [shape(ContactSchema)],
  conversation: [shape(ConversationSchema), shape(Type.Object({ state: ConversationStateSchema }))],
  message: [shape(MessageSchema)],
};

/**
 * Fields added since 0.1's first exports, with the value a record without them has: an older export is filled in
 * (as a row without them reads) and imports.
 */
const ADDED: Partial<Record<(typeof PORTABLE_KINDS)[number], Record<string, unknown>>> = {
  conversation: { agentPaused: false, chatId: null },
  message: { sender: null, error: null, edits: null, tokens: null, usage: null },
};

/** What is wrong with a record, or undefined: its envelope, then its data against its kind's schema. Fills in the fields an older export lacks. */
export function portableProblem(record: unknown): string | undefined {
  const r = record as { kind?: unknown; tenant?: unknown; data?: { id?: unknown }; idempotencyKey?: unknown } | null;
  if (!r || typeof r !== 'object') return 'is not an object';
  if (!PORTABLE_KINDS.includes(r.kind as never)) return `has an unknown kind ${JSON.stringify(r.kind)}`;
  if (typeof r.tenant !== 'string' || !TENANT.test(r.tenant)) return 'has an invalid tenant';
  if (!r.data || typeof r.data !== 'object' || typeof r.data.id !== 'string' || !UUID.test(r.data.id)) return 'has no data with a UUID id';
  for (const [field, value] of Object.entries(ADDED[r.kind as keyof typeof ADDED] ?? {})) {
    if (!(field in r.data)) (r.data as Record<string, unknown>)[field] = value;
  }
  for (const { schema, check } of SHAPES[r.kind as keyof typeof SHAPES]) {
    if (!check.Check(r.data)) {
      const [first] = describeErrors(schema, [...check.Errors(r.data)]);
      return `has a ${r.kind} whose ${first ? `${first.path} ${first.message}` : 'data does not match its schema'}`;
    }
  }
  const bad = findBadText(r.data, '');
  if (bad) return `has a ${r.kind} whose ${bad.path} ${bad.message}`;
  if (r.idempotencyKey !== undefined && (typeof r.idempotencyKey !== 'string' || r.idempotencyKey.length > 300)) return 'has an invalid idempotencyKey';
  const hash = (r as { idempotencyHash?: unknown }).idempotencyHash;
  if (hash !== undefined && (typeof hash !== 'string' || hash.length > 100)) return 'has an invalid idempotencyHash';
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
    for (const row of rows) {
      yield { kind: 'channel', tenant: row.tenant_id, data: tables.channels.fromRow(row), secrets: tables.channelSecrets(row), ...(row.idempotency_key ? { idempotencyKey: row.idempotency_key } : {}), ...(row.idempotency_hash ? { idempotencyHash: row.idempotency_hash } : {}) };
    }
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

export type { Row };
