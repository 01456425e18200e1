import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../store/store.js';
import { errorBody } from '../errors.js';

export const healthRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  /** The process is alive. */
  app.get('/health', async () => ({ status: 'ok' }));

  /** The database answers; 503 otherwise, so a load balancer stops sending traffic here. */
  app.get('/health/ready', async (_request, reply) => {
    try {
      await store.ping();
      return { status: 'ready' };
    } catch (error) {
      reply.code(503);
      return errorBody('unavailable', `The database does not answer: ${(error as Error).message}`);
    }
  });
};
