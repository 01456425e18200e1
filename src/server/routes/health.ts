import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../store/store.js';
import { VERSION } from '../../version.js';
import { errorBody } from '../errors.js';
import type { Metrics } from '../metrics.js';

/** Operations endpoints: unauthenticated (they hold counts, never conversation data); keep them off the public internet. */
export const healthRoutes: FastifyPluginAsync<{ store: Store; metrics: Metrics }> = async (app, { store, metrics }) => {
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

  /** Everything an operator checks first; 503 when the database does not answer. */
  app.get('/health/detailed', async (_request, reply) => {
    let database: Record<string, unknown>;
    try {
      database = { status: 'ok', ...(await store.health()) };
    } catch (error) {
      database = { status: 'down', dialect: store.dialect, error: (error as Error).message };
      reply.code(503);
    }
    const cache = store.cacheStats() ?? { status: 'none' };
    return {
      // Degraded: the hot tier is failing and every request is served by the database (slower, still correct).
      status: database.status !== 'ok' ? 'down' : cache.status === 'degraded' ? 'degraded' : 'ok',
      version: VERSION,
      node: process.version,
      uptimeSeconds: Math.round(process.uptime()),
      database,
      cache,
      eventStreams: (await metrics.streams.get()).values[0]?.value ?? 0,
      channels: Object.fromEntries(metrics.channels),
    };
  });

  /** Prometheus exposition format. */
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
