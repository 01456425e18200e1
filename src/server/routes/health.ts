import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { answer, failure } from '../openapi.js';
import type { Store } from '../../store/store.js';
import { VERSION } from '../../version.js';
import { errorBody } from '../errors.js';
import type { Metrics } from '../metrics.js';

const Status = (status: string) => Type.Object({ status: Type.Literal(status) });
const Detailed = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  version: Type.String(), node: Type.String(), uptimeSeconds: Type.Integer(),
  database: Type.Record(Type.String(), Type.Unknown()), cache: Type.Record(Type.String(), Type.Unknown()),
  eventStreams: Type.Number(), channels: Type.Record(Type.String(), Type.Unknown()),
});

/** Operations endpoints: unauthenticated (they hold counts, never conversation data); keep them off the public internet. */
export const healthRoutes: FastifyPluginAsync<{ store: Store; metrics: Metrics }> = async (app, { store, metrics }) => {
  app.get('/health', { schema: { operationId: 'health', summary: 'The process is alive', description: 'Always `{ "status": "ok" }` while the process serves: a liveness probe.', response: { 200: Status('ok') } } }, async () => ({ status: 'ok' }));

  app.get('/health/ready', {
    schema: { operationId: 'ready', summary: 'The database answers', description: '200 `{ "status": "ready" }`, or 503 `unavailable` so that a load balancer stops sending traffic here.', response: { 200: Status('ready'), 503: failure('unavailable') } },
  }, async (_request, reply) => {
    try {
      await store.ping();
      return { status: 'ready' };
    } catch (error) {
      reply.code(503);
      return errorBody('unavailable', `The database does not answer: ${(error as Error).message}`);
    }
  });

  app.get('/health/detailed', {
    schema: {
      operationId: 'healthDetailed', summary: 'Everything an operator checks first',
      description: '`status` (`ok`; `degraded` while the hot tier fails and the database serves everything; `down`, with 503, when the database does not answer), version, database latency and pool, cache, event streams, per-channel counters.',
      response: { 200: Detailed, 503: answer(Detailed, 'The database does not answer (`status: "down"`)') },
    },
  }, async (_request, reply) => {
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

  app.get('/metrics', { schema: { operationId: 'metrics', summary: 'Prometheus metrics', description: 'The Prometheus text exposition format.', produces: ['text/plain'], response: { 200: answer(Type.String(), 'Metrics, `text/plain; version=0.0.4`') } } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
