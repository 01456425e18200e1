import type { TObject, TSchema } from 'typebox';
import { secretFlags } from '../../domain/channel-settings.js';
import {
  AgentSchema,
  ApiKeySchema,
  AuditEntrySchema,
  ChannelSchema,
  ContactSchema,
  ConversationSchema,
  ConversationStateSchema,
  MessageSchema,
  type Agent,
  type ApiKey,
  type AuditEntry,
  type Channel,
  type Contact,
  type Conversation,
  type ConversationState,
  type Handle,
  type Json,
  type JsonObject,
  type Message,
} from '../../domain/entities.js';
import { iso } from '../../domain/time.js';
import type { Row } from './sql.js';

/**
 * Tables, derived from the entity schemas (`domain/entities.ts`): a field `fooBar` is the column `foo_bar`;
 * a `date-time` field is epoch milliseconds in its column, an object, array or any-JSON field is JSON. What a
 * table holds beyond its entity (tenant, packed payloads, secrets) is declared beside it. Row mappers are
 * compiled once per table into plain object literals: reading a page maps every row, and a generic loop over
 * the fields cost a measurable share of it.
 */

type Kind = 'plain' | 'time' | 'json' | 'bool';
interface Column {
  readonly field: string;
  readonly column: string;
  readonly kind: Kind;
  readonly nullable: boolean;
}

interface TableSpec {
  readonly name: string;
  readonly schema: TObject;
  /** Fields not stored in a column of their own. */
  readonly virtual?: readonly string[];
  /** Fields stored together in one JSON column (null when all of them are). */
  readonly packed?: { readonly column: string; readonly fields: readonly string[] };
  /** Columns beyond the entity's, written on import: their values from the record and its tenant. */
  readonly extra?: Readonly<Record<string, (entity: any, tenant: string, more: Row) => unknown>>;
}

export interface Table<E> {
  readonly name: string;
  /** Every column an import writes, in order. */
  readonly columns: readonly string[];
  /** A row (as the driver returns it, every column selected) → the entity. */
  fromRow(row: Row, ...args: unknown[]): E;
  /** The entity → the values of `columns`, times as epoch ms and JSON as text; `more` fills extra columns. */
  values(entity: E, tenant: string, more?: Row): unknown[];
}

export const snake = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function columnsOf(spec: TableSpec): Column[] {
  const skip = new Set([...(spec.virtual ?? []), ...(spec.packed?.fields ?? [])]);
  return Object.entries(spec.schema.properties as Record<string, TSchema & { type?: string | string[]; format?: string }>)
    .filter(([field]) => !skip.has(field))
    .map(([field, schema]) => {
      const types = [schema.type ?? 'any'].flat();
      const kind: Kind = schema.format === 'date-time' ? 'time' : types[0] === 'boolean' ? 'bool'
        : types.some((type) => type === 'object' || type === 'array' || type === 'any') ? 'json' : 'plain';
      return { field, column: snake(field), kind, nullable: types.includes('null') };
    });
}

/**
 * Compiles `(source, json, iso, more, ...args) => entity` reading each column as `read(column)`: a property of
 * a row, or an index of a row read as an array.
 */
function compileReader(spec: TableSpec, read: (column: string) => string, computed: Record<string, string>) {
  const value = (c: Column): string => {
    const raw = read(c.column);
    // A boolean reads back as 1/0 from SQLite.
    const decode = c.kind === 'time' ? `iso(${raw})` : c.kind === 'json' ? `json(${raw})` : c.kind === 'bool' ? `(${raw} === true || ${raw} === 1)` : raw;
    return c.nullable && c.kind !== 'plain' ? `(${raw} === null ? null : ${decode})` : decode;
  };
  const fields = Object.keys(spec.schema.properties).map((field) => {
    const column = columnsOf(spec).find((c) => c.field === field);
    const expression = column ? value(column)
      : spec.packed?.fields.includes(field) ? `(x === null || x.${field} === undefined ? null : x.${field})`
        : computed[field];
    if (expression === undefined) throw new Error(`table ${spec.name}: no source for field ${field}`);
    return `${JSON.stringify(field)}: ${expression}`;
  });
  const packed = spec.packed ? `const x = ${read(spec.packed.column)} === null ? null : json(${read(spec.packed.column)});` : '';
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from our own schemas, once per table
  return new Function('source', 'json', 'iso', 'more', 'arg', `${packed} return { ${fields.join(', ')} };`) as
    (source: unknown, json: (v: unknown) => any, isoOf: typeof iso, more: Record<string, (row: any, arg: unknown) => unknown>, arg: unknown) => any;
}

function defineTable<E>(spec: TableSpec, json: (value: unknown) => any, computed: Record<string, (row: Row, arg: unknown) => unknown> = {}): Table<E> {
  const own = columnsOf(spec);
  const computedSource = Object.fromEntries(Object.keys(computed).map((field) => [field, `more.${field}(source, arg)`]));
  const reader = compileReader(spec, (column) => `source[${JSON.stringify(column)}]`, computedSource);
  const columns = [...own.map((c) => c.column), ...(spec.packed ? [spec.packed.column] : []), ...Object.keys(spec.extra ?? {})];
  const packedOf = spec.packed && ((entity: Row) => {
    const present = spec.packed!.fields.filter((field) => entity[field] !== null && entity[field] !== undefined);
    return present.length ? JSON.stringify(Object.fromEntries(present.map((field) => [field, entity[field]]))) : null;
  });
  return {
    name: spec.name,
    columns,
    fromRow: (row, arg) => reader(row, json, iso, computed, arg),
    values(entity, tenant, more = {}) {
      const e = entity as Row;
      return [
        ...own.map((c) => {
          const v = e[c.field];
          if (v === null || v === undefined) return null;
          return c.kind === 'time' ? Date.parse(v) : c.kind === 'json' ? JSON.stringify(v) : v;
        }),
        ...(packedOf ? [packedOf(e)] : []),
        ...Object.values(spec.extra ?? {}).map((fill) => fill(e, tenant, more)),
      ];
    },
  };
}

const MESSAGE_SPEC: TableSpec = {
  name: 'messages',
  schema: MessageSchema,
  // The optional payload in one JSON column: fewer columns make the hot newest-page read markedly cheaper.
  packed: { column: 'extra', fields: ['parts', 'intent', 'confidence', 'entities', 'metadata', 'sender', 'error', 'edits', 'tokens', 'usage'] },
  extra: { tenant_id: (_m, tenant) => tenant, channel_id: (_m, _t, more) => more.channelId ?? null },
};

/** The message columns a page read selects, in order, for readers that take rows as arrays. */
export const MESSAGE_READ_COLUMNS = ['id', 'seq', 'role', 'content', 'external_id', 'idempotency_key', 'status', 'status_at', 'extra', 'created_at'] as const;

/** The optional payload of a message as stored in `extra`, or null when it has none. */
export function packExtra(m: { parts: Json[] | null; intent: string | null; confidence: number | null; entities: Json | null; metadata: JsonObject | null; sender?: string | null; error?: Json | null; edits?: Json | null; tokens?: number | null; usage?: Json | null }): string | null {
  if (m.parts === null && m.intent === null && m.confidence === null && m.entities === null && m.metadata === null && !m.sender && !m.error && !m.edits && m.tokens == null && !m.usage) return null;
  const extra: Row = {};
  for (const field of MESSAGE_SPEC.packed!.fields) if ((m as Row)[field] !== null && (m as Row)[field] !== undefined) extra[field] = (m as Row)[field];
  return JSON.stringify(extra);
}

/** The tables of one engine, their JSON columns decoded by `json`. */
export function createTables(json: (value: unknown) => any) {
  const messages = defineTable<Message>(MESSAGE_SPEC, json);
  const arrayIndex = new Map(MESSAGE_READ_COLUMNS.map((column, i) => [column as string, i]));
  const messageFromArray = compileReader(MESSAGE_SPEC, (column) => (column === 'conversation_id' ? 'arg' : `source[${arrayIndex.get(column)}]`), {});
  return {
    contacts: defineTable<Contact>({
      name: 'contacts', schema: ContactSchema, virtual: ['handles'], extra: { tenant_id: (_c, tenant) => tenant },
    }, json, { handles: (_row, handles) => handles as Handle[] }),
    channels: defineTable<Channel>({
      name: 'channels', schema: ChannelSchema, virtual: ['secrets'],
      extra: {
        tenant_id: (_c, tenant) => tenant,
        reopen_window_ms: (c: Channel) => c.config.reopenWindowSeconds * 1000,
        secrets: (_c, _t, more) => JSON.stringify(more.secrets ?? {}),
        idempotency_key: (_c, _t, more) => more.idempotencyKey ?? null,
        idempotency_hash: (_c, _t, more) => more.idempotencyHash ?? null,
      },
    }, json, { secrets: (row) => secretFlags(json(row.secrets)) }),
    /** A channel row's sealed secrets, as stored. */
    channelSecrets: (row: Row): Record<string, string> => json(row.secrets) ?? {},
    // The unread count is derived from the row (never a column): it cannot drift from last_seq and read_seq.
    conversations: defineTable<Conversation>({
      name: 'conversations', schema: ConversationSchema, virtual: ['unreadCount'], extra: { tenant_id: (_c, tenant) => tenant },
    }, json, { unreadCount: (row) => Number(row.last_seq) - Number(row.read_seq) }),
    messages,
    /** A page row read as an array of MESSAGE_READ_COLUMNS. */
    messageFromArray: (values: unknown[], conversationId: string): Message => messageFromArray(values, json, iso, {}, conversationId),
    states: defineTable<ConversationState>({ name: 'conversation_states', schema: ConversationStateSchema, extra: { tenant_id: (_s, tenant) => tenant } }, json),
    agents: defineTable<Agent>({ name: 'agents', schema: AgentSchema, extra: { tenant_id: (_a, tenant) => tenant } }, json),
    keys: defineTable<ApiKey>({ name: 'api_keys', schema: ApiKeySchema }, json),
    audit: defineTable<AuditEntry>({ name: 'audit_log', schema: AuditEntrySchema }, json),
  };
}

export type Tables = ReturnType<typeof createTables>;

/** The state of a conversation that was never written: version 0. */
export const emptyState = (conversationId: string): ConversationState => ({
  conversationId, state: null, previousState: null, data: {}, version: 0, updatedAt: null,
});
