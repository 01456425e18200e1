import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../../domain/errors.js';
import { AgentCreateSchema, AgentUpdateSchema } from '../../domain/schemas.js';
import { IdParams } from './params.js';

export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/agents', { schema: { body: AgentCreateSchema } }, async (request, reply) => {
    reply.code(201);
    return request.store.agents.create(request.body);
  });

  app.get('/agents', async (request) => ({ data: await request.store.agents.list(), nextCursor: null }));

  app.get('/agents/:id', { schema: { params: IdParams } }, async (request) => {
    const agent = await request.store.agents.get(request.params.id);
    if (!agent) throw notFound('agent', request.params.id);
    return agent;
  });

  app.patch('/agents/:id', { schema: { params: IdParams, body: AgentUpdateSchema } }, async (request) =>
    request.store.agents.update(request.params.id, request.body));

  app.delete('/agents/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.agents.delete(request.params.id))) throw notFound('agent', request.params.id);
    reply.code(204);
  });
};
