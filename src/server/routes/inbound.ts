import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IngestResultSchema } from '../../domain/entities.js';
import { isColloquyError } from '../../domain/errors.js';
import { IngestSchema } from '../../domain/inputs.js';
import { answer, example, failure } from '../openapi.js';

export const inboundRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/inbound', {
    schema: {
      operationId: 'ingest', summary: 'Receive a message from any channel',
      description: 'Finds or creates the contact by handle, joins its open conversation on the channel (or reopens the last one within the reopen window, or starts one linked to it), and appends the message once: a repeat of the same `externalId` stores nothing and answers the first with `duplicate: true`. Times are ISO 8601 or epoch milliseconds (seconds are refused).',
      body: example(IngestSchema, {
        channelId: '018f2a4e-6c1b-7b9a-9d7e-0a1b2c3d4e5f', from: { address: '5511999999999', name: 'Ana' },
        externalId: 'wamid.HBgNNTUxMTk5OTk5OTk5ORUCABIYFDNBMDI', content: 'Quero marcar uma consulta', timestamp: '2026-12-01T09:30:00Z',
      }),
      response: {
        200: answer(IngestResultSchema, 'A repeat of the same externalId: the message stored the first time (`duplicate: true`)'),
        201: answer(IngestResultSchema, 'Stored'),
        404: failure('not_found'),
      },
    },
  }, async (request, reply) => {
    const channel = request.body.channelId.toLowerCase();
    try {
      const result = await request.store.ingest(request.body);
      app.metrics.ingest(channel, result.duplicate ? 'duplicate' : 'stored');
      const { traffic } = app.channels;
      traffic.count(channel, 'received');
      traffic.count(channel, result.duplicate ? 'duplicates' : 'stored');
      traffic.conversation(channel, result);
      if (!result.duplicate) traffic.inbound(channel, app.channels.ops.clock());
      reply.code(result.duplicate ? 200 : 201);
      return result;
    } catch (error) {
      // A channel id the caller made up must never become a metric label (unbounded cardinality).
      const known = !isColloquyError(error, 'not_found') && (await request.store.channels.get(channel).catch(() => null)) !== null;
      app.metrics.ingest(known ? channel : 'unknown', 'error');
      if (known) {
        app.channels.traffic.count(channel, 'received');
        app.channels.traffic.count(channel, 'errors');
      }
      throw error;
    }
  });
};
