import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { VERSION } from '../version.js';
import type { SwaggerTransformObject } from '@fastify/swagger';
import Type, { type TSchema } from 'typebox';
import { ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import { statusOf } from './errors.js';

/** The one error body of every failure. */
export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code)), { description: 'Stable: branch on it, never on the message.' }),
    message: Type.String({ description: 'What went wrong and what to do about it.' }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Which field or record is at fault (`errors: [{ path, message }]` for a body).' })),
  }),
}, { title: 'Error' });

const WHEN: Record<ErrorCode, string> = {
  invalid_argument: 'a field, id, cursor or header is invalid; `details.errors` names each field and what it accepts',
  unauthenticated: 'no API key, or an unknown, revoked or expired one (`details.reason`)',
  forbidden: 'the admin key is needed; or, on an open server, a Host other than localhost',
  not_found: 'the record does not exist in this tenant',
  conflict: 'a unique rule (`details.reason`)',
  version_mismatch: 'a stale `expectedVersion` (`details.currentVersion`)',
  conversation_closed: 'the conversation is closed: reopen it, or ingest',
  window_closed: "outside WhatsApp's 24-hour customer-service window: only a template message can be sent",
  idempotency_key_reused: 'the Idempotency-Key was first used with another request: use a new key for a new request',
  request_timeout: 'the request (head and body) did not arrive within the request timeout',
  payload_too_large: 'a body over 1 MiB',
  unsupported_media_type: 'a body that is not `application/json`',
  rate_limited: "more requests per minute than the key's limit, too many failed authentications from this address, or too many open event streams",
  not_implemented: 'not available yet',
  provider_not_configured: "the agent's model provider has no key on this server (`details.provider`; the message names the variable)",
  provider_rejected: "the model's provider refused the request as made (context too long, content policy, unknown model): its message is in the message",
  budget_exceeded: "the tenant's or agent's daily budget is spent (`details.resetAt`: when it starts again)",
  upstream_error: "the model's provider failed (a 5xx, a refused key, a rate limit) or could not be reached; nothing was stored",
  upstream_timeout: 'the model did not finish within the turn timeout (`COLLOQUY_AGENT_TIMEOUT_MS`); nothing was stored',
  schema_too_new: 'the database was migrated by a newer Colloquy',
  schema_outdated: 'the database lacks this version\'s migrations: run `colloquy migrate`',
  unavailable: 'the database cannot be reached or written; nothing was acknowledged',
  internal: 'an unexpected database error (a bug: please report it); nothing was acknowledged',
};

/** The error response for these codes (they must share a status), described by when each is answered. */
export function failure(...codes: ErrorCode[]): TSchema {
  return { ...ErrorSchema, description: codes.map((code) => `\`${code}\`: ${WHEN[code]}`).join('; ') };
}

/** A success response with the words that say what it means. */
export const answer = <T extends TSchema>(schema: T, description: string): T => ({ ...schema, description });

/** A schema with an example value, shown in /docs. */
export const example = <T extends TSchema>(schema: T, value: unknown): T => ({ ...schema, examples: [value] });

/** The codes each status can carry, as the error handler maps them. */
const byStatus = (status: number) => ERROR_CODES.filter((code) => statusOf(code) === status);

const DEFAULT_SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 204: 'Done: no content' };

/**
 * Completes every operation of the OpenAPI document from its route: the resource tag, the bearer key on /v1
 * (and only there), and the error responses any request can get (400, 401, 429, 500, 503; 404 where it names
 * a record; 413 and 415 where it takes a body), so that each route declares only what is its own (a 409).
 * Registered before the routes, so it sees each one as it is added.
 */
export function documentRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = (route.schema ??= {}) as Record<string, unknown> & { response?: Record<string, unknown>; hide?: boolean };
    if (schema.hide) return;
    const url = route.url;
    const v1 = url.startsWith('/v1/');
    schema.tags ??= [v1 ? url.split('/')[2] : url.startsWith('/webhooks/') ? 'webhooks' : 'operations'];
    schema.security ??= v1 ? [{ apiKey: [] }] : [];
    const response = (schema.response ??= {});
    for (const [status, value] of Object.entries(response)) {
      if (DEFAULT_SUCCESS[status] && !(value as { description?: string }).description) response[status] = { ...(value as object), description: DEFAULT_SUCCESS[status] };
    }
    if (!v1) return;
    const methods = [route.method].flat();
    const statuses = [400, 401, 403, 429, 500, 503];
    if (url.includes(':')) statuses.push(404); // a route whose body names records declares its own
    if (schema.body || methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH')) statuses.push(413, 415);
    for (const status of statuses) response[status] ??= failure(...byStatus(status));
  });
}

/**
 * The document with every titled schema (the entities, the error) once under `components.schemas` and a
 * `$ref` wherever it appears, so that /docs shows named models and the document stays small.
 */
export function namedSchemas(named: TSchema[]): SwaggerTransformObject {
  const byTitle = new Map(named.map((schema) => [(schema as { title?: string }).title!, schema]));
  const components: Record<string, unknown> = {};
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const title = (node as { title?: unknown }).title;
    if (typeof title === 'string' && byTitle.has(title)) {
      if (!(title in components)) {
        components[title] = null; // a placeholder while its own members are walked
        components[title] = walk({ ...byTitle.get(title)!, title: undefined });
      }
      return { $ref: `#/components/schemas/${title}` };
    }
    return Object.fromEntries(Object.entries(node).filter(([, v]) => v !== undefined).map(([k, v]) => [k, walk(v)]));
  };
  return (document) => {
    const openapi = (document as { openapiObject: Record<string, any> }).openapiObject;
    return { ...openapi, paths: walk(openapi.paths), components: { ...openapi.components, schemas: { ...openapi.components?.schemas, ...components } } } as never;
  };
}

/** The OpenAPI 3.1 document (`/openapi.json`) and its browsable docs (`/docs`), `named` titled schemas as components. */
export async function registerDocs(app: FastifyInstance, named: TSchema[]): Promise<void> {
  await app.register(swagger, {
    transformObject: namedSchemas(named),
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
        { name: 'agents', description: 'AI personas: instructions, model, parameters; chat turns through the AI SDK (JSON or the UI message stream `useChat` reads).' },
        { name: 'usage', description: 'The usage ledger: tokens and cost of every model call, by day, agent, model or conversation.' },
        { name: 'budgets', description: 'Daily token and cost budgets per tenant and per agent: economy mode near them, refusal at them.' },
        { name: 'events', description: 'The durable, ordered log of changes: live server-sent events, or pages.' },
        { name: 'outgoing webhooks', description: 'Endpoints of your own systems that receive the event log, signed by the Standard Webhooks specification, retried for days, replayable.' },
        { name: 'alerts', description: 'Conditions an operator must hear about (a stale channel, failing sends, a webhook endpoint failing, a budget, the database), raised once and resolved once; their rules and e-mail.' },
        { name: 'reports', description: 'Daily reports of each tenant: traffic per channel, first response times, usage by agent, alerts raised.' },
        { name: 'stats', description: 'Time series for charts: channel traffic per minute, hour or day; tokens and cost per hour or day.' },
        { name: 'trash', description: 'Deleted conversations, hidden from every read and restorable, with their messages and state, until their retention ends.' },
        { name: 'keys', description: 'API keys, for operators: the admin key only.' },
        { name: 'audit', description: 'Who changed keys, tenants and channel secrets, and when: the admin key only.' },
        { name: 'webhooks', description: "Providers' webhooks (WhatsApp Cloud API, Telegram Bot API), authenticated by the provider's signature or secret header, not by API keys." },
        { name: 'operations', description: 'Health, readiness and metrics for load balancers and monitoring.' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
