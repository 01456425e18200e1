import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AgentSchema, PageSchema } from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import { AgentCreateSchema, AgentUpdateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/agents', {
    schema: {
      operationId: 'createAgent', summary: 'Create an agent', description: 'An AI persona; its name is unique in the tenant.',
      body: example(AgentCreateSchema, { name: 'receptionist', instructions: 'You book appointments for the clinic. Be brief.', model: 'openai:gpt-4o-mini', params: { temperature: 0.3 } }),
      response: { 201: answer(AgentSchema, 'Created'), 409: failure('conflict') },
    },
  }, async (request, reply) => {
    reply.code(201);
    return request.store.agents.create(request.body);
  });

  app.get('/agents', {
    schema: { operationId: 'listAgents', summary: 'List agents', description: 'By name.', querystring: PageOptionsSchema, response: { 200: PageSchema(AgentSchema) } },
  }, async (request) => request.store.agents.list(request.query));

  app.get('/agents/:id', {
    schema: { operationId: 'getAgent', summary: 'Get an agent', description: 'Its instructions, model and parameters.', params: IdParams, response: { 200: AgentSchema } },
  }, async (request) => found(await request.store.agents.get(request.params.id), 'agent', request.params.id));

  app.patch('/agents/:id', {
    schema: {
      operationId: 'updateAgent', summary: 'Change an agent', description: 'Changes the fields given.',
      params: IdParams, body: example(AgentUpdateSchema, { instructions: 'Be kind and brief.' }), response: { 200: answer(AgentSchema, 'The agent as changed'), 409: failure('conflict') },
    },
  }, async (request) => request.store.agents.update(request.params.id, request.body));

  app.delete('/agents/:id', {
    schema: {
      operationId: 'deleteAgent', summary: 'Delete an agent', description: 'Conversations it answered keep their history and no longer name it.',
      params: IdParams, response: { 204: answer(Type.Null(), 'Deleted') },
    },
  }, async (request, reply) => {
    if (!(await request.store.agents.delete(request.params.id))) throw notFound('agent', request.params.id);
    reply.code(204);
  });
};
