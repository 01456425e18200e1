import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  AgentSchema, ChannelSchema, ContactSchema, ConversationSchema, ConversationStateSchema, MessageSchema,
  type Agent, type Channel, type Contact, type Conversation, type ConversationState, type JsonObject, type Message,
} from '../../domain/entities.js';
import { AlertRulesSchema, AlertSettingsSchema } from '../../domain/alert.js';
import { BUDGET_SCOPE, BudgetSchema } from '../../domain/budget.js';
import { assertEventPatterns, webhookUrl } from '../../domain/webhook.js';
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
  | { kind: 'channel'; tenant: string; data: Channel; secrets?: Record<string, string>; sealed?: boolean; idempotencyKey?: string; idempotencyHash?: string }
  | { kind: 'agent'; tenant: string; data: Agent }
  | { kind: 'contact'; tenant: string; data: Contact }
  | { kind: 'conversation'; tenant: string; data: Conversation & { state: ConversationState } }
  | { kind: 'message'; tenant: string; data: Message }
  | BackupRecord;

/**
 * What only a backup holds (`colloquy serve --backup-dir`, `exportRecords({ backup: true })`), so that a restore is
 * complete: the database's sealing salt and check value (secrets stay sealed as stored, readable with the same
 * COLLOQUY_SECRET_KEY), API keys by their hashes, webhook endpoints with their sealed secrets, budgets and alert
 * settings. Channel records of a backup carry their secrets sealed (`sealed: true`).
 */
export type BackupRecord =
  | { kind: 'setting'; tenant: '*'; data: { name: 'secret_key_salt' | 'secret_key_check'; value: string } }
  | { kind: 'apiKey'; tenant: string; data: { id: string; name: string; prefix: string; hash: string; createdAt: string; expiresAt: string | null; revokedAt: string | null } }
  | { kind: 'webhook'; tenant: string; data: { id: string; url: string; events: string[]; description: string | null; enabled: boolean; secrets: Array<{ value: string; expiresAt: number | null }>; createdAt: string; updatedAt: string } }
  | { kind: 'budget'; tenant: string; data: { scope: string; config: JsonObject; createdAt: string; updatedAt: string } }
  | { kind: 'alertSettings'; tenant: string; data: { rules: JsonObject; emails: string[]; updatedAt: string } };

export const PORTABLE_KINDS = ['channel', 'agent', 'contact', 'conversation', 'message', 'setting', 'apiKey', 'webhook', 'budget', 'alertSettings'] as const;
const BACKUP_KINDS = new Set(['setting', 'apiKey', 'webhook', 'budget', 'alertSettings']);

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Each kind's data in the API's own shape: a record that does not match is refused before anything is written.
const shape = (schema: TSchema) => ({ schema, check: Compile(schema) });
const Iso = Type.String({ format: 'date-time' });
/** A secret as a database stores it: in the clear behind `plain:`, or sealed (`v1:`). */
const SEALED = /^(plain:|v1:)/;
const Id = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Text = (max: number) => Type.String({ maxLength: max });
const SHAPES = {
  channel: [shape(ChannelSchema)],
  agent: [shape(AgentSchema)],
  contact: [shape(ContactSchema)],
  conversation: [shape(ConversationSchema), shape(Type.Object({ state: ConversationStateSchema }))],
  message: [shape(MessageSchema)],
  setting: [shape(Type.Object({ name: Type.Union([Type.Literal('secret_key_salt'), Type.Literal('secret_key_check')]), value: Text(1000) }, { additionalProperties: false }))],
  apiKey: [shape(Type.Object({
    id: Id, name: Text(200), prefix: Text(100), hash: Type.String({ pattern: '^[0-9a-f]{64}$' }), createdAt: Iso, expiresAt: Type.Union([Iso, Type.Null()]), revokedAt: Type.Union([Iso, Type.Null()]),
  }, { additionalProperties: false }))],
  webhook: [shape(Type.Object({
    id: Id, url: Text(2048), events: Type.Array(Text(64), { maxItems: 100 }), description: Type.Union([Text(500), Type.Null()]), enabled: Type.Boolean(),
    secrets: Type.Array(Type.Object({ value: Type.String({ maxLength: 1000, pattern: SEALED.source }), expiresAt: Type.Union([Type.Integer(), Type.Null()]) }, { additionalProperties: false }), { minItems: 1, maxItems: 2 }),
    createdAt: Iso, updatedAt: Iso,
  }, { additionalProperties: false }))],
  budget: [shape(Type.Object({ scope: Type.String({ pattern: BUDGET_SCOPE.source }), config: BudgetSchema, createdAt: Iso, updatedAt: Iso }, { additionalProperties: false }))],
  alertSettings: [shape(Type.Object({ rules: AlertRulesSchema, emails: AlertSettingsSchema.properties.emails, updatedAt: Iso }, { additionalProperties: false }))],
};

/**
 * Fields added since 0.1's first exports, with the value a record without them has: an older export is filled in
 * (as a row without them reads) and imports.
 */
const ADDED: Partial<Record<(typeof PORTABLE_KINDS)[number], Record<string, unknown>>> = {
  conversation: { agentPaused: false, chatId: null, readSeq: 0 },
  message: { sender: null, error: null, edits: null, tokens: null, usage: null },
};

/** What is wrong with a record, or undefined: its envelope, then its data against its kind's schema. Fills in the fields an older export lacks. */
export function portableProblem(record: unknown): string | undefined {
  const r = record as { kind?: unknown; tenant?: unknown; data?: { id?: unknown }; idempotencyKey?: unknown } | null;
  if (!r || typeof r !== 'object') return 'is not an object';
  if (!PORTABLE_KINDS.includes(r.kind as never)) return `has an unknown kind ${JSON.stringify(r.kind)}`;
  if (r.kind === 'setting' ? r.tenant !== '*' : typeof r.tenant !== 'string' || !TENANT.test(r.tenant)) return 'has an invalid tenant';
  if (!r.data || typeof r.data !== 'object') return 'has no data';
  if (!BACKUP_KINDS.has(r.kind as string) && (typeof r.data.id !== 'string' || !UUID.test(r.data.id))) return 'has no data with a UUID id';
  for (const [field, value] of Object.entries(ADDED[r.kind as keyof typeof ADDED] ?? {})) {
    if (!(field in r.data)) (r.data as Record<string, unknown>)[field] = value;
  }
  if (r.kind === 'conversation') {
    // Derived, never taken from the file (nor imported): what the row it becomes will read.
    const c = r.data as { lastSeq?: unknown; readSeq?: unknown; unreadCount?: unknown };
    if (typeof c.lastSeq === 'number' && typeof c.readSeq === 'number') {
      if (c.readSeq < 0 || c.readSeq > c.lastSeq) return `has a conversation whose readSeq ${c.readSeq} is not between 0 and its lastSeq ${c.lastSeq}`;
      c.unreadCount = c.lastSeq - c.readSeq;
    }
  }
  for (const { schema, check } of SHAPES[r.kind as keyof typeof SHAPES]) {
    if (!check.Check(r.data)) {
      const [first] = describeErrors(schema, [...check.Errors(r.data)]);
      return `has a ${r.kind} whose ${first ? `${first.path} ${first.message}` : 'data does not match its schema'}`;
    }
  }
  if (r.kind === 'webhook') {
    const w = r.data as unknown as { url: string; events: string[] };
    try {
      webhookUrl(w.url);
      assertEventPatterns(w.events);
    } catch (error) {
      return `has a webhook whose ${(error as Error).message}`;
    }
  }
  const sealed = (r as { sealed?: unknown }).sealed;
  if (sealed !== undefined && sealed !== true) return 'has a sealed flag that is not true';
  if (sealed === true && Object.values((r as { secrets?: Record<string, unknown> }).secrets ?? {}).some((v) => typeof v !== 'string' || !SEALED.test(v))) {
    return 'has sealed secrets that are not as a database stores them';
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
export async function* exportRecords(sql: SqlRunner, tables: Tables, options: { backup?: boolean } = {}): AsyncGenerator<PortableRecord> {
  const iso = (ms: unknown) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());
  const byId = async function* (select: string) {
    for (let after = START; ;) {
      const rows = await sql.all(`${select} WHERE x.id > ? ORDER BY x.id LIMIT ${PAGE}`, [after]);
      yield rows;
      if (rows.length < PAGE) return;
      after = rows.at(-1)!.id;
    }
  };
  if (options.backup) {
    for (const name of ['secret_key_salt', 'secret_key_check'] as const) {
      const row = await sql.one('SELECT value FROM colloquy_settings WHERE name = ?', [name]);
      if (row) yield { kind: 'setting', tenant: '*', data: { name, value: row.value } };
    }
    // Keys early: a restore cut short never leaves the data without them (a database that never had keys runs open).
    for await (const rows of byId('SELECT x.* FROM api_keys x')) {
      for (const row of rows) {
        yield { kind: 'apiKey', tenant: row.tenant_id, data: { id: row.id, name: row.name, prefix: row.prefix, hash: row.hash, createdAt: iso(row.created_at)!, expiresAt: iso(row.expires_at), revokedAt: iso(row.revoked_at) } };
      }
    }
  }
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
    if (rows.length < PAGE) break;
    after = [rows.at(-1)!.conversation_id, rows.at(-1)!.seq];
  }
  if (!options.backup) return;
  for await (const rows of byId('SELECT x.* FROM webhook_endpoints x')) {
    for (const row of rows) {
      yield { kind: 'webhook', tenant: row.tenant_id, data: {
        id: row.id, url: row.url, events: parse(row.events), description: row.description ?? null, enabled: Boolean(row.enabled),
        secrets: parse(row.secrets), createdAt: iso(row.created_at)!, updatedAt: iso(row.updated_at)!,
      } };
    }
  }
  for (const row of await sql.all('SELECT * FROM budgets ORDER BY tenant_id, scope', [])) {
    yield { kind: 'budget', tenant: row.tenant_id, data: { scope: row.scope, config: parse(row.config), createdAt: iso(row.created_at)!, updatedAt: iso(row.updated_at)! } };
  }
  for (const row of await sql.all('SELECT * FROM alert_settings ORDER BY tenant_id', [])) {
    yield { kind: 'alertSettings', tenant: row.tenant_id, data: { rules: parse(row.rules), emails: parse(row.emails), updatedAt: iso(row.updated_at)! } };
  }
}

/** A JSON column: text on SQLite, parsed already on PostgreSQL. */
const parse = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

export type { Row };
