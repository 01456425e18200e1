import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ChannelRuntime } from '../../channels/channel-runtime.js';
import type { ChannelKind } from '../../domain/entities.js';

const Params = Type.Object({ channelId: Type.String({ maxLength: 64 }) });
/** Meta batches up to 1,000 updates in one delivery: more than the API's 1 MiB. */
const BODY_LIMIT = 16 * 1024 * 1024;

/**
 * Providers' webhooks, outside /v1 and without API keys: the provider's signature (WhatsApp) or secret header
 * (Telegram) is the authentication, checked on the raw request bytes before anything is parsed or stored.
 */
export const webhookRoutes: FastifyPluginAsyncTypebox<{ channels: ChannelRuntime }> = async (app, { channels }) => {
  // The body as bytes, whatever its declared type: the signature is over exactly these.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const count = (channelId: string, outcome: string) => app.metrics.webhook(channelId, outcome);
  const deliver = (kind: ChannelKind) => async (request: { params: { channelId: string }; headers: Record<string, string | string[] | undefined>; body: unknown }, reply: { code(n: number): unknown }) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const answer = await channels.deliver(kind, request.params.channelId, { headers: request.headers, body });
    count(answer.outcome === 'not_found' ? 'unknown' : request.params.channelId.toLowerCase(), answer.outcome);
    reply.code(answer.status);
    return answer.body;
  };

  app.get('/webhooks/whatsapp/:channelId', {
    schema: {
      operationId: 'verifyWhatsAppWebhook', tags: ['webhooks'], summary: "WhatsApp's webhook verification",
      description: 'With `hub.mode=subscribe` and the channel\'s `verifyToken`, answers `hub.challenge` as text; anything else 403.',
      params: Params, querystring: Type.Object({}, { additionalProperties: true }),
    },
  }, async (request, reply) => {
    const answer = await channels.challenge('whatsapp', request.params.channelId, request.query as Record<string, unknown>);
    reply.code(answer.status);
    if (answer.status === 404) return answer.body;
    void reply.type('text/plain; charset=utf-8');
    return answer.body;
  });

  app.post('/webhooks/whatsapp/:channelId', {
    bodyLimit: BODY_LIMIT,
    schema: {
      operationId: 'receiveWhatsApp', tags: ['webhooks'], summary: 'WhatsApp Cloud API notifications',
      description: 'Signed with `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret). Every entry, change, message and status is processed; a redelivery stores nothing twice. 401 without a valid signature, 400 for a body that is not a notification, 5xx when it could not be stored (Meta redelivers).',
      params: Params,
    },
  }, deliver('whatsapp') as never);

  app.post('/webhooks/telegram/:channelId', {
    bodyLimit: BODY_LIMIT,
    schema: {
      operationId: 'receiveTelegram', tags: ['webhooks'], summary: 'Telegram Bot API updates',
      description: 'Authenticated by `X-Telegram-Bot-Api-Secret-Token` (the channel\'s `webhookSecret`). A repeated update stores nothing twice; an edited message updates the stored one.',
      params: Params,
    },
  }, deliver('telegram') as never);
};
