import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ContactExportSchema, ContactSchema, PageSchema } from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';
import { ContactUpsertSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { found, IdParams } from './params.js';

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/contacts', { schema: { body: ContactUpsertSchema, response: { 200: ContactSchema } } }, async (request) =>
    request.store.contacts.upsert(request.body));

  app.get('/contacts', { schema: { querystring: PageOptionsSchema, response: { 200: PageSchema(ContactSchema) } } }, async (request) =>
    request.store.contacts.list(request.query));

  app.get('/contacts/:id', { schema: { params: IdParams, response: { 200: ContactSchema } } }, async (request) =>
    found(await request.store.contacts.get(request.params.id), 'contact', request.params.id));

  // Right to erasure: the person and everything of theirs.
  app.delete('/contacts/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.contacts.erase(request.params.id))) throw notFound('contact', request.params.id);
    reply.code(204);
  });

  // Portability: everything stored about the person.
  app.get('/contacts/:id/export', { schema: { params: IdParams, response: { 200: ContactExportSchema } } }, async (request) =>
    found(await request.store.contacts.export(request.params.id), 'contact', request.params.id));
};
