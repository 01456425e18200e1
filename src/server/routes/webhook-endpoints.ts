import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { PageSchema } from '../../domain/entities.js';
import { WebhookDeliverySchema, WebhookEndpointSchema, WebhookInputSchema, WebhookPatchSchema } from '../../domain/webhook.js';
import { DeliveryListSchema, ReplaySchema, RotateSchema } from '../../store/webhooks.js';
import { sendTestEvent } from '../../webhooks/test-event.js';
import { createPoster } from '../../webhooks/webhook-post.js';
import { webhookOps } from '../../store/webhook-ops.js';
import type { Store } from '../../store/store.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

const TAGS = ['outgoing webhooks'];
const Secret = Type.String({ description: 'The signing secret (`whsec_…`), shown here only: keep it where your receiver verifies signatures.' });
const Created = Type.Object({ ...WebhookEndpointSchema.properties, secret: Secret }, { title: 'CreatedWebhookEndpoint' });
const Rotated = Type.Object({
  secret: Secret,
  previousSecretExpiresAt: Type.String({ format: 'date-time', description: 'Until then deliveries carry a signature by each secret.' }),
});
const TestAnswer = Type.Object({
  eventId: Type.String(), ok: Type.Boolean(), httpStatus: Type.Union([Type.Integer(), Type.Null()]), latencyMs: Type.Integer(), error: Type.Union([Type.String(), Type.Null()]),
});
const SIGNING = 'Each delivery is a POST of `{ type, timestamp, data }` (data: the message, conversation, state or channel itself, read when it is delivered; `{ id, erased: true }` once erased, `{ id, trashed: true, purgeAt }` while in the trash) with the Standard Webhooks headers `webhook-id` (the event id: dedup on it), `webhook-timestamp` and `webhook-signature` (`v1,<base64>`): verify with any Standard Webhooks library.';

/** Outgoing webhooks: endpoints, their secrets, delivery log, replay and a test event. */
export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  // Test events go out from here; deliveries from the deliverer of `colloquy serve` (webhooks/webhook-deliverer.ts).
  const poster = createPoster({ allowPrivate: webhookOps(store).allowPrivate });
  app.addHook('onClose', async () => poster.close());
  app.post('/webhooks', {
    schema: {
      tags: TAGS, operationId: 'createWebhook', summary: 'Create a webhook endpoint',
      description: `Delivers the events written from now on whose type matches \`events\` (exact types, \`prefix.*\`, or \`*\`), in order per conversation, retried with backoff for up to 3 days (then the endpoint is disabled). ${SIGNING} Loopback, private and link-local targets are refused (400, \`details.reason: private_address\`) unless the server runs with COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1.`,
      body: example(WebhookInputSchema, { url: 'https://crm.example.com/colloquy', events: ['message.created', 'conversation.*'], description: 'CRM sync' }),
      response: { 201: answer(Created, 'Created, with its secret (shown once)'), 400: failure('invalid_argument') },
    },
  }, async (request, reply) => {
    reply.code(201);
    return request.store.webhooks.create(request.body);
  });

  app.get('/webhooks', {
    schema: { tags: TAGS, operationId: 'listWebhooks', summary: 'List webhook endpoints', description: 'Oldest first, with their delivery status.', response: { 200: Type.Object({ data: Type.Array(WebhookEndpointSchema) }) } },
  }, async (request) => ({ data: await request.store.webhooks.list() }));

  app.get('/webhooks/:id', {
    schema: { tags: TAGS, operationId: 'getWebhook', summary: 'Get a webhook endpoint', description: 'With its delivery status: active, failing (the head event retried, `nextAttemptAt`, `lastError`) or disabled.', params: IdParams, response: { 200: WebhookEndpointSchema, 404: failure('not_found') } },
  }, async (request) => found(await request.store.webhooks.get(request.params.id), 'webhook', request.params.id));

  app.patch('/webhooks/:id', {
    schema: {
      tags: TAGS, operationId: 'updateWebhook', summary: 'Change a webhook endpoint',
      description: 'Any of url, events, description, enabled. `enabled: true` on a disabled endpoint resumes delivery from where it stopped.',
      params: IdParams, body: WebhookPatchSchema, response: { 200: WebhookEndpointSchema, 404: failure('not_found') },
    },
  }, async (request) => request.store.webhooks.update(request.params.id, request.body));

  app.delete('/webhooks/:id', {
    schema: { tags: TAGS, operationId: 'deleteWebhook', summary: 'Delete a webhook endpoint', description: 'With its delivery log.', params: IdParams, response: { 204: answer(Type.Null(), 'Deleted'), 404: failure('not_found') } },
  }, async (request, reply) => {
    found((await request.store.webhooks.delete(request.params.id)) || null, 'webhook', request.params.id);
    reply.code(204);
  });

  app.post('/webhooks/:id/rotate-secret', {
    schema: {
      tags: TAGS, operationId: 'rotateWebhookSecret', summary: 'Rotate the signing secret',
      description: 'A new secret, shown once; the previous one keeps signing beside it for `graceSeconds` (default 24 h), so that receivers can switch without losing a delivery.',
      params: IdParams, body: Type.Optional(RotateSchema), response: { 200: Rotated, 404: failure('not_found') },
    },
  }, async (request) => request.store.webhooks.rotateSecret(request.params.id, request.body ?? {}));

  app.get('/webhooks/:id/deliveries', {
    schema: {
      tags: TAGS, operationId: 'listWebhookDeliveries', summary: 'Delivery attempts',
      description: 'Every attempt, newest first: the event, the attempt number, succeeded or failed, the HTTP status, latency and error. Kept 7 days (at most 10,000 per endpoint).',
      params: IdParams, querystring: DeliveryListSchema, response: { 200: PageSchema(WebhookDeliverySchema), 404: failure('not_found') },
    },
  }, async (request) => request.store.webhooks.deliveries(request.params.id, request.query));

  app.post('/webhooks/:id/replay', {
    schema: {
      tags: TAGS, operationId: 'replayWebhook', summary: 'Deliver again from an event',
      description: "Moves the endpoint's cursor back (or forward) to just after the event `after`, and clears a failing run: every subscribed event after it is delivered again, with its original `webhook-id` (receivers dedup on it).",
      params: IdParams, body: ReplaySchema, response: { 200: WebhookEndpointSchema, 400: failure('invalid_argument'), 404: failure('not_found') },
    },
  }, async (request) => request.store.webhooks.replay(request.params.id, request.body));

  app.post('/webhooks/:id/test', {
    schema: {
      tags: TAGS, operationId: 'testWebhook', summary: 'Send a test event',
      description: 'Sends a signed `webhook.test` event now and answers how the receiver took it (also in the delivery log). The endpoint\'s cursor is untouched.',
      params: IdParams, response: { 200: TestAnswer, 404: failure('not_found') },
    },
  }, async (request) => {
    const result = found((await sendTestEvent(request.store, request.params.id, poster)) ?? null, 'webhook', request.params.id);
    return { eventId: result.eventId, ok: result.ok, httpStatus: result.status, latencyMs: Math.round(result.latencyMs), error: result.error };
  });
};
