import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ContactExportSchema, ContactSchema, HandleSchema, PageSchema } from '../../domain/entities.js';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { ContactUpsertSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { found, IdParams } from './params.js';

// A list, or the one contact of a handle (`?channel=whatsapp&address=…`).
const ContactQuery = Type.Object({
  ...PageOptionsSchema.properties,
  channel: Type.Optional(HandleSchema.properties.channel),
  address: Type.Optional(HandleSchema.properties.address),
}, { additionalProperties: false });

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/contacts', { schema: { body: ContactUpsertSchema, response: { 200: ContactSchema } } }, async (request) =>
    request.store.contacts.upsert(request.body));

  app.get('/contacts', { schema: { querystring: ContactQuery, response: { 200: PageSchema(ContactSchema) } } }, async (request) => {
    const { channel, address, ...page } = request.query;
    if (channel === undefined && address === undefined) return request.store.contacts.list(page);
    if (channel === undefined || address === undefined) {
      throw new ColloquyError('invalid_argument', 'Find a contact by handle with both `channel` and `address` (e.g. ?channel=whatsapp&address=5511999999999).', {
        errors: [{ path: channel === undefined ? '/channel' : '/address', message: 'is required with the other' }],
      });
    }
    const contact = await request.store.contacts.findByHandle({ channel, address });
    return { data: contact ? [contact] : [], nextCursor: null };
  });

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
