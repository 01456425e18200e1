import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { RedisClient } from '../cache/redis/redis-client.js';
import type { Store } from '../store/store.js';
import { createAuthenticator } from './auth.js';
import { createAuthThrottle } from './auth-throttle.js';
import { createIdentify } from './caller.js';
import { closeSilentSockets, DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { loggerOptions } from './logging.js';
import { coercer } from './coerce.js';
import { describeErrors } from '../domain/validate.js';
import { errorBody, handleError } from './errors.js';
import { createMetrics } from './metrics.js';
import { agentRoutes, AgentView } from './routes/agents.js';
import { channelRoutes } from './routes/channels.js';
import { contactRoutes } from './routes/contacts.js';
import { conversationRoutes } from './routes/conversations.js';
import { eventRoutes } from './routes/events.js';
import { forbiddenUnlessAdmin, healthRoutes, tenantHealthRoutes } from './routes/health.js';
import { inboundRoutes } from './routes/inbound.js';
import * as E from '../domain/entities.js';
import { WebhookDeliverySchema, WebhookEndpointSchema } from '../domain/webhook.js';
import { documentRoutes, ErrorSchema, registerDocs } from './openapi.js';
import type { StreamGrant } from './stream-tokens.js';
import { messageRoutes } from './routes/messages.js';
import { keyRoutes } from './routes/keys.js';
import { webhookRoutes } from './routes/webhooks.js';
import { createChannelRuntime, type ChannelRuntime } from '../channels/channel-runtime.js';
import { createHealthMonitor, type HealthMonitor } from '../channels/channel-health.js';
import { providersFrom, type Providers } from '../agents/providers.js';
import { createChatTurns, type ChatTurns } from '../agents/chat-turn.js';
import { agentChatRoutes } from './routes/agent-chat.js';
import { usageRoutes } from './routes/usage.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';
import { alertRoutes } from './routes/alerts.js';
import { trashRoutes } from './routes/trash.js';
import { reportRoutes } from './routes/reports.js';
import { statsRoutes } from './routes/stats.js';
import { doctorRoutes, type DoctorReport } from './routes/doctor.js';
import { AlertSchema } from '../domain/alert.js';
import { registerDashboard } from './dashboard.js';
import './decorations.js';

export interface AppConfig {
  readonly store: Store;
  /** pino options or false. Default: info level. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Largest accepted request body in bytes. Default 1 MiB. */
  readonly bodyLimit?: number;
  /** Key that may act on any tenant (`X-Colloquy-Tenant`); from COLLOQUY_ADMIN_KEY in `colloquy serve`. */
  readonly adminKey?: string | undefined;
  /** How long API key lookups are cached (revocation delay). Default 5000 ms. */
  readonly keyCacheMs?: number;
  /** Serve tenant `default` without authentication while the database has never had a key. `colloquy serve` allows it on loopback only. Default true. */
  readonly openWithoutKeys?: boolean;
  /** Also while every key is revoked or expired (`colloquy serve --open`, loopback only). Default false. */
  readonly forceOpen?: boolean;
  /** Host names an open server answers besides localhost, 127.0.0.1 and [::1] (DNS rebinding: any other Host is refused). */
  readonly allowedHosts?: readonly string[] | undefined;
  /** Failed authentications per client address per minute before it is refused (429) for the rest of the minute. Default 20; 0 turns it off. */
  readonly authFailuresPerMinute?: number;
  /** Proxies whose X-Forwarded-For to believe for the client address (IPs or CIDRs); default none: the socket's address. */
  readonly trustProxy?: readonly string[] | undefined;
  /** Keep /health/detailed and /metrics open on a server with keys (default: they need the admin key then). */
  readonly metricsPublic?: boolean;
  /** Connection limits; see `serverLimits`. */
  readonly limits?: Partial<ServerLimits>;
  /** Requests per minute per API key (per address without keys); 0 turns the limit off. Default 60000. */
  readonly rateLimitPerMinute?: number;
  /** Redis holding the rate-limit counters, so that a fleet shares them; each instance counts alone without it. */
  readonly rateLimitRedis?: RedisClient | undefined;
  /** Prefix of the rate-limit keys in that Redis. Default `colloquy:`. */
  readonly redisPrefix?: string | undefined;
  /** Origins browsers may call the API from (CORS): exact origins such as `https://app.example.com`, or `*`. Default: none (CORS off). */
  readonly corsOrigins?: readonly string[] | undefined;
  /** The channels runtime the provider webhooks use (`colloquy serve` shares it with the outbox sender); default: one of the app's own, closed with it. */
  readonly channels?: ChannelRuntime | undefined;
  /** Channel health judged in the background (`colloquy serve`), for /health/detailed and /metrics; without it they judge on request. */
  readonly health?: HealthMonitor | undefined;
  /** The model providers agents may name; default from the environment (`agents/providers.ts`). */
  readonly providers?: Providers | undefined;
  /** How long a chat turn may take, waiting for an earlier turn of its conversation included. Default 120000 (`COLLOQUY_AGENT_TIMEOUT_MS`). */
  readonly agentTimeoutMs?: number | undefined;
  /** `colloquy doctor` of this deployment, for `GET /v1/doctor` (admin); without it the route is absent. */
  readonly doctor?: (() => Promise<DoctorReport>) | undefined;
  /** Whose days `GET /v1/reports/daily` counts (COLLOQUY_REPORT_TZ). Default UTC. */
  readonly reportTimezone?: string | undefined;
  /** The dashboard's built files, served at /dashboard/ (`/` redirects there); default dist/web; false: no dashboard. */
  readonly dashboard?: string | false | undefined;
  /** The chat turns runner (`colloquy serve` shares it with channel auto-replies); default: one of the app's own. */
  readonly chatTurns?: ChatTurns | undefined;
}

export { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
export { loggerOptions, redactUrl } from './logging.js';

export type App = FastifyInstance<any, any, any, FastifyBaseLogger, TypeBoxTypeProvider>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The HTTP API over a store. A route knows HTTP, not SQL: every rule lives in the store. */
export async function buildApp(config: AppConfig): Promise<App> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...config.limits };
  const app = Fastify({
    // Node checks the head and request timeouts of every socket once per connectionsCheckingInterval.
    http: { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs) },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    logger: config.logger ?? loggerOptions('info'),
    bodyLimit: config.bodyLimit ?? 1_048_576,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    ...(config.trustProxy?.length ? { trustProxy: [...config.trustProxy] } : {}),
    // Errors of the HTTP parser (headers too large, Content-Length with Transfer-Encoding, …): the same error shape.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return;
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        const late = JSON.stringify(errorBody('request_timeout', `The request did not arrive within ${limits.requestTimeoutMs / 1000} s; send it faster, or smaller.`));
        socket.end(`HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(late)}\r\nConnection: close\r\n\r\n${late}`);
        return;
      }
      const body = JSON.stringify(tooLarge
        ? errorBody('invalid_argument', 'The request headers are too large (16 KiB at most); send fewer or shorter headers.', { reason: 'headers_too_large' })
        : errorBody('invalid_argument', `The request is not valid HTTP (${error.code ?? 'malformed'}); send a well-formed HTTP/1.1 request.`, { reason: 'malformed_request' }));
      socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    // Errors Fastify raises before routing (a malformed URL, say) get the same error shape as all others.
    frameworkErrors: (error, _request, reply) => {
      const raw = reply as unknown as { code(status: number): { send(body: unknown): unknown } };
      void raw.code(error.statusCode && error.statusCode < 500 ? error.statusCode : 400)
        .send(errorBody('invalid_argument', `The request is malformed: ${error.message}.`));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.server.maxConnections = limits.maxConnections;
  closeSilentSockets(app.server, limits.headersTimeoutMs);
  app.decorate('limits', limits);
  documentRoutes(app);

  // The same TypeBox validation as the library. Query strings arrive as text: convert before checking.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = Compile(schema as TSchema);
    const coerce = httpPart === 'querystring' || httpPart === 'params' ? coercer(schema as TSchema) : undefined;
    return (data: unknown) => {
      const value = coerce ? coerce(data) : data;
      if (check.Check(value)) return { value };
      const validation = describeErrors(schema as TSchema, [...check.Errors(value)]).map((e) => ({ instancePath: e.path === '/' ? '' : e.path, message: e.message }));
      return { error: Object.assign(new Error('validation failed'), { validation }) as never };
    };
  });

  // Bodies are JSON: a text/plain one is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  // Invalid UTF-8 is refused, not silently replaced by U+FFFD and stored.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(Object.assign(new Error('The body is not valid UTF-8.'), { statusCode: 400 }), undefined);
      return;
    }
    parseJson(request, text, done);
  });

  app.decorateRequest('store', null as unknown as Store);
  app.decorateRequest('keyId', '');
  app.decorateRequest('streamGrant', undefined);
  const auth = createAuthenticator({
    store: config.store, adminKey: config.adminKey, openWithoutKeys: config.openWithoutKeys ?? true, forceOpen: config.forceOpen ?? false,
    ...(config.keyCacheMs !== undefined ? { cacheMs: config.keyCacheMs } : {}),
  });
  const failuresPerMinute = config.authFailuresPerMinute ?? 20;

  const metrics = createMetrics(config.store);
  app.decorate('metrics', metrics);
  app.decorate('streamTokens', auth.tokens);
  app.decorate('auth', auth);
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `There is no route ${request.method} ${request.url.split('?')[0]}.`));
  });

  await registerDocs(app, [
    E.ContactSchema, E.ChannelSchema, E.ConversationSchema, E.MessageSchema, E.ConversationStateSchema, AgentView, E.StoreEventSchema,
    E.AppendResultSchema, E.IngestResultSchema, WebhookEndpointSchema, WebhookDeliverySchema, AlertSchema, E.ContactExportSchema, E.ApiKeySchema, E.AuditEntrySchema, ErrorSchema,
  ]);

  if (config.corsOrigins?.length) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-colloquy-tenant', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }

  const identify = createIdentify({
    auth, metrics, failuresPerMinute,
    throttle: createAuthThrottle({ limit: failuresPerMinute, redis: config.rateLimitRedis, prefix: config.redisPrefix }),
    hosts: new Set(['localhost', '127.0.0.1', '[::1]', ...(config.allowedHosts ?? []).map((h) => h.toLowerCase())]),
  });
  const operator = async (request: FastifyRequest, reply: FastifyReply) => {
    if (config.metricsPublic) return;
    const caller = await identify(request, reply);
    if (caller.keyId !== 'open' && !auth.isAdmin(caller.keyId)) throw forbiddenUnlessAdmin();
  };

  const channels = config.channels ?? createChannelRuntime({ store: config.store, log: (message, error) => app.log.warn({ err: error }, message) });
  if (!config.channels) app.addHook('onClose', async () => channels.close());
  app.decorate('channels', channels);
  const health = config.health ?? createHealthMonitor(channels, { log: (message, error) => app.log.warn({ err: error }, message) });
  app.decorate('channelHealth', health);
  metrics.watchChannels(health);
  const providers = config.providers ?? providersFrom(process.env);
  const turns = config.chatTurns ?? createChatTurns({ providers, timeoutMs: config.agentTimeoutMs ?? 120_000, owner: `app-${randomUUID()}` });
  const unwatchUsage = turns.onUsage((usage) => metrics.usage(usage));
  app.addHook('onClose', async () => unwatchUsage());
  await app.register(healthRoutes, { store: config.store, metrics, operator, health, providers });
  await app.register(webhookRoutes, { channels });
  if (config.dashboard !== false) await registerDashboard(app, config.dashboard);
  await app.register(async (v1) => {
    // Every /v1 call is scoped to the tenant of its API key.
    v1.addHook('onRequest', async (request, reply) => {
      // A browser's EventSource cannot send a header: GET /v1/events alone also takes a stream token.
      const token = request.headers.authorization === undefined && request.routeOptions.url === '/v1/events' ? (request.query as { token?: unknown }).token : undefined;
      const caller = await identify(request, reply, typeof token === 'string' ? token : undefined);
      request.store = caller.store;
      request.keyId = caller.keyId;
      request.streamGrant = 'grant' in caller ? (caller.grant as StreamGrant) : undefined;
    });
    const perMinute = config.rateLimitPerMinute ?? 60_000;
    if (perMinute > 0) {
      await v1.register(rateLimit, {
        max: perMinute,
        timeWindow: 60_000,
        hook: 'preHandler', // after authentication: the limit is per key
        // Per key (its id: Redis never holds a secret), per address on a server without keys; a stream token's
        // holder (a web page) has a bucket of its own, so that visitors cannot use up the key's.
        keyGenerator: (request) => {
          const grant = request.streamGrant;
          if (grant) return `token:${grant.keyId}:${grant.conversationId ?? '*'}`;
          return request.keyId && request.keyId !== 'open' ? `key:${request.keyId}` : `ip:${request.ip}`;
        },
        // Shared by the fleet through Redis; a Redis failure lets the request through rather than fail it.
        ...(config.rateLimitRedis ? { redis: config.rateLimitRedis, nameSpace: `${config.redisPrefix ?? 'colloquy:'}rate:`, skipOnError: true } : {}),
        errorResponseBuilder: (_request, context) =>
          Object.assign(new Error(`Rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}.`), { statusCode: 429 }),
      });
    }
    await v1.register(conversationRoutes);
    await v1.register(messageRoutes);
    await v1.register(inboundRoutes);
    await v1.register(contactRoutes);
    await v1.register(channelRoutes);
    await v1.register(agentRoutes, { providers });
    await v1.register(agentChatRoutes, { turns });
    await v1.register(usageRoutes, { providers });
    await v1.register(eventRoutes);
    await v1.register(webhookEndpointRoutes, { store: config.store });
    await v1.register(alertRoutes);
    await v1.register(trashRoutes);
    await v1.register(reportRoutes, { timezone: config.reportTimezone ?? 'UTC' });
    await v1.register(statsRoutes);
    if (config.doctor) await v1.register(doctorRoutes, { doctor: config.doctor });
    await v1.register(keyRoutes);
    await v1.register(tenantHealthRoutes, { channels });
  }, { prefix: '/v1' });
  return app;
}
