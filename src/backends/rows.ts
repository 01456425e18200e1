import type {
  Agent,
  ApiKey,
  Channel,
  ChannelConfig,
  Contact,
  Conversation,
  ConversationState,
  Handle,
  Json,
  JsonObject,
  Message,
} from '../domain/types.js';

/**
 * Row → entity mapping shared by the SQL backends: both use the same snake_case column names.
 * `json` decodes a JSON column (text on SQLite, already parsed jsonb on PostgreSQL).
 */
export type Row = Record<string, any>;

const DAY = 86_400_000;
const MAX_FOUR_DIGIT_YEAR = 253_402_300_800_000; // 10000-01-01T00:00:00.000Z
let cachedDay = Number.NaN;
let cachedPrefix = '';
const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * Epoch ms → ISO-8601, exactly as Date#toISOString. Reading a page formats two timestamps per message, and
 * toISOString costs about as much as the rest of the mapping, so the date part is cached per day.
 */
export function iso(ms: number): string {
  if (!(ms >= 0 && ms < MAX_FOUR_DIGIT_YEAR && Number.isInteger(ms))) return new Date(ms).toISOString();
  const day = ms - (ms % DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day).toISOString().slice(0, 11);
  }
  let rest = ms - day;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${cachedPrefix}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${pad3(rest - seconds * 1000)}Z`;
}
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export interface RowMappers {
  contact(row: Row, handles: Handle[]): Contact;
  channel(row: Row): Channel;
  conversation(row: Row): Conversation;
  message(row: Row): Message;
  state(row: Row): ConversationState;
  agent(row: Row): Agent;
}

export function createRowMappers(json: (value: unknown) => any): RowMappers {
  return {
    contact: (row, handles) => ({
      id: row.id,
      name: row.name,
      handles,
      metadata: json(row.metadata),
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    }),
    channel: (row) => ({
      id: row.id,
      kind: row.kind,
      name: row.name,
      config: json(row.config) as ChannelConfig,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    }),
    conversation: (row) => ({
      id: row.id,
      contactId: row.contact_id,
      channelId: row.channel_id,
      agentId: row.agent_id,
      previousConversationId: row.previous_conversation_id,
      status: row.status,
      title: row.title,
      metadata: json(row.metadata),
      version: row.version,
      lastSeq: row.last_seq,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
      lastActivityAt: iso(row.last_activity_at),
      lastMessageAt: isoOrNull(row.last_message_at),
      closedAt: isoOrNull(row.closed_at),
    }),
    message: (row) => messageOf(row.id, row.conversation_id, row.seq, row.role, row.content, row.external_id,
      row.idempotency_key, row.status, row.status_at, row.extra === null ? null : json(row.extra), row.created_at),
    state: (row) => ({
      conversationId: row.conversation_id,
      state: row.state,
      previousState: row.previous_state,
      data: json(row.data),
      version: row.version,
      updatedAt: isoOrNull(row.updated_at),
    }),
    agent: (row) => ({
      id: row.id,
      name: row.name,
      instructions: row.instructions,
      model: row.model,
      params: json(row.params),
      metadata: json(row.metadata),
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    }),
  };
}

/** The optional payload of a message, stored as one JSON object (`extra`), or null when it has none. */
export interface MessageExtra {
  parts?: Json[];
  intent?: string;
  confidence?: number;
  entities?: Json;
  metadata?: JsonObject;
}

type ExtraFields = { parts: Json[] | null; intent: string | null; confidence: number | null; entities: Json | null; metadata: JsonObject | null };

export function packExtra(m: ExtraFields): string | null {
  const extra = extraOf(m);
  return extra === null ? null : JSON.stringify(extra);
}

export function extraOf(m: ExtraFields): MessageExtra | null {
  if (m.parts === null && m.intent === null && m.confidence === null && m.entities === null && m.metadata === null) return null;
  const extra: MessageExtra = {};
  if (m.parts !== null) extra.parts = m.parts;
  if (m.intent !== null) extra.intent = m.intent;
  if (m.confidence !== null) extra.confidence = m.confidence;
  if (m.entities !== null) extra.entities = m.entities;
  if (m.metadata !== null) extra.metadata = m.metadata;
  return extra;
}

export function messageOf(
  id: string, conversationId: string, seq: number, role: Message['role'], content: string, externalId: string | null,
  idempotencyKey: string | null, status: Message['status'], statusAt: number, extra: MessageExtra | null, createdAt: number,
): Message {
  const created = iso(createdAt);
  return {
    id, conversationId, seq, role, content, parts: extra?.parts ?? null, externalId, idempotencyKey, status,
    statusAt: statusAt === createdAt ? created : iso(statusAt), intent: extra?.intent ?? null, confidence: extra?.confidence ?? null,
    entities: extra?.entities ?? null, metadata: extra?.metadata ?? null, createdAt: created,
  };
}

export const apiKeyOf = (row: Row): ApiKey => ({
  id: row.id,
  tenantId: row.tenant_id,
  name: row.name,
  prefix: row.prefix,
  createdAt: iso(row.created_at),
  revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
});

/** The state of a conversation that was never written: version 0. */
export const emptyState = (conversationId: string): ConversationState => ({
  conversationId,
  state: null,
  previousState: null,
  data: {},
  version: 0,
  updatedAt: null,
});
