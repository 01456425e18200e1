import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { notFound } from '../../domain/errors.js';
import * as S from '../../domain/schemas.js';
import { IdSchema } from '../../domain/schemas.js';
import { errorBody } from '../errors.js';
import { IdParams } from './params.js';
import { AppendResponse, MessagePageResponse } from './responses.js';

const { idempotencyKey: _key, ...appendFields } = S.MessageAppendSchema.properties;
const AppendBody = Type.Object(appendFields, { additionalProperties: false });
const AppendHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) });
// Like every HTTP list, at most 200 per page (the library allows 1000).
const MessageQuery = Type.Object({ ...S.MessageListSchema.properties, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })), cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }, { additionalProperties: false });
const StateBody = S.StateSetSchema;

export const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/conversations', { schema: { body: S.ConversationCreateSchema } }, async (request, reply) => {
    reply.code(201);
    return request.store.conversations.create(request.body);
  });

  app.get('/conversations', { schema: { querystring: S.ConversationListSchema } }, async (request) =>
    request.store.conversations.list(request.query));

  // Erases all of one contact's conversations (the contact stays): 200 with the ids erased.
  app.delete('/conversations', { schema: { querystring: Type.Object({ contactId: IdSchema }, { additionalProperties: false }) } }, async (request) =>
    ({ deleted: await request.store.conversations.deleteByContact(request.query.contactId) }));

  app.get('/conversations/:id', { schema: { params: IdParams } }, async (request) => {
    const conversation = await request.store.conversations.get(request.params.id);
    if (!conversation) throw notFound('conversation', request.params.id);
    return conversation;
  });

  app.patch('/conversations/:id', { schema: { params: IdParams, body: S.ConversationUpdateSchema } }, async (request) =>
    request.store.conversations.update(request.params.id, request.body));

  app.delete('/conversations/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.conversations.delete(request.params.id))) throw notFound('conversation', request.params.id);
    reply.code(204);
  });

  app.post('/conversations/:id/messages', {
    schema: { params: IdParams, headers: AppendHeaders, body: AppendBody, response: { 200: AppendResponse, 201: AppendResponse } },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    const result = await request.store.messages.append(request.params.id, { ...request.body, ...(key ? { idempotencyKey: key } : {}) });
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });

  // Pages by seq. nextCursor is the seq to continue from: `after` when ascending, `before` when descending.
  app.get('/conversations/:id/messages', { schema: { params: IdParams, querystring: MessageQuery, response: { 200: MessagePageResponse } } }, async (request) => {
    const { cursor, ...query } = request.query;
    const limit = query.limit ?? 50;
    const order = query.order ?? 'asc';
    const continued = cursor === undefined ? {} : order === 'asc' ? { after: Number(cursor) } : { before: Number(cursor) };
    const data = await request.store.messages.list(request.params.id, { ...query, ...continued, limit, order });
    const last = data.at(-1);
    return { data, nextCursor: data.length === limit && last ? String(last.seq) : null };
  });

  app.get('/conversations/:id/context', { schema: { params: IdParams } }, async (_request, reply) => {
    reply.code(501);
    return errorBody('not_implemented', 'Context windows arrive with the agents feature; use GET …/messages?order=desc&limit=N meanwhile.');
  });

  app.get('/conversations/:id/state', { schema: { params: IdParams } }, async (request) => request.store.state.get(request.params.id));

  app.put('/conversations/:id/state', { schema: { params: IdParams, body: StateBody } }, async (request) =>
    request.store.state.set(request.params.id, request.body));
};
