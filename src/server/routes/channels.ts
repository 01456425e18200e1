import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../../domain/errors.js';
import { ChannelCreateSchema } from '../../domain/schemas.js';
import { IdParams } from './params.js';

export const channelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/channels', { schema: { body: ChannelCreateSchema } }, async (request, reply) => {
    reply.code(201);
    return request.store.channels.create(request.body);
  });

  app.get('/channels', async (request) => ({ data: await request.store.channels.list(), nextCursor: null }));

  app.get('/channels/:id', { schema: { params: IdParams } }, async (request) => {
    const channel = await request.store.channels.get(request.params.id);
    if (!channel) throw notFound('channel', request.params.id);
    return channel;
  });
};
