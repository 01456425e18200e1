import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { MessageSchema, MessageStatusSchema } from '../../domain/entities.js';
import { TimestampSchema } from '../../domain/inputs.js';
import { example } from '../openapi.js';
import { found, IdParams } from './params.js';

const StatusBody = Type.Object({
  status: MessageStatusSchema,
  at: Type.Optional({ ...TimestampSchema, description: 'When the provider reported it (ISO 8601 or epoch ms); default now.' }),
}, { additionalProperties: false });
const StatusResult = Type.Object({
  message: MessageSchema,
  changed: Type.Boolean({ description: 'False when the status would have moved backwards or stayed: nothing was written.' }),
});

/** One message by id, and its delivery status for bots that receive the provider's receipts themselves. */
export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/messages/:id', { schema: { operationId: 'getMessage', summary: 'Get a message', description: 'Its conversation, seq, role, content and parts, and its delivery status.', params: IdParams, response: { 200: MessageSchema } } }, async (request) =>
    found(await request.store.messages.get(request.params.id), 'message', request.params.id));

  app.post('/messages/:id/status', {
    schema: {
      operationId: 'updateMessageStatus', summary: "Record a message's delivery status",
      description: 'Forward only (pending → sent → delivered → read; failed from pending or sent): a late or repeated receipt answers `changed: false` and writes nothing.',
      params: IdParams, body: example(StatusBody, { status: 'read', at: '2026-12-01T09:31:00Z' }), response: { 200: StatusResult },
    },
  }, async (request) =>
    request.store.messages.updateStatus(request.params.id, request.body.status, request.body.at));
};
