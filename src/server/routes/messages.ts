import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { MessageSchema, MessageStatusSchema } from '../../domain/entities.js';
import { TimestampSchema } from '../../domain/inputs.js';
import { example } from '../openapi.js';
import { found, IdParams } from './params.js';
import { fetchMedia, inlineSafe } from '../../channels/media.js';

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

  app.get('/messages/:id/media', {
    schema: {
      operationId: 'getMessageMedia', summary: "An inbound message's media file",
      description: "Fetched through the provider with the channel's token (WhatsApp: the media URL is looked up each time, as it expires) and streamed with its mime type; never stored. `part` picks a part by index (default the first with media). 404 when the message has no media; 413 beyond the channel's `maxMediaBytes` (default 16 MiB); 503 when the provider does not hand it over.",
      params: IdParams, querystring: Type.Object({ part: Type.Optional(Type.Integer({ minimum: 0, maximum: 99 })) }, { additionalProperties: false }),
      response: { 200: { description: 'The file, with its Content-Type', type: 'string', format: 'binary' } },
    },
  }, async (request, reply) => {
    const message = found(await request.store.messages.get(request.params.id), 'message', request.params.id);
    const file = await fetchMedia(app.channels, request.store, message, request.query.part);
    reply.type(file.mimeType);
    // A file from a customer is theirs, not this API's: never sniffed, and anything but plain media is a download.
    reply.header('x-content-type-options', 'nosniff');
    if (!inlineSafe(file.mimeType)) reply.header('content-disposition', 'attachment');
    if (file.size !== null) reply.header('content-length', file.size);
    return reply.send(file.body as never);
  });

  app.post('/messages/:id/status', {
    schema: {
      operationId: 'updateMessageStatus', summary: "Record a message's delivery status",
      description: 'Forward only (pending → sent → delivered → read; failed from pending or sent): a late or repeated receipt answers `changed: false` and writes nothing. A received WhatsApp message marked `read` is marked read at WhatsApp too (best effort).',
      params: IdParams, body: example(StatusBody, { status: 'read', at: '2026-12-01T09:31:00Z' }), response: { 200: StatusResult },
    },
  }, async (request) => {
    const result = await request.store.messages.updateStatus(request.params.id, request.body.status, request.body.at);
    // A received WhatsApp message marked read: WhatsApp is told too (its sender sees blue ticks).
    if (result.changed && result.message.status === 'read') void app.channels.markRead(request.store, result.message).catch(() => {});
    return result;
  });
};
