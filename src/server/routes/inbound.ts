import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IngestResultSchema } from '../../domain/entities.js';
import { isColloquyError } from '../../domain/errors.js';
import { IngestSchema } from '../../domain/inputs.js';

export const inboundRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Channel-agnostic inbound message: 201 when stored, 200 for a repeat of the same externalId.
  app.post('/inbound', { schema: { body: IngestSchema, response: { 200: IngestResultSchema, 201: IngestResultSchema } } }, async (request, reply) => {
    const channel = request.body.channelId.toLowerCase();
    try {
      const result = await request.store.ingest(request.body);
      app.metrics.ingest(channel, result.duplicate ? 'duplicate' : 'stored');
      reply.code(result.duplicate ? 200 : 201);
      return result;
    } catch (error) {
      // A channel id the caller made up must never become a metric label (unbounded cardinality).
      const known = !isColloquyError(error, 'not_found') && (await request.store.channels.get(channel).catch(() => null)) !== null;
      app.metrics.ingest(known ? channel : 'unknown', 'error');
      throw error;
    }
  });
};
