import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ChannelHealthSchema, ChannelSchema, PageSchema } from '../../domain/entities.js';
import { channelHealth } from '../../channels/channel-health.js';
import { ColloquyError } from '../../domain/errors.js';
import { ChannelCreateSchema, ChannelUpdateSchema, PageOptionsSchema } from '../../domain/inputs.js';
import { answer, example } from '../openapi.js';
import { found, IdempotencyHeaders, IdParams } from './params.js';

/**
 * `graphApiUrl` and `apiUrl` send a channel's requests (and its token) to another server, and media from it back
 * through this API: on a server with keys, only the admin key may set them (else a tenant could make the server
 * fetch internal addresses).
 */
function assertMaySetProviderUrl(app: { auth: { isAdmin(keyId: string): boolean } }, keyId: string, config: Record<string, unknown> | undefined): void {
  const redirecting = ['graphApiUrl', 'apiUrl'].filter((key) => config?.[key] !== undefined && config[key] !== null);
  if (redirecting.length && keyId !== 'open' && !app.auth.isAdmin(keyId)) {
    throw new ColloquyError('forbidden', `Only the admin key may set ${redirecting.join(' and ')}: it points the channel (and its token) at another server. Leave it out to use the provider's own API.`, { fields: redirecting });
  }
}

/** Channels: `secrets` are write-only; every answer shows only which are set. */
export const channelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/channels', {
    schema: {
      operationId: 'createChannel', summary: 'Create a channel',
      description: 'With an `Idempotency-Key` header, a repeat answers the channel that key first created (200), so a setup script can run twice.',
      headers: IdempotencyHeaders,
      body: example(Type.Omit(ChannelCreateSchema, ['idempotencyKey'], { additionalProperties: false }), {
        kind: 'whatsapp', name: 'Clinic', config: { phoneNumberId: '106540352242922', reopenWindowSeconds: 86400 }, secrets: { accessToken: 'EAAG…', appSecret: '…' },
      }),
      response: { 200: answer(ChannelSchema, 'A repeated Idempotency-Key: the channel it first created'), 201: answer(ChannelSchema, 'Created') },
    },
  }, async (request, reply) => {
    assertMaySetProviderUrl(app, request.keyId, request.body.config);
    const key = request.headers['idempotency-key'];
    if (key === undefined) {
      reply.code(201);
      const channel = await request.store.channels.create(request.body);
      app.channels.changed(channel.id);
      return channel;
    }
    const { channel, created } = await request.store.channels.ensure({ ...request.body, idempotencyKey: key });
    if (created) app.channels.changed(channel.id);
    reply.code(created ? 201 : 200);
    return channel;
  });

  app.get('/channels', {
    schema: { operationId: 'listChannels', summary: 'List channels', description: 'Oldest first.', querystring: PageOptionsSchema, response: { 200: PageSchema(ChannelSchema) } },
  }, async (request) => request.store.channels.list(request.query));

  app.get('/channels/:id', {
    schema: {
      operationId: 'getChannel', summary: 'Get a channel, with its health',
      description: 'Its config, which secrets are set (never their values), and `health` from its real traffic: status (ok, stale, failing, not_configured) and why, last inbound and outbound, fleet-wide counters, send errors by code, the newest provider errors, the outbox.',
      params: IdParams, response: { 200: Type.Object({ ...ChannelSchema.properties, health: ChannelHealthSchema }, { title: 'ChannelWithHealth' }) },
    },
  }, async (request) => {
    const channel = found(await request.store.channels.get(request.params.id), 'channel', request.params.id);
    return { ...channel, health: await channelHealth(app.channels, channel) };
  });

  app.patch('/channels/:id', {
    schema: {
      operationId: 'updateChannel', summary: 'Rename a channel, change its config or secrets',
      description: '`config` is merged (a key set to null is removed); each secret given is set, or removed when null; the others stay.',
      params: IdParams, body: example(ChannelUpdateSchema, { config: { reopenWindowSeconds: 3600 }, secrets: { accessToken: 'EAAG…new' } }),
      response: { 200: answer(ChannelSchema, 'The channel as changed') },
    },
  }, async (request) => {
    assertMaySetProviderUrl(app, request.keyId, request.body.config);
    const channel = await request.store.channels.update(request.params.id, request.body);
    app.channels.changed(channel.id);
    return channel;
  });
};
