import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { answer, failure } from '../openapi.js';
import type { Store } from '../../store/store.js';
import { VERSION } from '../../version.js';
import { ColloquyError, isColloquyError } from '../../domain/errors.js';
import { errorBody } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { channelHealth, summaryOf, type HealthMonitor } from '../../channels/channel-health.js';
import type { ChannelRuntime } from '../../channels/channel-runtime.js';
import type { Providers } from '../../agents/providers.js';

const Status = (status: string) => Type.Object({ status: Type.Literal(status) });
const HealthStatus = Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]);
const TenantStatus = Type.Union([Type.Literal('ok'), Type.Literal('degraded')]);
const NullableString = Type.Union([Type.String(), Type.Null()]);
/** summaryOf's shape. */
const ChannelSummary = {
  status: Type.String({ description: 'ok, stale, failing or not_configured (see GET /v1/channels/:id `health`).' }), reasons: Type.Array(Type.String()),
  received: Type.Integer(), stored: Type.Integer(), duplicates: Type.Integer(), rejected: Type.Integer(), errors: Type.Integer(), sent: Type.Integer(), sendFailed: Type.Integer(),
  lastInboundAt: NullableString, lastOutboundAt: NullableString, outboxDepth: Type.Integer(), oldestPendingAgeSeconds: Type.Union([Type.Number(), Type.Null()]),
};
const Detailed = Type.Object({
  status: HealthStatus,
  version: Type.String(), node: Type.String(), uptimeSeconds: Type.Integer(),
  database: Type.Record(Type.String(), Type.Unknown()), cache: Type.Record(Type.String(), Type.Unknown()),
  eventStreams: Type.Number(),
  providers: Type.Record(Type.String(), Type.Object({ kind: Type.String(), baseUrl: Type.Union([Type.String(), Type.Null()]), ready: Type.Boolean(), reason: Type.Union([Type.String(), Type.Null()]) }), {
    description: "The model providers agents may name on this server, whether each has its key, and why not (never the key).",
  }),
  channels: Type.Record(Type.String(), Type.Object({ tenant: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), name: Type.Optional(Type.String()), ...Object.fromEntries(Object.entries(ChannelSummary).map(([k, v]) => [k, Type.Optional(v)])) }), {
    description: "Every tenant's channels by id, their health and fleet-wide totals; `unknown`: calls naming no known channel, counted by this instance.",
  }),
});
const TenantHealth = Type.Object({
  status: TenantStatus,
  tenant: Type.String(),
  channels: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), name: Type.String(), ...ChannelSummary }, { description: 'Totals across the fleet.' })),
  agents: Type.Integer({ description: 'How many agents the tenant has (up to 200 counted).' }),
});

const status = async (store: Store): Promise<{ status: 'ok' | 'degraded' | 'down'; database: Record<string, unknown> }> => {
  try {
    const database = { status: 'ok', ...(await store.health()) };
    return { status: store.cacheStats()?.status === 'degraded' ? 'degraded' : 'ok', database };
  } catch (error) {
    return { status: 'down', database: { status: 'down', dialect: store.dialect, error: (error as Error).message } };
  }
};

export interface HealthOptions {
  store: Store;
  metrics: Metrics;
  /** Refuses a caller who may not see every tenant's figures (`/health/detailed`, `/metrics`). */
  operator: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Channel health as last judged; judged on request when it is not running in the background. */
  health: HealthMonitor;
  providers: Providers;
}

/**
 * Operations endpoints. `/health` and `/health/ready` are open and say nothing but a status. `/health/detailed`
 * and `/metrics` show every tenant's channels and counters: on a server with keys they need the admin key
 * (unless `--metrics-public`).
 */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { store, metrics, operator, health: monitor, providers }) => {
  const judged = async () => {
    if (!monitor.started()) await monitor.check();
    return monitor.latest;
  };
  app.get('/health', { schema: { operationId: 'health', summary: 'The process is alive', description: 'Always `{ "status": "ok" }` while the process serves: a liveness probe.', response: { 200: Status('ok') } } }, async () => ({ status: 'ok' }));

  app.get('/health/ready', {
    schema: { operationId: 'ready', summary: 'The database answers, with its schema', description: '200 `{ "status": "ready" }`, or 503 `unavailable` (`details.reason: "schema_missing"` for a database without Colloquy\'s tables) so that a load balancer stops sending traffic here.', response: { 200: Status('ready'), 503: failure('unavailable', 'schema_outdated', 'schema_too_new') } },
  }, async (_request, reply) => {
    try {
      await store.ready();
      return { status: 'ready' };
    } catch (error) {
      reply.code(503);
      // Open to anyone: the status and why, never the driver's words (a database name, a host and port).
      const reason = isColloquyError(error) && typeof error.details?.reason === 'string' ? error.details.reason : undefined;
      if (isColloquyError(error, 'schema_outdated') || isColloquyError(error, 'schema_too_new')) {
        return errorBody(error.code, error.code === 'schema_outdated' ? 'The database lacks this version\'s migrations: run `colloquy migrate`.' : 'The database was migrated by a newer Colloquy.');
      }
      if (reason === 'schema_missing') return errorBody('unavailable', "The database has none of Colloquy's tables: run `colloquy migrate`.", { reason });
      return errorBody('unavailable', 'The database does not answer.', ...(reason ? [{ reason }] : []));
    }
  });

  app.get('/health/detailed', {
    onRequest: operator,
    schema: {
      operationId: 'healthDetailed', summary: 'Everything an operator checks first',
      description: '`status` (`ok`; `degraded` while the hot tier fails and the database serves everything; `down`, with 503, when the database does not answer), version, database latency and pool, cache, event streams, per-channel counters. The admin key on a server with keys.',
      security: [{ apiKey: [] }],
      response: { 200: Detailed, 403: failure('forbidden'), 503: answer(Detailed, 'The database does not answer (`status: "down"`)') },
    },
  }, async (_request, reply) => {
    const health = await status(store);
    if (health.status === 'down') reply.code(503);
    const channels: Record<string, unknown> = {};
    if (health.status !== 'down') {
      for (const [id, { tenant, channel, health: h }] of await judged()) channels[id] = { tenant, kind: channel.kind, name: channel.name, ...summaryOf(h) };
    }
    const unknown = metrics.channels.get('unknown');
    if (unknown) channels.unknown = { received: unknown.received, errors: unknown.errors };
    return {
      ...health,
      version: VERSION,
      node: process.version,
      uptimeSeconds: Math.round(process.uptime()),
      cache: store.cacheStats() ?? { status: 'none' },
      eventStreams: (await metrics.streams.get()).values[0]?.value ?? 0,
      channels,
      providers: Object.fromEntries(providers.list().map(({ name, ...rest }) => [name, rest])),
    };
  });

  app.get('/metrics', {
    onRequest: operator,
    schema: { operationId: 'metrics', summary: 'Prometheus metrics', description: 'The Prometheus text exposition format. The admin key on a server with keys.', security: [{ apiKey: [] }], produces: ['text/plain'], response: { 200: answer(Type.String(), 'Metrics, `text/plain; version=0.0.4`'), 403: failure('forbidden') } },
  }, async (_request, reply) => {
    await judged().catch(() => undefined);
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

/** One tenant's view of its health, for its own keys: its channels' counters and agents; never another tenant's. */
export const tenantHealthRoutes: FastifyPluginAsyncTypebox<{ channels: ChannelRuntime }> = async (app, { channels: runtime }) => {
  app.get('/health', {
    schema: {
      operationId: 'tenantHealth', summary: "Your tenant's health", tags: ['operations'],
      description: "The service's status, this tenant's channels with their health and fleet-wide totals (received, stored, duplicates, rejected, errors, sends, outbox), and its agents.",
      response: { 200: TenantHealth },
    },
  }, async (request) => {
    const { store } = request;
    const health = await status(store);
    if (health.status === 'down') throw new ColloquyError('unavailable', 'The database does not answer; nothing can be read or written until it does.');
    const channels = [];
    let cursor: string | undefined;
    do {
      const page = await store.channels.list({ limit: 200, ...(cursor ? { cursor } : {}) });
      for (const c of page.data) channels.push({ id: c.id, kind: c.kind, name: c.name, ...summaryOf(await channelHealth(runtime, c)) });
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    const agents = (await store.agents.list({ limit: 200 })).data.length;
    return { status: health.status as 'ok' | 'degraded', tenant: store.tenantId, channels, agents };
  });
};

export const forbiddenUnlessAdmin = () => new ColloquyError('forbidden', '/health/detailed and /metrics show every tenant: send the admin key (COLLOQUY_ADMIN_KEY), or start the server with --metrics-public.');
