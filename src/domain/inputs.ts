import Type, { type Static } from 'typebox';
import {
  type JsonObject,
  ChannelKindSchema,
  ConversationStatusSchema,
  HandleSchema,
  IdSchema,
  JsonObjectSchema,
  JsonSchema,
  MessageRoleSchema,
  MessageSenderSchema,
  MessageStatusSchema,
  StringEnum,
} from './entities.js';

/**
 * What callers may send, shared by the library and the HTTP routes, so that both reject the same things with
 * the same error before anything is written. Every object refuses unknown fields.
 */

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Key = Type.String({ minLength: 1, maxLength: 256 });
const Limit = (max: number) => Type.Integer({ minimum: 1, maximum: max });
const Cursor = Type.String({ minLength: 1, maxLength: 200, description: 'The `nextCursor` of the previous page, unchanged.' });
const closed = { additionalProperties: false } as const;
/** ISO-8601 date-time or epoch milliseconds. */
export const TimestampSchema = Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Integer({ minimum: 0, maximum: 8.64e15 })]);

export const ContactUpsertSchema = Type.Object(
  { handle: HandleSchema, name: Type.Optional(Type.Union([Name, Type.Null()])), metadata: Type.Optional(JsonObjectSchema) },
  closed,
);

/** Names of secrets: letters, digits and `_` (e.g. `accessToken`, `appSecret`). */
const SecretName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' });
const SecretValue = Type.String({ minLength: 1, maxLength: 8192 });
const ReopenWindow = Type.Integer({ minimum: 0, maximum: 31_536_000 });
/** Config is open: each channel kind has settings of its own beside the common ones. */
const Config = (options: { description?: string } = {}) =>
  Type.Unsafe<{ reopenWindowSeconds?: number } & JsonObject>(Type.Object({ reopenWindowSeconds: Type.Optional(ReopenWindow) }, options));

export const ChannelCreateSchema = Type.Object(
  {
    kind: ChannelKindSchema,
    name: Name,
    // Public, channel-specific settings (phone number ids, URLs): other keys are allowed. Tokens go in `secrets`.
    config: Type.Optional(Config()),
    secrets: Type.Optional(Type.Record(SecretName, SecretValue, {
      ...closed, maxProperties: 32, description: 'Write-only: tokens and app secrets, never returned (reads say which are set).',
    })),
    // Over HTTP this is the Idempotency-Key header.
    idempotencyKey: Type.Optional(Key),
  },
  closed,
);

export const ChannelUpdateSchema = Type.Object(
  {
    name: Type.Optional(Name),
    config: Type.Optional(Config({ description: 'Merged into the present config; a key set to null is removed.' })),
    secrets: Type.Optional(Type.Record(SecretName, Type.Union([SecretValue, Type.Null()]), {
      ...closed, maxProperties: 32, description: 'Sets the secrets given; null removes one. Others stay as they are.',
    })),
  },
  closed,
);

export const PageOptionsSchema = Type.Object({ limit: Type.Optional(Limit(200)), cursor: Type.Optional(Cursor) }, closed);
export const AuditListSchema = Type.Object({
  ...PageOptionsSchema.properties,
  tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Only this tenant's entries." })),
}, closed);

export const ConversationCreateSchema = Type.Object(
  {
    contactId: Type.Optional(IdSchema),
    channelId: Type.Optional(IdSchema),
    agentId: Type.Optional(IdSchema),
    title: Type.Optional(Type.Union([Name, Type.Null()])),
    metadata: Type.Optional(JsonObjectSchema),
    status: Type.Optional(StringEnum(['open', 'waiting'])),
    chatId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "A chat client's own id for the conversation (a `useChat` id): unique per agent, so it needs `agentId`." })),
  },
  closed,
);

export const ConversationUpdateSchema = Type.Object(
  {
    status: Type.Optional(ConversationStatusSchema),
    title: Type.Optional(Type.Union([Name, Type.Null()])),
    metadata: Type.Optional(JsonObjectSchema),
    agentId: Type.Optional(Type.Union([IdSchema, Type.Null()])),
    agentPaused: Type.Optional(Type.Boolean({ description: 'True: the agent stops answering automatically (a human took over); false: it answers again.' })),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  closed,
);

export const MarkReadSchema = Type.Object(
  {
    seq: Type.Optional(Type.Integer({
      minimum: 0, maximum: Number.MAX_SAFE_INTEGER,
      description: 'Marks messages up to this seq read (beyond the newest: up to the newest). Default: the newest message. The marker never moves back.',
    })),
  },
  closed,
);

export const ConversationListSchema = Type.Object(
  {
    status: Type.Optional(ConversationStatusSchema),
    contactId: Type.Optional(IdSchema),
    channelId: Type.Optional(IdSchema),
    agentId: Type.Optional(IdSchema),
    ...PageOptionsSchema.properties,
  },
  closed,
);

const Parts = Type.Array(JsonSchema, { maxItems: 100 });
const Tokens = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

/** A model call's usage as given with an assistant message: recorded in the usage ledger with it. */
export const UsageInputSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 200, description: '`<provider>:<model id>`, e.g. `openai:gpt-4o-mini`.' }),
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Default: the model's prefix." })),
    agentId: Type.Optional(Type.Union([IdSchema, Type.Null()])),
    inputTokens: Tokens,
    outputTokens: Tokens,
    cachedInputTokens: Type.Optional(Tokens),
    reasoningTokens: Type.Optional(Tokens),
    totalTokens: Type.Optional({ ...Tokens, description: 'Default: input + output.' }),
    cost: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: 'US dollars; default: from the price table, else null.' })),
  },
  closed,
);
export type UsageInput = Static<typeof UsageInputSchema>;

export const MessageAppendSchema = Type.Object(
  {
    role: MessageRoleSchema,
    content: Type.String({ maxLength: 1_000_000 }),
    parts: Type.Optional(Parts),
    externalId: Type.Optional(Key),
    idempotencyKey: Type.Optional(Key),
    status: Type.Optional(MessageStatusSchema),
    intent: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    entities: Type.Optional(JsonSchema),
    metadata: Type.Optional(JsonObjectSchema),
    sender: Type.Optional({ ...MessageSenderSchema, description: 'Assistant messages only: `agent` (default) or `human` (a person replied).' }),
    usage: Type.Optional({ ...UsageInputSchema, description: "Assistant messages only: the model call that produced it, recorded in the usage ledger in the append's transaction." }),
    createdAt: Type.Optional(TimestampSchema),
  },
  closed,
);

export const MessageListSchema = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    limit: Type.Optional(Limit(1000)),
    order: Type.Optional(StringEnum(['asc', 'desc'])),
    cursor: Type.Optional(Cursor),
  },
  closed,
);

export const ContextOptionsSchema = Type.Object(
  {
    maxTokens: Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'The budget: instructions, memory, summary and messages together.' }),
    agentId: Type.Optional({ ...IdSchema, description: "Whose instructions, memory setting and tokenizer count; default: the conversation's agent." }),
    lastMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'At most this many messages, however many fit.' })),
  },
  closed,
);
export type ContextOptions = Static<typeof ContextOptionsSchema>;

export const IngestSchema = Type.Object(
  {
    channelId: IdSchema,
    from: Type.Object({ address: Type.String({ minLength: 1, maxLength: 256 }), name: Type.Optional(Name) }, closed),
    externalId: Key,
    content: Type.String({ maxLength: 1_000_000 }),
    parts: Type.Optional(Parts),
    timestamp: Type.Optional(TimestampSchema),
    metadata: Type.Optional(JsonObjectSchema),
  },
  closed,
);

export const StateSetSchema = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    data: Type.Optional(JsonObjectSchema),
    expectedVersion: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  closed,
);

const agentFields = {
  name: Name,
  instructions: Type.Optional(Type.String({ maxLength: 100_000 })),
  model: Type.String({ minLength: 1, maxLength: 200 }),
  params: Type.Optional(JsonObjectSchema),
  metadata: Type.Optional(JsonObjectSchema),
};
export const AgentCreateSchema = Type.Object(agentFields, closed);
// Written out rather than Type.Partial, which drops additionalProperties: false.
export const AgentUpdateSchema = Type.Object(
  { ...agentFields, name: Type.Optional(Name), model: Type.Optional(agentFields.model) },
  closed,
);

export const EventListSchema = Type.Object(
  {
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'An event id: the page starts after it.' })),
    limit: Type.Optional(Limit(1000)),
    conversationId: Type.Optional(IdSchema),
  },
  closed,
);

export const KeyCreateSchema = Type.Object(
  {
    tenant: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    expiresAt: Type.Optional({ ...TimestampSchema, description: 'When the key stops working (ISO 8601 or epoch ms, in the future); default never.' }),
  },
  closed,
);

export type ContactUpsert = Static<typeof ContactUpsertSchema>;
export type PageOptions = Static<typeof PageOptionsSchema>;
export const ContactListSchema = Type.Object({
  ...PageOptionsSchema.properties,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Contacts whose name or one of whose handle addresses contains this (case-insensitive).' })),
}, closed);
export type ContactListOptions = Static<typeof ContactListSchema>;
export type ChannelCreate = Static<typeof ChannelCreateSchema>;
export type ChannelUpdate = Static<typeof ChannelUpdateSchema>;
export type ConversationCreate = Static<typeof ConversationCreateSchema>;
export type ConversationUpdate = Static<typeof ConversationUpdateSchema>;
export type ConversationListOptions = Static<typeof ConversationListSchema>;
export type MarkReadOptions = Static<typeof MarkReadSchema>;
export type MessageAppend = Static<typeof MessageAppendSchema>;
export type MessageListOptions = Static<typeof MessageListSchema>;
export type IngestInput = Static<typeof IngestSchema>;
export type StateSet = Static<typeof StateSetSchema>;
export type AgentCreate = Static<typeof AgentCreateSchema>;
export type AgentUpdate = Static<typeof AgentUpdateSchema>;
export type EventListOptions = Static<typeof EventListSchema>;
export type KeyCreate = Static<typeof KeyCreateSchema>;
export type AuditListOptions = Static<typeof AuditListSchema>;
