import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  AppendResultSchema,
  ContactSchema,
  ConversationSchema,
  ConversationStateSchema,
  IdSchema,
  MessageSchema,
  PageSchema,
} from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import * as I from '../../domain/inputs.js';
import { newestPage } from '../../store/page-json.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdempotencyHeaders, IdParams } from './params.js';

const AppendBody = Type.Omit(I.MessageAppendSchema, ['idempotencyKey'], { additionalProperties: false });
// Like every HTTP list, at most 200 per page (the library allows 1000).
const MessageQuery = Type.Object({ ...I.MessageListSchema.properties, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false });
const MessagePage = PageSchema(MessageSchema);
const ConversationPage = PageSchema(ConversationSchema);
const ContactBrief = Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]), handles: ContactSchema.properties.handles });
const ConversationWithContactPage = PageSchema(Type.Object({
  ...ConversationSchema.properties,
  contact: Type.Optional(Type.Union([ContactBrief, Type.Null()], { description: 'With `include=contact`: its contact (null for none).' })),
}));
const ConversationQuery = Type.Object({
  ...I.ConversationListSchema.properties,
  include: Type.Optional(Type.Literal('contact', { description: "`contact`: each conversation with its contact's id, name and handles (an inbox shows them without a request per row)." })),
}, { additionalProperties: false });

const Seq = Type.Union([Type.Integer(), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });
const ContextWindowSchema = Type.Object({
  system: Type.Union([Type.String(), Type.Null()], { description: 'Instructions to pass as `system`: the agent\'s, the kept system messages, the working memory and the summary.' }),
  messages: Type.Array(Type.Unsafe({ type: 'object', additionalProperties: true }), { description: 'AI SDK `ModelMessage`s, oldest first.' }),
  tokens: Type.Object({ total: Count, instructions: Count, memory: Count, summary: Count, messages: Count }),
  truncated: Type.Boolean({ description: 'Older messages did not fit and were left out (with `params.summarize`, they are folded into the summary).' }),
  summary: Type.Union([Type.String(), Type.Null()]),
  summaryToSeq: Seq,
  fromSeq: Seq,
  toSeq: Seq,
}, { title: 'ContextWindow' });

export const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/conversations', {
    schema: {
      operationId: 'createConversation', summary: 'Start a conversation',
      description: 'A conversation for an API caller (no contact), or for a contact on a channel: at most one open or waiting conversation per contact and channel.',
      body: example(I.ConversationCreateSchema, { title: 'Booking', metadata: { source: 'web' } }),
      response: { 201: answer(ConversationSchema, 'The conversation, version 1'), 404: failure('not_found'), 409: failure('conflict') },
    },
  }, async (request, reply) => {
    reply.code(201);
    return request.store.conversations.create(request.body);
  });

  app.get('/conversations', {
    schema: {
      operationId: 'listConversations', summary: 'List conversations',
      description: 'Newest activity first, filtered by status, contact, channel or agent; pass `nextCursor` back as `cursor`.',
      querystring: ConversationQuery, response: { 200: ConversationWithContactPage },
    },
  }, async (request) => {
    const { include, ...options } = request.query;
    const page = await request.store.conversations.list(options);
    if (!include) return page;
    const ids = [...new Set(page.data.flatMap((c) => (c.contactId ? [c.contactId] : [])))];
    const contacts = new Map((await request.store.contacts.many(ids)).map((c) => [c.id, { id: c.id, name: c.name, handles: c.handles }]));
    return { ...page, data: page.data.map((c) => ({ ...c, contact: c.contactId ? contacts.get(c.contactId) ?? null : null })) };
  });

  app.delete('/conversations', {
    schema: {
      operationId: 'deleteContactConversations', summary: "Erase one contact's conversations",
      description: 'Erases every conversation of the contact, with their messages and state; the contact stays.',
      querystring: Type.Object({ contactId: IdSchema }, { additionalProperties: false }),
      response: { 200: answer(Type.Object({ deleted: Type.Array(Type.String()) }), 'The ids erased') },
    },
  }, async (request) => ({ deleted: await request.store.conversations.deleteByContact(request.query.contactId) }));

  app.get('/conversations/:id', {
    schema: { operationId: 'getConversation', summary: 'Get a conversation', description: 'Its status, version, contact, channel, agent, the conversation before it, the seq of its newest message, and its read marker and unread count.', params: IdParams, response: { 200: ConversationSchema } },
  }, async (request) => found(await request.store.conversations.get(request.params.id), 'conversation', request.params.id));

  app.patch('/conversations/:id', {
    schema: {
      operationId: 'updateConversation', summary: 'Close, reopen, retitle or reassign a conversation',
      description: 'Changes what is given; with `expectedVersion`, only if nobody changed it meanwhile (else 409 `version_mismatch`). Reopening fails with 409 `conflict` when the contact already has another open conversation on the channel.',
      params: IdParams, body: example(I.ConversationUpdateSchema, { status: 'closed', expectedVersion: 3 }),
      response: { 200: answer(ConversationSchema, 'The conversation as changed (its version bumped when anything changed)'), 409: failure('version_mismatch', 'conflict') },
    },
  }, async (request) => request.store.conversations.update(request.params.id, request.body));

  app.post('/conversations/:id/read', {
    schema: {
      operationId: 'markConversationRead', summary: 'Mark a conversation read',
      description: "Moves the read marker (`readSeq`) to `seq`, by default the newest message, so that `unreadCount` counts only what came after it. The body may be left out. The marker never moves back (an older `seq` changes nothing) and a `seq` beyond the newest message marks up to the newest. It is the reader's, not a change of the conversation: `version` stays as it is (a bot's `expectedVersion` stays good) and no event is written.",
      params: IdParams, body: example(I.MarkReadSchema, { seq: 12 }),
      response: { 200: answer(ConversationSchema, 'The conversation with its read marker') },
    },
    // No body (and no content-type) is the common case, a reader marking everything read: validated as an empty one.
    preValidation: async (request) => {
      if (request.body === undefined) request.body = {};
    },
  }, async (request) => request.store.conversations.markRead(request.params.id, request.body));

  app.delete('/conversations/:id', {
    schema: {
      operationId: 'deleteConversation', summary: 'Delete a conversation',
      description: 'Moves the conversation with its messages and state to the trash (`GET /v1/trash`), hidden from every read and restorable with `POST /v1/trash/:id/restore` until its retention ends (COLLOQUY_TRASH_DAYS, default 7). `?purge=true` erases it at once instead.',
      params: IdParams, querystring: Type.Object({ purge: Type.Optional(Type.Boolean({ description: 'Erase now, bypassing the trash.' })) }, { additionalProperties: false }),
      response: { 204: answer(Type.Null(), 'In the trash (or erased, with purge)') },
    },
  }, async (request, reply) => {
    if (!(await request.store.conversations.delete(request.params.id, { purge: request.query.purge === true }))) throw notFound('conversation', request.params.id);
    reply.code(204);
  });

  app.post('/conversations/:id/messages', {
    schema: {
      operationId: 'appendMessage', summary: 'Append a message',
      description: 'Appends with the next seq. A repeat with the same `Idempotency-Key` header (or `externalId`) stores nothing and answers the first message with `duplicate: true`.',
      params: IdParams, headers: IdempotencyHeaders, body: example(AppendBody, { role: 'assistant', content: 'Com qual médico?' }),
      response: {
        200: answer(AppendResultSchema, 'A repeat: the message stored the first time (`duplicate: true`)'),
        201: answer(AppendResultSchema, 'Stored (`duplicate: false`)'),
        409: failure('conversation_closed'),
      },
    },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const result = await request.store.messages.append(request.params.id, { ...request.body, ...(key ? { idempotencyKey: key } : {}) });
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });

  app.get('/conversations/:id/messages', {
    schema: {
      operationId: 'listMessages', summary: 'Read messages',
      description: 'A page by seq: `after`/`before` exclusive, `order=desc` for the newest first; pass `nextCursor` back as `cursor`.',
      params: IdParams, querystring: MessageQuery, response: { 200: MessagePage },
    },
  }, async (request, reply) => {
    const { after, before, cursor, limit = 50, order } = request.query;
    // The newest page, the hot one: from the hot tier as its JSON text, sent as it is (no parse, no serialisation).
    if (order === 'desc' && after === undefined && before === undefined && cursor === undefined) {
      const page = await newestPage(request.store, request.params.id, limit);
      if (typeof page === 'string' || Buffer.isBuffer(page)) return reply.type('application/json; charset=utf-8').send(page as never);
      return page;
    }
    return request.store.messages.list(request.params.id, request.query);
  });

  app.get('/conversations/:id/context', {
    schema: {
      operationId: 'getContext', summary: 'The newest messages that fit a token budget',
      description: "For the conversation's next model call: the newest messages that fit `maxTokens` together with the agent's instructions, its working memory (when `params.memory` is on) and the rolling summary, as AI SDK `ModelMessage`s oldest first, with stored `system` messages moved into `system`. Token counts are o200k_base, counted when each message was appended (scaled by a safety factor for Anthropic models).",
      params: IdParams, querystring: I.ContextOptionsSchema, response: { 200: ContextWindowSchema },
    },
  }, async (request) => request.store.context(request.params.id, request.query));

  app.get('/conversations/:id/state', {
    schema: {
      operationId: 'getState', summary: "Read the bot's working memory",
      description: '`state`, `previous_state`, `data` and `version` (0 before the first write).', params: IdParams, response: { 200: ConversationStateSchema },
    },
  }, async (request) => request.store.state.get(request.params.id));

  app.put('/conversations/:id/state', {
    schema: {
      operationId: 'setState', summary: "Write the bot's working memory",
      description: 'Compare-and-set: written only when `expectedVersion` is the current version; a stale one is 409 `version_mismatch` and writes nothing.',
      params: IdParams, body: example(I.StateSetSchema, { state: 'choosing_doctor', data: { patient: 'Ana' }, expectedVersion: 0 }),
      response: { 200: answer(ConversationStateSchema, 'The state written, its version bumped'), 409: failure('version_mismatch') },
    },
  }, async (request) => request.store.state.set(request.params.id, request.body));
};
