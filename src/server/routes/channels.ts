import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ChannelSchema, PageSchema } from '../../domain/entities.js';
import { ChannelCreateSchema, ChannelUpdateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { found, IdempotencyHeaders, IdParams } from './params.js';

/** Channels: `secrets` are write-only; every answer shows only which are set. */
export const channelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/channels', {
    schema: { headers: IdempotencyHeaders, body: Type.Omit(ChannelCreateSchema, ['idempotencyKey'], { additionalProperties: false }), response: { 200: ChannelSchema, 201: ChannelSchema } },
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'];
    if (key === undefined) {
      reply.code(201);
      return request.store.channels.create(request.body);
    }
    const { channel, created } = await request.store.channels.ensure({ ...request.body, idempotencyKey: key });
    reply.code(created ? 201 : 200);
    return channel;
  });

  app.get('/channels', { schema: { querystring: PageOptionsSchema, response: { 200: PageSchema(ChannelSchema) } } }, async (request) =>
    request.store.channels.list(request.query));

  app.get('/channels/:id', { schema: { params: IdParams, response: { 200: ChannelSchema } } }, async (request) =>
    found(await request.store.channels.get(request.params.id), 'channel', request.params.id));

  app.patch('/channels/:id', { schema: { params: IdParams, body: ChannelUpdateSchema, response: { 200: ChannelSchema } } }, async (request) =>
    request.store.channels.update(request.params.id, request.body));
};
