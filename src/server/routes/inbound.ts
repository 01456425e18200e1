import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IngestSchema } from '../../domain/schemas.js';

export const inboundRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Channel-agnostic inbound message: 201 when stored, 200 for a repeat of the same externalId.
  app.post('/inbound', { schema: { body: IngestSchema } }, async (request, reply) => {
    const result = await request.store.ingest(request.body);
    reply.code(result.duplicate ? 200 : 201);
    return result;
  });
};
