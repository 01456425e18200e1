import Type, { type Static, type TSchema } from 'typebox';

/**
 * Every entity's shape, declared once. TypeScript types are `Static` of these schemas; the HTTP responses
 * serialise with them and document them in /openapi.json; the SQL backends derive their row mappers and the
 * portable (export/import) columns from them (`backends/sql/tables.ts`). Entities are camelCase, ids are
 * UUIDv7 strings, times are ISO-8601 strings.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * `type: [T, 'null']` rather than `anyOf`: fast-json-stringify picks an `anyOf` branch by validating the value
 * against each (about 15 µs per message); a type list is one typeof check, for validators too.
 */
export const Nullable = <T extends TSchema>(schema: T) => {
  const { enum: values } = schema as { enum?: unknown[] };
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [(schema as { type?: string }).type, 'null'], ...(values ? { enum: [...values, null] } : {}) });
};
/** A string enum that also carries `type: 'string'`, so serialisers and docs know it is a string. */
export const StringEnum = <const V extends readonly string[]>(values: V) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });
/** Any JSON value. */
export const JsonSchema = Type.Unsafe<Json>({});
export const JsonObjectSchema = Type.Unsafe<JsonObject>({ type: 'object', additionalProperties: true });
export const IdSchema = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Time = Type.String({ format: 'date-time' });
const NullableTime = Nullable(Time);

export const ChannelKindSchema = StringEnum(['whatsapp', 'telegram', 'webhook', 'api', 'web']);
export const ConversationStatusSchema = StringEnum(['open', 'waiting', 'closed']);
export const MessageRoleSchema = StringEnum(['user', 'assistant', 'system', 'tool']);
export const MessageStatusSchema = StringEnum(['pending', 'sent', 'delivered', 'read', 'failed']);
export const MessageSenderSchema = StringEnum(['agent', 'human']);
export const EventTypeSchema = StringEnum([
  'message.created', 'message.status', 'conversation.created', 'conversation.updated', 'conversation.deleted',
  'state.updated', 'contact.erased', 'contact.merged', 'message.edited', 'channel.health',
  'agent.error', 'agent.refused', 'usage.recorded', 'budget.economy', 'budget.exceeded', 'alert.raised', 'alert.resolved',
  'conversation.restored', 'report.daily',
]);
export type ChannelKind = Static<typeof ChannelKindSchema>;
export type ConversationStatus = Static<typeof ConversationStatusSchema>;
export type MessageRole = Static<typeof MessageRoleSchema>;
export type MessageStatus = Static<typeof MessageStatusSchema>;
export type MessageSender = Static<typeof MessageSenderSchema>;
export type EventType = Static<typeof EventTypeSchema>;

export const HandleSchema = Type.Object(
  { channel: ChannelKindSchema, address: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type Handle = Static<typeof HandleSchema>;

export const ContactSchema = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  handles: Type.Array(HandleSchema),
  metadata: JsonObjectSchema,
  createdAt: Time,
  updatedAt: Time,
}, { title: 'Contact' });
export type Contact = Static<typeof ContactSchema>;

export const ChannelConfigSchema = Type.Object(
  {
    reopenWindowSeconds: Type.Integer({
      description: 'A closed conversation active within this many seconds is reopened by a new inbound message.',
    }),
  },
  { additionalProperties: true, description: 'Public settings of the channel.' },
);
export type ChannelConfig = Static<typeof ChannelConfigSchema> & JsonObject;

export const ChannelSchema = Type.Object({
  id: Type.String(),
  kind: ChannelKindSchema,
  name: Type.String(),
  config: Type.Unsafe<ChannelConfig>(ChannelConfigSchema),
  secrets: Type.Record(Type.String(), Type.Boolean(), {
    description: 'Which secrets are set (`true`); their values are write-only and never returned.',
  }),
  createdAt: Time,
  updatedAt: Time,
}, { title: 'Channel' });
export type Channel = Static<typeof ChannelSchema>;

export const ChannelHealthStatusSchema = StringEnum(['ok', 'stale', 'failing', 'not_configured']);
export type ChannelHealthStatus = Static<typeof ChannelHealthStatusSchema>;

/** A channel's health, from its real traffic (a socket that says "connected" proves nothing). */
export const ChannelHealthSchema = Type.Object({
  status: { ...ChannelHealthStatusSchema, description: '`not_configured`: a secret or setting it needs is missing; `failing`: the provider refused its token, or most recent sends failed; `stale`: nothing arrived for `staleAfterSeconds`; else `ok`.' },
  reasons: Type.Array(Type.String(), { description: 'Why, in words (empty when ok).' }),
  since: NullableTime,
  lastInboundAt: NullableTime,
  lastOutboundAt: NullableTime,
  counters: Type.Record(Type.String(), Type.Integer(), { description: 'Totals across the fleet: received, stored, duplicates, rejected (bad signature), invalid, errors, statuses, unknownStatuses, edits, sent, sendFailed, sendRetried.' }),
  sendErrors: Type.Record(Type.String(), Type.Integer(), { description: 'Failed or retried sends by provider code.' }),
  recentErrors: Type.Array(Type.Object({ code: Type.String(), title: Type.String(), source: StringEnum(['inbound', 'send']), at: Time }), { description: 'The newest provider errors, newest first (20 at most).' }),
  outbox: Type.Object({
    depth: Type.Integer({ description: 'Outbound messages not yet sent or failed.' }),
    oldestPendingAgeSeconds: Nullable(Type.Number()),
    recentSent: Type.Integer({ description: 'Sends that succeeded in the last 15 minutes.' }),
    recentFailed: Type.Integer(),
  }),
}, { title: 'ChannelHealth' });
export type ChannelHealth = Static<typeof ChannelHealthSchema>;

export const ConversationSchema = Type.Object({
  id: Type.String(),
  contactId: Nullable(Type.String()),
  channelId: Nullable(Type.String()),
  agentId: Nullable(Type.String()),
  agentPaused: Type.Boolean({ description: 'True while the agent must not answer automatically (a human took over); set by PATCH.' }),
  chatId: Nullable(Type.String({ description: "The chat id a `useChat` client gave this conversation (unique per agent); null otherwise." })),
  previousConversationId: Nullable(Type.String()),
  status: ConversationStatusSchema,
  title: Nullable(Type.String()),
  metadata: JsonObjectSchema,
  version: Type.Integer({ description: 'Bumped by every change of status, title, agent or metadata; use it as `expectedVersion`.' }),
  lastSeq: Type.Integer({ description: 'Seq of the newest message; equals the number of messages, since seq is gapless from 1.' }),
  readSeq: Type.Integer({ description: 'Seq of the newest message marked read (POST /v1/conversations/:id/read); 0 when none.' }),
  unreadCount: Type.Integer({ description: 'Messages after the read marker: lastSeq − readSeq.' }),
  createdAt: Time,
  updatedAt: Time,
  lastActivityAt: Time,
  lastMessageAt: NullableTime,
  closedAt: NullableTime,
}, { title: 'Conversation' });
export type Conversation = Static<typeof ConversationSchema>;

/** What one model call cost: on the assistant message it produced, and in the usage ledger. */
export const UsageSchema = Type.Object({
  provider: Type.String(),
  model: Type.String({ description: 'As the agent names it: `<provider>:<model id>`.' }),
  agentId: Nullable(Type.String()),
  inputTokens: Type.Integer({ minimum: 0 }),
  outputTokens: Type.Integer({ minimum: 0 }),
  cachedInputTokens: Type.Integer({ minimum: 0 }),
  reasoningTokens: Type.Integer({ minimum: 0 }),
  totalTokens: Type.Integer({ minimum: 0 }),
  cost: Nullable(Type.Number({ minimum: 0, description: 'US dollars, from the price table; null when the model has no price.' })),
}, { title: 'Usage', additionalProperties: false });
export type Usage = Static<typeof UsageSchema>;

export const MessageSchema = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer(),
  role: MessageRoleSchema,
  content: Type.String(),
  parts: Nullable(Type.Array(JsonSchema)),
  externalId: Nullable(Type.String()),
  idempotencyKey: Nullable(Type.String()),
  status: MessageStatusSchema,
  statusAt: Time,
  intent: Nullable(Type.String()),
  confidence: Nullable(Type.Number()),
  entities: JsonSchema,
  metadata: Nullable(JsonObjectSchema),
  sender: Nullable({ ...MessageSenderSchema, description: 'Who wrote an assistant message: `agent` (the default) or `human`; null for other roles.' }),
  error: Nullable(Type.Object({
    code: Type.String({ description: "The provider's error code (`131047`), or Colloquy's (`ambiguous`, `not_configured`)." }),
    title: Type.String(),
    reason: Type.Optional(Type.String({ description: '`ambiguous`: the provider may have the message (a timeout, a 5xx), so it was not sent again.' })),
    at: Time,
  }, { description: 'Why the message failed (status `failed`).' })),
  edits: Nullable(Type.Array(Type.Object({ content: Type.String(), parts: Nullable(Type.Array(JsonSchema)), editedAt: Time }), {
    description: 'Earlier versions of an edited message (a Telegram edit), oldest first; `content` is the newest.',
  })),
  tokens: Nullable(Type.Integer({ description: 'Its size in tokens (o200k_base), counted when it was appended; null for messages stored before 0.2.' })),
  usage: Nullable(UsageSchema),
  createdAt: Time,
}, { title: 'Message' });
export type Message = Static<typeof MessageSchema>;

export const ConversationStateSchema = Type.Object({
  conversationId: Type.String(),
  state: Nullable(Type.String()),
  previousState: Nullable(Type.String()),
  data: JsonObjectSchema,
  version: Type.Integer({ description: '0 until the first write; every write adds 1.' }),
  updatedAt: NullableTime,
}, { title: 'ConversationState' });
export type ConversationState = Static<typeof ConversationStateSchema>;

export const AgentSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  instructions: Type.String(),
  model: Type.String(),
  params: JsonObjectSchema,
  metadata: JsonObjectSchema,
  createdAt: Time,
  updatedAt: Time,
}, { title: 'Agent' });
export type Agent = Static<typeof AgentSchema>;

/** An API key as listed: never the key itself, which is shown once at creation. */
export const ApiKeySchema = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: "The key's first characters, to recognise it." }),
  createdAt: Time,
  revokedAt: NullableTime,
  expiresAt: Nullable({ ...Time, description: 'After this instant the key is refused; null: it never expires.' }),
}, { title: 'ApiKey' });
export type ApiKey = Static<typeof ApiKeySchema>;

export const AuditActionSchema = StringEnum(['key.created', 'key.revoked', 'channel.secrets_changed']);
export type AuditAction = Static<typeof AuditActionSchema>;

/** One change to who may do what: keys (and so tenants, which exist through their keys) and channel secrets. Never holds a secret. */
export const AuditEntrySchema = Type.Object({
  id: Type.String(),
  createdAt: Time,
  actor: Type.String({ description: 'Who made the change: an API key id, `admin:<digest of the admin key>`, `cli` or `library`.' }),
  action: AuditActionSchema,
  tenantId: Nullable(Type.String()),
  subjectId: Nullable(Type.String({ description: 'The key or channel changed.' })),
  details: JsonObjectSchema,
}, { title: 'AuditEntry' });
export type AuditEntry = Static<typeof AuditEntrySchema>;

/**
 * A durable record of one change, written in the change's own transaction. `id` is an opaque cursor: pass it
 * back as `after` to resume exactly after this event. Events carry ids and enums only, never message text.
 */
export const StoreEventSchema = Type.Object({
  id: Type.String(),
  type: EventTypeSchema,
  conversationId: Nullable(Type.String()),
  data: JsonObjectSchema,
  createdAt: Time,
}, { title: 'Event' });
export type StoreEvent = Static<typeof StoreEventSchema>;

/** One page of a list; pass `nextCursor` back as `cursor` for the next one (null: this was the last). */
export const PageSchema = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), nextCursor: Nullable(Type.String()) });
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const AppendResultSchema = Type.Object({
  message: MessageSchema,
  duplicate: Type.Boolean({ description: 'A message with the same externalId or idempotencyKey already existed; nothing was written.' }),
}, { title: 'AppendResult' });
export interface AppendResult {
  message: Message;
  duplicate: boolean;
}

export const IngestResultSchema = Type.Object({
  ...AppendResultSchema.properties,
  conversation: ConversationSchema,
  created: Type.Boolean({ description: 'A new conversation was started for this message.' }),
  reopened: Type.Boolean({ description: 'A closed conversation was reopened for this message.' }),
}, { title: 'IngestResult' });
export interface IngestResult extends AppendResult {
  conversation: Conversation;
  created: boolean;
  reopened: boolean;
}

export interface StatusUpdateResult {
  message: Message;
  /** False when the status would have moved backwards (or stayed); nothing was written. */
  changed: boolean;
}

/** Everything stored about one person (`GET /v1/contacts/:id/export`). */
export const ContactExportSchema = Type.Object({
  contact: ContactSchema,
  conversations: Type.Array(Type.Object({ ...ConversationSchema.properties, state: ConversationStateSchema, messages: Type.Array(MessageSchema) })),
  trashed: Type.Array(Type.Object({
    ...ConversationSchema.properties, state: ConversationStateSchema, messages: Type.Array(MessageSchema), deletedAt: Time, purgeAt: Time,
  }), { description: 'Conversations of theirs in the trash (deleted, still held until purgeAt): as they were when deleted.' }),
}, { title: 'ContactExport' });
export type ContactExport = Static<typeof ContactExportSchema>;
