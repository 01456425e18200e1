import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { openStore, type Store } from '../../src/index.js';
import { startFakeBotApi, type FakeBotApi } from '../fakes/fake-bot-api.js';
import { startFakeGraphApi, type FakeGraphApi } from '../fakes/fake-graph-api.js';
import { waitFor } from '../helpers/wait.js';

describe('GET /v1/messages/:id/media', () => {
  let store: Store;
  let app: App;
  let graph: FakeGraphApi;
  let bot: FakeBotApi;
  const photo = Buffer.from('\xff\xd8\xff\xe0 a jpeg, honest', 'latin1');
  beforeAll(async () => {
    graph = await startFakeGraphApi();
    bot = await startFakeBotApi('1:tok');
    store = await openStore({ url: 'sqlite::memory:' });
    app = await buildApp({ store, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await graph?.close();
    await bot?.close();
  });

  it('streams a WhatsApp image through the Graph API (URL looked up, then downloaded with the token), with its type', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'wa', config: { phoneNumberId: '1', graphApiUrl: graph.url }, secrets: { accessToken: 'EAAG-token' } });
    graph.media.set('1003383421387256', { bytes: photo, mimeType: 'image/jpeg' });
    const { message } = await store.ingest({ channelId: channel.id, from: { address: '5511' }, externalId: 'wamid.img', content: '', parts: [{ type: 'image', mediaId: '1003383421387256', mimeType: 'image/jpeg' }] });
    const answer = await app.inject({ url: `/v1/messages/${message.id}/media` });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('image/jpeg');
    expect(answer.rawPayload.equals(photo)).toBe(true);
    // Gone at the provider: 503 saying so; a message without media: 404; over the channel's cap: 413.
    graph.media.delete('1003383421387256');
    expect((await app.inject({ url: `/v1/messages/${message.id}/media` })).json().error).toMatchObject({ code: 'unavailable', details: { reason: 'provider', providerCode: '100' } });
    const text = await store.ingest({ channelId: channel.id, from: { address: '5511' }, externalId: 'wamid.txt', content: 'oi' });
    expect((await app.inject({ url: `/v1/messages/${text.message.id}/media` })).statusCode).toBe(404);
    graph.media.set('1003383421387256', { bytes: photo, mimeType: 'image/jpeg' });
    await store.channels.update(channel.id, { config: { maxMediaBytes: 4 } });
    app.channels.changed(channel.id);
    expect((await app.inject({ url: `/v1/messages/${message.id}/media` })).json().error.code).toBe('payload_too_large');
  });

  it('tells WhatsApp when a received message is marked read (the blue ticks)', async () => {
    const channel = await store.channels.create({ kind: 'whatsapp', name: 'ticks', config: { phoneNumberId: '1', graphApiUrl: graph.url }, secrets: { accessToken: 'EAAG-token' } });
    const { message } = await store.ingest({ channelId: channel.id, from: { address: '5512' }, externalId: 'wamid.toread', content: 'oi' });
    const answer = await app.inject({ method: 'POST', url: `/v1/messages/${message.id}/status`, payload: { status: 'read' } });
    expect(answer.json().changed).toBe(true);
    await waitFor('the read receipt', () => graph.sends.some((s) => s.body.status === 'read'));
    expect(graph.sends.find((s) => s.body.status === 'read')!.body).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.toread' });
  });

  it('streams a Telegram photo through getFile', async () => {
    const channel = await store.channels.create({ kind: 'telegram', name: 'tg', config: { apiUrl: bot.url }, secrets: { botToken: '1:tok', webhookSecret: 's' } });
    bot.files.set('photos/AgAD.jpg', photo);
    const { message } = await store.ingest({ channelId: channel.id, from: { address: '42' }, externalId: '42:1', content: '', parts: [{ type: 'image', fileId: 'AgAD' }] });
    const answer = await app.inject({ url: `/v1/messages/${message.id}/media` });
    expect(answer.statusCode).toBe(200);
    expect(answer.rawPayload.equals(photo)).toBe(true);
  });
});
