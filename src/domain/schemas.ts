import Type, { type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ColloquyError } from './errors.js';

/**
 * Input schemas, shared by the library and (later) the HTTP routes, so that both reject the same things
 * with the same error before anything is written.
 */

export const IdSchema = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Key = Type.String({ minLength: 1, maxLength: 256 });
const JsonObjectSchema = Type.Record(Type.String(), Type.Unknown());
const Limit = (max: number) => Type.Integer({ minimum: 1, maximum: max });
/** ISO-8601 date-time or epoch milliseconds. */
export const TimestampSchema = Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Integer({ minimum: 0, maximum: 8.64e15 })]);

export const ChannelKindSchema = Type.Enum(['whatsapp', 'telegram', 'webhook', 'api', 'web']);
export const ConversationStatusSchema = Type.Enum(['open', 'waiting', 'closed']);
export const MessageRoleSchema = Type.Enum(['user', 'assistant', 'system', 'tool']);
export const MessageStatusSchema = Type.Enum(['pending', 'sent', 'delivered', 'read', 'failed']);

export const HandleSchema = Type.Object(
  { channel: ChannelKindSchema, address: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

export const ContactUpsertSchema = Type.Object(
  {
    handle: HandleSchema,
    name: Type.Optional(Type.Union([Name, Type.Null()])),
    metadata: Type.Optional(JsonObjectSchema),
  },
  { additionalProperties: false },
);

export const ChannelCreateSchema = Type.Object(
  {
    kind: ChannelKindSchema,
    name: Name,
    // Channel-specific settings (tokens, phone number ids) live here too, so other keys are allowed.
    config: Type.Optional(
      Type.Object({ reopenWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31_536_000 })) }),
    ),
  },
  { additionalProperties: false },
);

export const ConversationCreateSchema = Type.Object(
  {
    contactId: Type.Optional(IdSchema),
    channelId: Type.Optional(IdSchema),
    agentId: Type.Optional(IdSchema),
    title: Type.Optional(Type.Union([Name, Type.Null()])),
    metadata: Type.Optional(JsonObjectSchema),
    status: Type.Optional(Type.Enum(['open', 'waiting'])),
  },
  { additionalProperties: false },
);

export const ConversationUpdateSchema = Type.Object(
  {
    status: Type.Optional(ConversationStatusSchema),
    title: Type.Optional(Type.Union([Name, Type.Null()])),
    metadata: Type.Optional(JsonObjectSchema),
    agentId: Type.Optional(Type.Union([IdSchema, Type.Null()])),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const ConversationListSchema = Type.Object(
  {
    status: Type.Optional(ConversationStatusSchema),
    contactId: Type.Optional(IdSchema),
    channelId: Type.Optional(IdSchema),
    agentId: Type.Optional(IdSchema),
    limit: Type.Optional(Limit(200)),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const MessageAppendSchema = Type.Object(
  {
    role: MessageRoleSchema,
    content: Type.String({ maxLength: 1_000_000 }),
    parts: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 100 })),
    externalId: Type.Optional(Key),
    idempotencyKey: Type.Optional(Key),
    status: Type.Optional(MessageStatusSchema),
    intent: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    confidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    entities: Type.Optional(Type.Unknown()),
    metadata: Type.Optional(JsonObjectSchema),
    createdAt: Type.Optional(TimestampSchema),
  },
  { additionalProperties: false },
);

export const MessageListSchema = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    before: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Optional(Limit(1000)),
    order: Type.Optional(Type.Enum(['asc', 'desc'])),
  },
  { additionalProperties: false },
);

export const IngestSchema = Type.Object(
  {
    channelId: IdSchema,
    from: Type.Object(
      { address: Type.String({ minLength: 1, maxLength: 256 }), name: Type.Optional(Name) },
      { additionalProperties: false },
    ),
    externalId: Key,
    content: Type.String({ maxLength: 1_000_000 }),
    parts: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 100 })),
    timestamp: Type.Optional(TimestampSchema),
    metadata: Type.Optional(JsonObjectSchema),
  },
  { additionalProperties: false },
);

export const StateSetSchema = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    data: Type.Optional(JsonObjectSchema),
    expectedVersion: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const AgentCreateSchema = Type.Object(
  {
    name: Name,
    instructions: Type.Optional(Type.String({ maxLength: 100_000 })),
    model: Type.String({ minLength: 1, maxLength: 200 }),
    params: Type.Optional(JsonObjectSchema),
    metadata: Type.Optional(JsonObjectSchema),
  },
  { additionalProperties: false },
);

export const AgentUpdateSchema = Type.Partial(AgentCreateSchema);

export const EventListSchema = Type.Object(
  {
    after: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    limit: Type.Optional(Limit(1000)),
    conversationId: Type.Optional(IdSchema),
  },
  { additionalProperties: false },
);

export const ContactListSchema = Type.Object(
  { limit: Type.Optional(Limit(200)), cursor: Type.Optional(IdSchema) },
  { additionalProperties: false },
);

export const KeyCreateSchema = Type.Object(
  { tenant: Type.String({ minLength: 1, maxLength: 64 }), name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);

export type ContactUpsert = Static<typeof ContactUpsertSchema>;
export type ContactListOptions = Static<typeof ContactListSchema>;
export type ChannelCreate = Static<typeof ChannelCreateSchema>;
export type ConversationCreate = Static<typeof ConversationCreateSchema>;
export type ConversationUpdate = Static<typeof ConversationUpdateSchema>;
export type ConversationListOptions = Static<typeof ConversationListSchema>;
export type MessageAppend = Static<typeof MessageAppendSchema>;
export type MessageListOptions = Static<typeof MessageListSchema>;
export type IngestInput = Static<typeof IngestSchema>;
export type StateSet = Static<typeof StateSetSchema>;
export type AgentCreate = Static<typeof AgentCreateSchema>;
export type AgentUpdate = Static<typeof AgentUpdateSchema>;
export type EventListOptions = Static<typeof EventListSchema>;

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/**
 * Validates `value` against `schema` and returns it typed; otherwise throws `invalid_argument` naming the fields.
 * Strings anywhere in the value must be well-formed Unicode without NUL: PostgreSQL cannot store NUL, and
 * SQLite and PostgreSQL would otherwise disagree about what was stored.
 */
export function validate<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  let validator = compiled.get(schema);
  if (!validator) {
    validator = Compile(schema);
    compiled.set(schema, validator);
  }
  if (!validator.Check(value)) {
    const errors = [...validator.Errors(value)]
      .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean')
      .slice(0, 5)
      .map((e) => ({ path: e.instancePath || '/', message: e.message }));
    const first = errors[0];
    throw new ColloquyError(
      'invalid_argument',
      first ? `Invalid ${what}: ${first.path} ${first.message}.` : `Invalid ${what}.`,
      { errors },
    );
  }
  const bad = findBadText(value, '');
  if (bad) throw new ColloquyError('invalid_argument', `Invalid ${what}: ${bad.path} ${bad.reason}.`, { errors: [bad] });
  return value as Static<S>;
}

function findBadText(value: unknown, path: string, depth = 0): { path: string; reason: string } | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path: path || '/', reason: 'contains a NUL character' };
    if (!value.isWellFormed()) return { path: path || '/', reason: 'is not well-formed Unicode' };
    return undefined;
  }
  // undefined is an absent optional field in JS; JSON.stringify drops it.
  if (value === null || value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: path || '/', reason: 'must be finite' };
  if (typeof value !== 'object') return { path: path || '/', reason: 'is not a JSON value' };
  if (depth > 32) return { path: path || '/', reason: 'is nested more than 32 levels deep' };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findBadText(value[i], `${path}/${i}`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const bad = findBadText(key, `${path}/${key}`) ?? findBadText((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1);
    if (bad) return bad;
  }
  return undefined;
}

/** Parses a Timestamp (ISO-8601 string or epoch ms) into epoch ms. */
export function toEpochMs(value: string | number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 8.64e15) {
    throw new ColloquyError('invalid_argument', `Invalid ${field}: expected an ISO-8601 date-time or epoch milliseconds, from 1970 on.`, {
      errors: [{ path: `/${field}`, message: 'is not a date-time' }],
    });
  }
  return ms;
}
