import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ContactExportSchema, ContactSchema, HandleSchema, PageSchema } from '../../domain/entities.js';
import { ColloquyError, notFound } from '../../domain/errors.js';
import { ContactListSchema, ContactUpsertSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

// A list, or the one contact of a handle (`?channel=whatsapp&address=…`).
const ContactQuery = Type.Object({
  ...ContactListSchema.properties,
  channel: Type.Optional(HandleSchema.properties.channel),
  address: Type.Optional(HandleSchema.properties.address),
}, { additionalProperties: false });

export const contactRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/contacts', {
    schema: {
      operationId: 'upsertContact', summary: 'Create or update a contact by handle',
      description: 'Finds the contact of the handle (one per handle in a tenant) or creates it; sets `name` and `metadata` when given.',
      body: example(ContactUpsertSchema, { handle: { channel: 'whatsapp', address: '5511999999999' }, name: 'Ana', metadata: { vip: true } }),
      response: { 200: answer(ContactSchema, 'The contact of the handle'), 409: failure('conflict') },
    },
  }, async (request) => request.store.contacts.upsert(request.body));

  app.get('/contacts', {
    schema: {
      operationId: 'listContacts', summary: 'List or search contacts, or find one by handle',
      description: 'Oldest first; with `q`, those whose name or a handle\'s address contains it (any case); with `channel` and `address`, the contact of that handle (a page of zero or one).',
      querystring: ContactQuery, response: { 200: PageSchema(ContactSchema) },
    },
  }, async (request) => {
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

  app.get('/contacts/:id', {
    schema: { operationId: 'getContact', summary: 'Get a contact', description: 'Its name, metadata and handles.', params: IdParams, response: { 200: ContactSchema } },
  }, async (request) => found(await request.store.contacts.get(request.params.id), 'contact', request.params.id));

  app.delete('/contacts/:id', {
    schema: {
      operationId: 'eraseContact', summary: 'Erase a person (right to erasure)',
      description: 'Erases the contact with its handles, conversations, messages and state; a new message from the same handle starts from nothing.',
      params: IdParams, response: { 204: answer(Type.Null(), 'Erased') },
    },
  }, async (request, reply) => {
    if (!(await request.store.contacts.erase(request.params.id))) throw notFound('contact', request.params.id);
    reply.code(204);
  });

  app.get('/contacts/:id/export', {
    schema: {
      operationId: 'exportContact', summary: 'Everything stored about a person (portability)',
      description: 'The contact, its conversations with their state, and every message.', params: IdParams, response: { 200: ContactExportSchema },
    },
  }, async (request) => found(await request.store.contacts.export(request.params.id), 'contact', request.params.id));
};
