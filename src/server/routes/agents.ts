import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { AgentSchema, PageSchema } from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import { AgentCreateSchema, AgentUpdateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';
import type { Agent } from '../../domain/entities.js';
import type { Providers } from '../../agents/providers.js';

/** An agent as answered: with whether its model's provider can be used on this server, and why not. */
export const AgentView = Type.Object({
  ...AgentSchema.properties,
  ready: Type.Boolean({ description: "Whether this server can call the agent's model (its provider has a key)." }),
  readyReason: Type.Union([Type.String(), Type.Null()], { description: 'Why not, naming the variable to set; null when ready.' }),
}, { title: 'Agent' });

/**
 * Agents. The model is checked against this server's providers (`agents/providers.ts`): `<provider>:<model id>` of a
 * known one, else 400 naming them; the library's store does not check it (it brings its own model calls).
 */
export const agentRoutes: FastifyPluginAsyncTypebox<{ providers: Providers }> = async (app, { providers }) => {
  const view = (agent: Agent) => {
    const { ready, reason } = providers.status(agent.model);
    return { ...agent, ready, readyReason: reason };
  };
  app.post('/agents', {
    schema: {
      operationId: 'createAgent', summary: 'Create an agent', description: 'An AI persona; its name is unique in the tenant.',
      body: example(AgentCreateSchema, { name: 'receptionist', instructions: 'You book appointments for the clinic. Be brief.', model: 'openai:gpt-4o-mini', params: { temperature: 0.3 } }),
      response: { 201: answer(AgentView, 'Created'), 409: failure('conflict') },
    },
  }, async (request, reply) => {
    providers.check(request.body.model);
    reply.code(201);
    return view(await request.store.agents.create(request.body));
  });

  app.get('/agents', {
    schema: { operationId: 'listAgents', summary: 'List agents', description: 'By name.', querystring: PageOptionsSchema, response: { 200: PageSchema(AgentView) } },
  }, async (request) => {
    const page = await request.store.agents.list(request.query);
    return { ...page, data: page.data.map(view) };
  });

  app.get('/agents/:id', {
    schema: { operationId: 'getAgent', summary: 'Get an agent', description: "Its instructions, model and parameters, and whether this server can call its model (`ready`, and why not).", params: IdParams, response: { 200: AgentView } },
  }, async (request) => view(found(await request.store.agents.get(request.params.id), 'agent', request.params.id)));

  app.patch('/agents/:id', {
    schema: {
      operationId: 'updateAgent', summary: 'Change an agent', description: 'Changes the fields given.',
      params: IdParams, body: example(AgentUpdateSchema, { instructions: 'Be kind and brief.' }), response: { 200: answer(AgentView, 'The agent as changed'), 409: failure('conflict') },
    },
  }, async (request) => {
    if (request.body.model !== undefined) providers.check(request.body.model);
    return view(await request.store.agents.update(request.params.id, request.body));
  });

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
