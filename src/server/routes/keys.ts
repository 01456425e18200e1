import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ApiKeySchema, AuditEntrySchema, PageSchema } from '../../domain/entities.js';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { AuditListSchema, KeyCreateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

const CreatedKey = Type.Object({
  key: ApiKeySchema,
  secret: Type.String({ description: 'The key itself: shown this once, only its hash is stored.' }),
});

/** Operators' routes: the admin key (COLLOQUY_ADMIN_KEY) only, since keys are what separates tenants. */
export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const adminOnly = async (request: FastifyRequest) => {
    if (!app.auth.isAdmin(request.keyId)) {
      throw new ColloquyError('forbidden', 'Managing keys and reading the audit log need the admin key (COLLOQUY_ADMIN_KEY of `colloquy serve`).');
    }
  };

  app.post('/keys', {
    onRequest: adminOnly,
    schema: {
      operationId: 'createKey', summary: 'Create an API key',
      description: 'A key for one tenant (the tenant exists from its first key), optionally expiring. The key is in `secret`, shown this once. Audited.',
      body: example(KeyCreateSchema, { tenant: 'clinic', name: 'booking-bot', expiresAt: '2027-12-31T00:00:00Z' }),
      response: { 201: answer(CreatedKey, 'Created: keep `secret`, it is not shown again'), 403: failure('forbidden') },
    },
  }, async (request, reply) => {
    reply.code(201);
    return request.store.keys.create(request.body);
  });

  app.get('/tenants', {
    onRequest: adminOnly,
    schema: {
      tags: ['keys'], operationId: 'listTenants', summary: 'List tenants',
      description: 'Every tenant that has anything (a key, a channel, an agent, a contact or a conversation), by name: what the admin key may name in `X-Colloquy-Tenant`.',
      response: { 200: Type.Object({ data: Type.Array(Type.Object({ id: Type.String() })) }), 403: failure('forbidden') },
    },
  }, async (request) => ({ data: (await request.store.tenants()).map((id) => ({ id })) }));

  app.get('/me', {
    schema: {
      tags: ['keys'], operationId: 'whoAmI', summary: 'Who the caller is',
      description: "The tenant the call acts on and how the caller came in: `admin` for the admin key (which may name another tenant in `X-Colloquy-Tenant`), `open` on a loopback server without keys, else `key` with the key's id. What the dashboard asks after signing in.",
      response: { 200: Type.Object({ tenant: Type.String(), access: Type.Union([Type.Literal('key'), Type.Literal('admin'), Type.Literal('open')]), keyId: Type.Union([Type.String(), Type.Null()]) }, { title: 'Caller' }) },
    },
  }, async (request) => {
    const access = request.keyId === 'open' ? 'open' : app.auth.isAdmin(request.keyId) ? 'admin' : 'key';
    return { tenant: request.store.tenantId, access, keyId: access === 'key' ? request.keyId : null } as const;
  });

  app.get('/keys', {
    onRequest: adminOnly,
    schema: { operationId: 'listKeys', summary: 'List API keys', description: 'Every tenant\'s, oldest first; never the keys themselves.', querystring: PageOptionsSchema, response: { 200: PageSchema(ApiKeySchema), 403: failure('forbidden') } },
  }, async (request) => request.store.keys.list(request.query));

  app.get('/keys/:id', {
    onRequest: adminOnly,
    schema: { operationId: 'getKey', summary: 'Get an API key', description: 'Its tenant, name, prefix, and when it was created, revoked, or expires.', params: IdParams, response: { 200: ApiKeySchema, 403: failure('forbidden') } },
  }, async (request) => found(await request.store.keys.get(request.params.id), 'API key', request.params.id));

  app.delete('/keys/:id', {
    onRequest: adminOnly,
    schema: {
      operationId: 'revokeKey', summary: 'Revoke an API key',
      description: 'Every instance refuses it within 5 s, and its open event streams end. Revoking a revoked key changes nothing. Audited.',
      params: IdParams, response: { 204: answer(Type.Null(), 'Revoked'), 403: failure('forbidden') },
    },
  }, async (request, reply) => {
    if (!(await request.store.keys.get(request.params.id))) throw notFound('API key', request.params.id);
    await request.store.keys.revoke(request.params.id);
    reply.code(204);
  });

  app.get('/audit', {
    onRequest: adminOnly,
    schema: {
      operationId: 'listAudit', summary: 'The audit log',
      description: 'Changes to keys (and so tenants) and channel secrets: who (`actor`), what, when; never a secret. Oldest first; `tenant` for one tenant\'s.',
      querystring: AuditListSchema, response: { 200: PageSchema(AuditEntrySchema), 403: failure('forbidden') },
    },
  }, async (request) => request.store.audit.list(request.query));
};
