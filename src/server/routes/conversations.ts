import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  AppendResultSchema,
  ConversationSchema,
  ConversationStateSchema,
  IdSchema,
  MessageSchema,
  PageSchema,
} from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import * as I from '../../domain/inputs.js';
import { newestPage } from '../../store/page-json.js';
import { errorBody } from '../errors.js';
import { found, IdempotencyHeaders, IdParams } from './params.js';

const AppendBody = Type.Omit(I.MessageAppendSchema, ['idempotencyKey'], { additionalProperties: false });
// Like every HTTP list, at most 200 per page (the library allows 1000).
const MessageQuery = Type.Object({ ...I.MessageListSchema.properties, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false });
const MessagePage = PageSchema(MessageSchema);
const ConversationPage = PageSchema(ConversationSchema);

export const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/conversations', { schema: { body: I.ConversationCreateSchema, response: { 201: ConversationSchema } } }, async (request, reply) => {
    reply.code(201);
    return request.store.conversations.create(request.body);
  });

  app.get('/conversations', { schema: { querystring: I.ConversationListSchema, response: { 200: ConversationPage } } }, async (request) =>
    request.store.conversations.list(request.query));

  // Erases all of one contact's conversations (the contact stays): 200 with the ids erased.
  app.delete('/conversations', { schema: { querystring: Type.Object({ contactId: IdSchema }, { additionalProperties: false }) } }, async (request) =>
    ({ deleted: await request.store.conversations.deleteByContact(request.query.contactId) }));

  app.get('/conversations/:id', { schema: { params: IdParams, response: { 200: ConversationSchema } } }, async (request) =>
    found(await request.store.conversations.get(request.params.id), 'conversation', request.params.id));

  app.patch('/conversations/:id', { schema: { params: IdParams, body: I.ConversationUpdateSchema, response: { 200: ConversationSchema } } }, async (request) =>
    request.store.conversations.update(request.params.id, request.body));

  app.delete('/conversations/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.conversations.delete(request.params.id))) throw notFound('conversation', request.params.id);
    reply.code(204);
  });

  app.post('/conversations/:id/messages', {
    schema: { params: IdParams, headers: IdempotencyHeaders, body: AppendBody, response: { 200: AppendResultSchema, 201: AppendResultSchema } },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const result = await request.store.messages.append(request.params.id, { ...request.body, ...(key ? { idempotencyKey: key } : {}) });
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });

  app.get('/conversations/:id/messages', { schema: { params: IdParams, querystring: MessageQuery, response: { 200: MessagePage } } }, async (request, reply) => {
    const { after, before, cursor, limit = 50, order } = request.query;
    // The newest page, the hot one: from the hot tier as its JSON text, sent as it is (no parse, no serialisation).
    if (order === 'desc' && after === undefined && before === undefined && cursor === undefined) {
      const page = await newestPage(request.store, request.params.id, limit);
      if (typeof page === 'string' || Buffer.isBuffer(page)) return reply.type('application/json; charset=utf-8').send(page as never);
      return page;
    }
    return request.store.messages.list(request.params.id, request.query);
  });

  app.get('/conversations/:id/context', { schema: { params: IdParams } }, async (_request, reply) => {
    reply.code(501);
    return errorBody('not_implemented', 'Context windows arrive with the agents feature; use GET …/messages?order=desc&limit=N meanwhile.');
  });

  app.get('/conversations/:id/state', { schema: { params: IdParams, response: { 200: ConversationStateSchema } } }, async (request) =>
    request.store.state.get(request.params.id));

  app.put('/conversations/:id/state', { schema: { params: IdParams, body: I.StateSetSchema, response: { 200: ConversationStateSchema } } }, async (request) =>
    request.store.state.set(request.params.id, request.body));
};
