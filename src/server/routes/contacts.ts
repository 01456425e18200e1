import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { notFound } from '../../domain/errors.js';
import { ContactListSchema, ContactUpsertSchema } from '../../domain/schemas.js';
import { IdParams } from './params.js';

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/contacts', { schema: { body: ContactUpsertSchema } }, async (request) => request.store.contacts.upsert(request.body));

  app.get('/contacts', { schema: { querystring: ContactListSchema } }, async (request) => request.store.contacts.list(request.query));

  app.get('/contacts/:id', { schema: { params: IdParams } }, async (request) => {
    const contact = await request.store.contacts.get(request.params.id);
    if (!contact) throw notFound('contact', request.params.id);
    return contact;
  });

  // Right to erasure: the person and everything of theirs.
  app.delete('/contacts/:id', { schema: { params: IdParams } }, async (request, reply) => {
    if (!(await request.store.contacts.erase(request.params.id))) throw notFound('contact', request.params.id);
    reply.code(204);
  });

  // Portability: everything stored about the person.
  app.get('/contacts/:id/export', { schema: { params: IdParams } }, async (request) => {
    const exported = await request.store.contacts.export(request.params.id);
    if (!exported) throw notFound('contact', request.params.id);
    return exported;
  });
};
