import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelRuntime } from '../../src/channels/channel-runtime.js';
import { createOutboxSender } from '../../src/channels/outbox-sender.js';
import { createTelegramUpdates } from '../../src/channels/telegram/telegram-updates.js';
import { buildApp, type App } from '../../src/server/app.js';
import { openStore, type Store } from '../../src/index.js';
import { startFakeBotApi, type FakeBotApi } from '../fakes/fake-bot-api.js';
import { storeTargets } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/telegram/updates.json', import.meta.url), 'utf8')) as { cases: Record<string, { update: any; expect: any }>; edit: any };
const TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';
const SECRET = 'tg-webhook-secret_0123456789';

for (const target of storeTargets) {
  describe(`Telegram on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let app: App;
      let bot: FakeBotApi;
      let store: Store;
      let channelId: string;
      beforeAll(async () => {
        bot = await startFakeBotApi(TOKEN);
        store = opened!.store;
        app = await buildApp({ store, logger: false });
        channelId = (await store.channels.create({ kind: 'telegram', name: 'bot', config: { apiUrl: bot.url }, secrets: { botToken: TOKEN, webhookSecret: SECRET } })).id;
      });
      afterAll(async () => {
        await app?.close();
        await bot?.close();
        await store?.close();
        await opened?.cleanup();
      });
      const post = (update: unknown, secret: string | null = SECRET) => app.inject({
        method: 'POST', url: `/webhooks/telegram/${channelId}`, payload: JSON.stringify(update),
        headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
      });
      const byExternalId = async (externalId: string) => {
        for (const c of (await store.conversations.list({ channelId, limit: 200 })).data) {
          const m = (await store.messages.list(c.id, { limit: 1000 })).data.find((x) => x.externalId === externalId);
          if (m) return m;
        }
        return undefined;
      };

      it('refuses a missing or wrong secret header (401) and stores nothing', async () => {
        expect((await post(fixtures.cases.text!.update, null)).statusCode).toBe(401);
        expect((await post(fixtures.cases.text!.update, 'wrong')).statusCode).toBe(401);
        expect(await byExternalId('123456789:11')).toBeUndefined();
        expect((await post({ no: 'update' })).statusCode).toBe(400);
      });

      it('maps every update kind of the fixtures, with <chat.id>:<message_id> as the external id', async () => {
        for (const [name, { update, expect: expected }] of Object.entries(fixtures.cases)) {
          expect((await post(update)).statusCode, name).toBe(200);
          const m = await byExternalId(expected.externalId);
          expect(m, name).toBeDefined();
          expect(m!.content, name).toBe(expected.content);
          const part = m!.parts![0] as Record<string, unknown>;
          expect(part.type, name).toBe(expected.part);
          for (const key of ['fileId', 'filename', 'voice']) if (key in expected) expect(part[key], `${name}.${key}`).toEqual(expected[key]);
          if (expected.replyTo) expect((m!.metadata as any).telegram.replyTo).toBe(expected.replyTo);
        }
        expect((await store.contacts.findByHandle({ channel: 'telegram', address: '123456789' }))?.name).toBe('Ana Souza');
      });

      it('answers 200 to an update of an unexpected shape, counting it, never 500', async () => {
        const odd = { update_id: 900000050, message: { message_id: 50, chat: { id: 123456789, type: 'private' }, date: 1e20, photo: [1, 'x'] } };
        const answer = await post(odd);
        expect(answer.statusCode).toBe(200);
        const stored = (await byExternalId('123456789:50'))!;
        expect(stored.parts![0]).toMatchObject({ type: 'unsupported' });
        expect(Math.abs(Date.parse(stored.createdAt) - Date.now())).toBeLessThan(60_000);
      });

      it('stores nothing for a repeated update_id, and records an edit on the stored message, keeping the earlier text', async () => {
        const again = await post(fixtures.cases.text!.update);
        expect(again.json()).toMatchObject({ stored: 0, duplicates: 1 });
        expect((await post(fixtures.edit)).statusCode).toBe(200);
        const edited = (await byExternalId('123456789:11'))!;
        expect(edited.content).toBe('Quero marcar uma consulta amanhã');
        expect(edited.edits).toEqual([{ content: 'Quero marcar uma consulta', parts: [{ type: 'text', text: 'Quero marcar uma consulta' }], editedAt: '2025-12-01T10:01:00.000Z' }]);
        const events = (await store.events.list({ conversationId: edited.conversationId, limit: 1000 })).data.filter((e) => e.type === 'message.edited');
        expect(events.map((e) => e.data)).toEqual([{ messageId: edited.id, seq: edited.seq, edits: 1 }]);
        // The same edit again changes nothing.
        await post(fixtures.edit);
        expect((await byExternalId('123456789:11'))!.edits).toHaveLength(1);
      });

      it('sends replies with sendMessage and inline keyboards; retries a 429 after retry_after; a 403 (blocked) fails for good', async () => {
        const sender = createOutboxSender({ channels: app.channels, pollMs: 50, backoffMs: 10, timeoutMs: 2_000 });
        sender.start();
        try {
          const conversation = (await byExternalId('123456789:11'))!.conversationId;
          bot.script.push({ error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 });
          const { message } = await store.messages.append(conversation, { role: 'assistant', content: 'Qual horário?', parts: [{ type: 'buttons', buttons: [{ id: 'slot:10h', title: '10h' }, { id: 'slot:11h', title: '11h' }] }] });
          await waitFor('the reply to be sent', async () => (await store.messages.get(message.id))!.status === 'sent');
          const sends = bot.calls.filter((c) => c.method === 'sendMessage');
          expect(sends).toHaveLength(2);
          expect(sends[1]!.body).toEqual({ chat_id: '123456789', text: 'Qual horário?', reply_markup: { inline_keyboard: [[{ text: '10h', callback_data: 'slot:10h' }], [{ text: '11h', callback_data: 'slot:11h' }]] } });
          expect((await store.messages.get(message.id))!.externalId).toMatch(/^123456789:\d+$/);
          bot.script.push({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
          const blocked = (await store.messages.append(conversation, { role: 'assistant', content: 'oi?' })).message;
          await waitFor('the send to fail', async () => (await store.messages.get(blocked.id))!.status === 'failed');
          expect((await store.messages.get(blocked.id))!.error).toMatchObject({ code: '403', title: 'Forbidden: bot was blocked by the user' });
          expect(bot.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(3);
          const photo = (await store.messages.append(conversation, { role: 'assistant', content: 'o mapa', parts: [{ type: 'image', url: 'https://example.com/map.png' }] })).message;
          await waitFor('the photo to be sent', async () => (await store.messages.get(photo.id))!.status === 'sent');
          expect(bot.calls.at(-1)).toEqual({ method: 'sendPhoto', body: { chat_id: '123456789', photo: 'https://example.com/map.png', caption: 'o mapa' } });
        } finally {
          await sender.stop();
        }
      });
    });
  });
}

describe('Telegram updates by polling and by webhook registration', () => {
  let bot: FakeBotApi;
  beforeAll(async () => {
    bot = await startFakeBotApi(TOKEN);
  });
  afterAll(async () => bot?.close());

  it('long-polls getUpdates across a restart: nothing lost, nothing stored twice, one poller per channel', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const channels = createChannelRuntime({ store, settingsCacheMs: 0 });
    try {
      const channel = await store.channels.create({ kind: 'telegram', name: 'polled', config: { apiUrl: bot.url, mode: 'polling' }, secrets: { botToken: TOKEN } });
      const update = (id: number, text: string) => ({ update_id: id, message: { message_id: id, from: { id: 42, first_name: 'Rui' }, chat: { id: 42, type: 'private' }, date: 1764583200, text } });
      const stored = async () => {
        const conversation = (await store.conversations.list({ channelId: channel.id })).data[0];
        return conversation ? (await store.messages.list(conversation.id, { limit: 100 })).data.map((m) => m.content) : [];
      };
      const first = createTelegramUpdates({ channels, pollSeconds: 1 });
      const rival = createTelegramUpdates({ channels, pollSeconds: 1 });
      first.start();
      await waitFor('the first poller', () => first.polling().length === 1);
      rival.start();
      bot.push(update(1, 'um'), update(2, 'dois'));
      await waitFor('two messages', async () => (await stored()).length === 2);
      expect(bot.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
      await first.stop();
      // Meanwhile updates arrive; the rival takes the lease over (released at stop) and goes on from the stored offset.
      bot.push(update(3, 'três'));
      await waitFor('the third message', async () => (await stored()).length === 3, 30_000);
      await rival.stop();
      // Telegram redelivers what was not confirmed: a repeat stores nothing.
      bot.push(update(3, 'três'), update(4, 'quatro'));
      const restarted = createTelegramUpdates({ channels, pollSeconds: 1 });
      restarted.start();
      await waitFor('the fourth message', async () => (await stored()).length === 4, 30_000);
      await restarted.stop();
      expect(await stored()).toEqual(['um', 'dois', 'três', 'quatro']);
      expect((await channels.ops.traffic(channel.id))!.pollOffset).toBe(5);
    } finally {
      await channels.close();
      await store.close();
    }
  });

  it('registers its own webhook (setWebhook with a generated secret_token) when a publicUrl is set', async () => {
    const store = await openStore({ url: 'sqlite::memory:' });
    const channels = createChannelRuntime({ store, settingsCacheMs: 0 });
    const updates = createTelegramUpdates({ channels, pollSeconds: 1 });
    // A second instance registering the same new channel at the same time chooses the same secret.
    const rivalChannels = createChannelRuntime({ store, settingsCacheMs: 0 });
    const rival = createTelegramUpdates({ channels: rivalChannels, pollSeconds: 1 });
    updates.start();
    rival.start();
    try {
      const channel = await store.channels.create({ kind: 'telegram', name: 'hooked', config: { apiUrl: bot.url, publicUrl: 'https://bots.example.com/' }, secrets: { botToken: TOKEN } });
      channels.changed(channel.id);
      rivalChannels.changed(channel.id);
      await waitFor('setWebhook', () => bot.webhook() !== undefined);
      expect(bot.webhook()!.url).toBe(`https://bots.example.com/webhooks/telegram/${channel.id}`);
      expect(bot.webhook()!.secret_token).toMatch(/^[A-Za-z0-9_-]{32,256}$/);
      await waitFor('both registrations', () => bot.calls.filter((c) => c.method === 'setWebhook').length >= 2);
      expect(new Set(bot.calls.filter((c) => c.method === 'setWebhook').map((c) => c.body.secret_token)).size).toBe(1);
      expect((await store.channels.get(channel.id))!.secrets).toEqual({ botToken: true, webhookSecret: true });
      // Switching to polling deletes the webhook.
      await store.channels.update(channel.id, { config: { mode: 'polling' } });
      channels.changed(channel.id);
      await waitFor('deleteWebhook', () => bot.webhook() === undefined);
    } finally {
      await updates.stop();
      await rival.stop();
      await rivalChannels.close();
      await channels.close();
      await store.close();
    }
  });
});
