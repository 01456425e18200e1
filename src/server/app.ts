import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { RedisClient } from '../cache/redis/redis-client.js';
import type { Store } from '../store/store.js';
import { VERSION } from '../version.js';
import { createAuthenticator } from './auth.js';
import { coercer } from './coerce.js';
import { describeErrors } from '../domain/validate.js';
import { errorBody, handleError } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { agentRoutes } from './routes/agents.js';
import { channelRoutes } from './routes/channels.js';
import { contactRoutes } from './routes/contacts.js';
import { conversationRoutes } from './routes/conversations.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { inboundRoutes } from './routes/inbound.js';
import * as E from '../domain/entities.js';
import { documentRoutes, ErrorSchema, namedSchemas } from './openapi.js';
import type { StreamGrant, StreamTokens } from './stream-tokens.js';
import { messageRoutes } from './routes/messages.js';

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
  /** Serve tenant `default` without authentication while no key exists. `colloquy serve` allows it on loopback only. Default true. */
  readonly openWithoutKeys?: boolean;
  /** Requests per minute per API key (per address without keys); 0 turns the limit off. Default 60000. */
  readonly rateLimitPerMinute?: number;
  /** Redis holding the rate-limit counters, so that a fleet shares them; each instance counts alone without it. */
  readonly rateLimitRedis?: RedisClient | undefined;
  /** Prefix of the rate-limit keys in that Redis. Default `colloquy:`. */
  readonly redisPrefix?: string | undefined;
  /** Origins browsers may call the API from (CORS): exact origins such as `https://app.example.com`, or `*`. Default: none (CORS off). */
  readonly corsOrigins?: readonly string[] | undefined;
}

export type App = FastifyInstance<any, any, any, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    streamTokens: StreamTokens;
  }
  interface FastifyRequest {
    /** The store scoped to the caller's tenant. */
    store: Store;
    /** The key the caller used: an API key's id, `admin:…`, or `open` (a server without keys). */
    keyId: string;
    /** Set when the caller came with a stream token (`?token=` on GET /v1/events): what it is limited to. */
    streamGrant: StreamGrant | undefined;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const CREDENTIAL = /^(token|key|api[-_]?key|access[-_]?token|secret|password)$/i;

/** The URL with the value of any parameter named like a credential (however its name is encoded) replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  const params = url.slice(q + 1).split('&').map((part) => {
    const name = part.split('=')[0]!;
    return CREDENTIAL.test(decode(name).trim()) ? `${name}=[redacted]` : part;
  });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** Request logs that hold no credential: the Authorization header and a stream token in the URL are redacted. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: ['req.headers.authorization'],
    serializers: {
      req: (request: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.hostname,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  };
}

/** The HTTP API over a store. A route knows HTTP, not SQL: every rule lives in the store. */
export async function buildApp(config: AppConfig): Promise<App> {
  const app = Fastify({
    logger: config.logger ?? loggerOptions('info'),
    bodyLimit: config.bodyLimit ?? 1_048_576,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL, say) get the same error shape as all others.
    frameworkErrors: (error, _request, reply) => {
      const raw = reply as unknown as { code(status: number): { send(body: unknown): unknown } };
      void raw.code(error.statusCode && error.statusCode < 500 ? error.statusCode : 400)
        .send(errorBody('invalid_argument', `The request is malformed: ${error.message}.`));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

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
    store: config.store, adminKey: config.adminKey, openWithoutKeys: config.openWithoutKeys ?? true,
    ...(config.keyCacheMs !== undefined ? { cacheMs: config.keyCacheMs } : {}),
  });

  const metrics = createMetrics(config.store);
  app.decorate('metrics', metrics);
  app.decorate('streamTokens', auth.tokens);
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

  await app.register(swagger, {
    transformObject: namedSchemas([
      E.ContactSchema, E.ChannelSchema, E.ConversationSchema, E.MessageSchema, E.ConversationStateSchema, E.AgentSchema, E.StoreEventSchema,
      E.AppendResultSchema, E.IngestResultSchema, E.ContactExportSchema, ErrorSchema,
    ]),
    openapi: {
      // 3.1: its schemas are JSON Schema, as TypeBox writes them (nullable fields are `type: [T, "null"]`).
      openapi: '3.1.0',
      info: {
        title: 'Colloquy', version: VERSION,
        description: 'Conversation store and chat gateway for chatbots and AI agents: durable, idempotent, ordered. '
          + 'Every failure answers `{ error: { code, message, details } }` with a stable code; lists answer pages `{ data, nextCursor }`.',
      },
      components: { securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from `colloquy keys create` (the admin key may add `X-Colloquy-Tenant`). Not needed on a loopback server without keys.' },
        streamToken: { type: 'apiKey', in: 'query', name: 'token', description: 'A stream token from POST /v1/events/tokens: GET /v1/events only.' },
      } },
      tags: [
        { name: 'conversations', description: 'Threads between a contact and the bot, agent or humans; their messages, in seq order; the bot\'s working memory (state).' },
        { name: 'messages', description: 'One message, and its delivery status.' },
        { name: 'inbound', description: 'Messages arriving from any channel: contact → conversation (continuity rules) → stored once.' },
        { name: 'contacts', description: 'People, found by their handles; erasure and export of everything of one person.' },
        { name: 'channels', description: 'Connections messages arrive and leave by, with public config and write-only secrets.' },
        { name: 'agents', description: 'AI personas: instructions, model, parameters.' },
        { name: 'events', description: 'The durable, ordered log of changes: live server-sent events, or pages.' },
        { name: 'operations', description: 'Health, readiness and metrics for load balancers and monitoring: no key needed.' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  if (config.corsOrigins?.length) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-colloquy-tenant', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }

  await app.register(healthRoutes, { store: config.store, metrics });
  await app.register(async (v1) => {
    // Every /v1 call is scoped to the tenant of its API key.
    v1.addHook('onRequest', async (request) => {
      // A browser's EventSource cannot send a header: GET /v1/events alone also takes a stream token.
      const token = request.headers.authorization === undefined && request.routeOptions.url === '/v1/events' ? (request.query as { token?: unknown }).token : undefined;
      const tenant = request.headers['x-colloquy-tenant'];
      const caller = typeof token === 'string'
        ? await auth.authenticateStream(token)
        : await auth.authenticate(request.headers.authorization, typeof tenant === 'string' ? tenant : undefined);
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
    await v1.register(agentRoutes);
    await v1.register(eventRoutes);
  }, { prefix: '/v1' });
  return app;
}
