import Type, { type Static, type TSchema } from 'typebox';

/**
 * Response shapes of the hot routes. Fastify serialises with them (faster than JSON.stringify) and they document
 * the API in /openapi.json. Every field of the entity must be listed here: an unlisted one would be dropped.
 */
const Time = Type.String({ format: 'date-time' });
/**
 * `type: [T, 'null']` rather than `anyOf`: fast-json-stringify picks an `anyOf` branch by validating the value
 * against each (about 15 µs per message); a type list is one typeof check.
 */
const Nullable = <T extends TSchema & { type: string }>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
const AnyObject = Type.Object({}, { additionalProperties: true });

export const MessageResponse = Type.Object({
  id: Type.String(),
  conversationId: Type.String(),
  seq: Type.Integer(),
  role: Type.String(),
  content: Type.String(),
  parts: Nullable(Type.Array(Type.Unknown())),
  externalId: Nullable(Type.String()),
  idempotencyKey: Nullable(Type.String()),
  status: Type.String(),
  statusAt: Time,
  intent: Nullable(Type.String()),
  confidence: Nullable(Type.Number()),
  entities: Type.Unknown(),
  metadata: Nullable(AnyObject),
  createdAt: Time,
});

export const ConversationResponse = Type.Object({
  id: Type.String(),
  contactId: Nullable(Type.String()),
  channelId: Nullable(Type.String()),
  agentId: Nullable(Type.String()),
  previousConversationId: Nullable(Type.String()),
  status: Type.String(),
  title: Nullable(Type.String()),
  metadata: AnyObject,
  version: Type.Integer(),
  lastSeq: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
  lastActivityAt: Time,
  lastMessageAt: Nullable(Time),
  closedAt: Nullable(Time),
});

export const AppendResponse = Type.Object({ message: MessageResponse, duplicate: Type.Boolean() });
export const MessagePageResponse = Type.Object({ data: Type.Array(MessageResponse), nextCursor: Nullable(Type.String()) });
export const IngestResponse = Type.Object({
  message: MessageResponse,
  conversation: ConversationResponse,
  duplicate: Type.Boolean(),
  created: Type.Boolean(),
  reopened: Type.Boolean(),
});
