import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ConversationSchema, PageSchema } from '../../domain/entities.js';
import { PageOptionsSchema } from '../../domain/inputs.js';
import { answer, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

const TrashEntrySchema = Type.Object({
  id: Type.String({ description: "The conversation's id, the same once restored." }),
  conversation: ConversationSchema,
  messages: Type.Integer(),
  deletedAt: Type.String({ format: 'date-time' }),
  purgeAt: Type.String({ format: 'date-time', description: 'When it is erased unless restored.' }),
}, { title: 'TrashEntry' });
const Restored = Type.Object({
  conversation: ConversationSchema,
  closed: Type.Boolean({ description: 'It came back closed: its contact has a newer non-closed conversation on the channel.' }),
  externalIdsDropped: Type.Integer({ description: "Messages that came back without their external id (a provider's retry stored it again meanwhile)." }),
}, { title: 'RestoredConversation' });

/** The trash: deleted conversations, restorable until their retention ends. */
export const trashRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/trash', {
    schema: { operationId: 'listTrash', summary: 'List the trash', description: 'Deleted conversations, newest deletion first, until they are purged.', querystring: PageOptionsSchema, response: { 200: PageSchema(TrashEntrySchema) } },
  }, async (request) => request.store.trash.list(request.query));

  app.get('/trash/:id', {
    schema: { operationId: 'getTrashEntry', summary: 'A conversation in the trash', description: 'As it was when deleted.', params: IdParams, response: { 200: TrashEntrySchema, 404: failure('not_found') } },
  }, async (request) => found(await request.store.trash.get(request.params.id), 'conversation in the trash', request.params.id));

  app.post('/trash/:id/restore', {
    schema: {
      operationId: 'restoreConversation', summary: 'Restore a conversation',
      description: 'Puts it back with its messages (ids and seqs unchanged) and state, and links the conversations that followed it again; closed when its contact has a newer non-closed conversation on the channel. A `conversation.restored` event.',
      params: IdParams, response: { 200: answer(Restored, 'Restored'), 404: failure('not_found') },
    },
  }, async (request) => request.store.trash.restore(request.params.id));

  app.delete('/trash/:id', {
    schema: { operationId: 'purgeTrashEntry', summary: 'Erase from the trash', description: 'Erases it now, before its retention ends.', params: IdParams, response: { 204: answer(Type.Null(), 'Erased'), 404: failure('not_found') } },
  }, async (request, reply) => {
    found((await request.store.trash.purge(request.params.id)) || null, 'conversation in the trash', request.params.id);
    reply.code(204);
  });
};
