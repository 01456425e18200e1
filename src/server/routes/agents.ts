import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AgentSchema, PageSchema } from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import { AgentCreateSchema, AgentUpdateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { found, IdParams } from './params.js';

export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/agents', { schema: { body: AgentCreateSchema, response: { 201: AgentSchema } } }, async (request, reply) => {
    reply.code(201);
    return request.store.agents.create(request.body);
  });

  app.get('/agents', { schema: { querystring: PageOptionsSchema, response: { 200: PageSchema(AgentSchema) } } }, async (request) =>
    request.store.agents.list(request.query));

  app.get('/agents/:id', { schema: { params: IdParams, response: { 200: AgentSchema } } }, async (request) =>
    found(await request.store.agents.get(request.params.id), 'agent', request.params.id));

  app.patch('/agents/:id', { schema: { params: IdParams, body: AgentUpdateSchema, response: { 200: AgentSchema } } }, async (request) =>
    request.store.agents.update(request.params.id, request.body));

  app.delete('/agents/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.agents.delete(request.params.id))) throw notFound('agent', request.params.id);
    reply.code(204);
  });
};
