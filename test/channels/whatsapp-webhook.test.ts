import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { storeTargets } from '../helpers/services.js';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/whatsapp/messages.json', import.meta.url), 'utf8')) as { cases: Record<string, { notification: any; expect: any }> };
const statusFixtures = JSON.parse(readFileSync(new URL('../fixtures/whatsapp/statuses.json', import.meta.url), 'utf8')) as { statuses: Record<string, any> };
const APP_SECRET = 'app-secret-0123456789abcdef';
const sign = (body: string | Buffer, secret = APP_SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

for (const target of storeTargets) {
  describe(`WhatsApp webhook on ${target.name}`, async () => {
    const opened = await target.open();
    describe.skipIf(!opened)('', () => {
      let app: App;
      let channelId: string;
      beforeAll(async () => {
        app = await buildApp({ store: opened!.store, logger: false });
        channelId = (await opened!.store.channels.create({
          kind: 'whatsapp', name: 'clinic', config: { phoneNumberId: '106540352242922' },
          secrets: { appSecret: APP_SECRET, verifyToken: 'verify-me', accessToken: 'EAAG-token' },
        })).id;
      });
      afterAll(async () => {
        await app?.close();
        await opened?.store.close();
        await opened?.cleanup();
      });
      const post = (body: string | Buffer, headers: Record<string, string> = {}, id = channelId) =>
        app.inject({ method: 'POST', url: `/webhooks/whatsapp/${id}`, payload: body, headers: { 'content-type': 'application/json', ...headers } });
      const deliver = (notification: unknown) => {
        const body = JSON.stringify(notification);
        return post(body, { 'x-hub-signature-256': sign(body) });
      };
      const traffic = async () => {
        await app.channels.traffic.flush();
        return (await app.channels.ops.traffic(channelId))!.counts;
      };

      it('answers the verification challenge only with the right verify token', async () => {
        const ok = await app.inject({ url: `/webhooks/whatsapp/${channelId}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444` });
        expect(ok.statusCode).toBe(200);
        expect(ok.body).toBe('1158201444');
        expect(ok.headers['content-type']).toMatch(/^text\/plain/);
        for (const query of ['hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1', 'hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1', 'hub.challenge=1']) {
          expect((await app.inject({ url: `/webhooks/whatsapp/${channelId}?${query}` })).statusCode).toBe(403);
        }
      });

      it('refuses a missing, malformed or wrong signature (401), stores nothing and counts it', async () => {
        const before = (await traffic()).rejected ?? 0;
        const body = JSON.stringify(fixtures.cases.text!.notification).replace('wamid.', 'wamid.unsigned');
        for (const headers of [{} as Record<string, string>, { 'x-hub-signature-256': 'sha256=abc' }, { 'x-hub-signature-256': sign(body, 'another-secret') }, { 'x-hub-signature-256': sign(`${body} `) }]) {
          const answer = await post(body, headers);
          expect(answer.statusCode).toBe(401);
          expect(answer.json().error.code).toBe('unauthenticated');
        }
        expect((await traffic()).rejected).toBe(before + 4);
        expect((await opened!.store.conversations.list({ channelId })).data.flatMap((c) => c)).toHaveLength(0);
      });

      it('hashes the raw bytes: escaped unicode as Meta sends it verifies, the same JSON re-serialised does not', async () => {
        const notification = fixtures.cases['text-unicode']!.notification;
        // Meta's serialisation escapes non-ASCII characters: café → caf\u00e9.
        const escaped = JSON.stringify(notification).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        const signature = sign(escaped);
        expect((await post(JSON.stringify(JSON.parse(escaped)), { 'x-hub-signature-256': signature })).statusCode).toBe(401);
        const answer = await post(escaped, { 'x-hub-signature-256': signature });
        expect(answer.statusCode).toBe(200);
        const stored = await opened!.store.messages.list((await opened!.store.conversations.list({ channelId })).data[0]!.id);
        expect(stored.data.at(-1)!.content).toBe('café ☕ 😀 日本');
      });

      it('answers 404 for an unknown channel or one of another kind, 400 for a signed body that is not a notification', async () => {
        const body = JSON.stringify(fixtures.cases.text!.notification);
        expect((await post(body, { 'x-hub-signature-256': sign(body) }, '018f0000-0000-7000-8000-000000000000')).statusCode).toBe(404);
        expect((await post(body, { 'x-hub-signature-256': sign(body) }, 'not-a-uuid')).statusCode).toBe(404);
        const telegram = await opened!.store.channels.create({ kind: 'telegram', name: 'bot', secrets: { botToken: '1:x', webhookSecret: 'tg-secret' } });
        expect((await post(body, { 'x-hub-signature-256': sign(body) }, telegram.id)).statusCode).toBe(404);
        const before = (await traffic()).invalid ?? 0;
        for (const junk of ['{"object":"page","entry":[]}', 'not json', '[]']) {
          const answer = await post(junk, { 'x-hub-signature-256': sign(junk) });
          expect(answer.statusCode).toBe(400);
          expect(answer.json().error.code).toBe('invalid_argument');
        }
        expect((await traffic()).invalid).toBe(before + 3);
      });

      it('refuses every delivery of a channel without an app secret (401) and says so', async () => {
        const bare = await opened!.store.channels.create({ kind: 'whatsapp', name: 'bare', config: { phoneNumberId: '1' } });
        const body = JSON.stringify(fixtures.cases.text!.notification);
        const answer = await post(body, { 'x-hub-signature-256': sign(body) }, bare.id);
        expect(answer.statusCode).toBe(401);
        expect(answer.json().error.details.reason).toBe('not_configured');
      });

      it('maps every message type of the fixtures to content and a typed part, with the contact\'s name and the provider\'s time', async () => {
        for (const [name, { notification, expect: expected }] of Object.entries(fixtures.cases)) {
          const answer = await deliver(notification);
          expect(answer.statusCode, name).toBe(200);
          const wamid = notification.entry[0].changes[0].value.messages[0].id;
          const conversation = (await opened!.store.conversations.list({ channelId })).data[0]!;
          const message = (await opened!.store.messages.list(conversation.id, { limit: 1000 })).data.find((m) => m.externalId === wamid)!;
          expect(message, name).toBeDefined();
          expect(message.content, name).toBe(expected.content);
          expect(message.createdAt).toBe('2025-12-01T10:00:00.000Z');
          const part = message.parts![0] as Record<string, unknown>;
          expect(part.type, name).toBe(expected.part);
          for (const key of ['mediaId', 'voice', 'animated', 'filename', 'kind', 'removed']) if (key in expected) expect(part[key], `${name}.${key}`).toEqual(expected[key]);
          const meta = (message.metadata as any).whatsapp;
          if (expected.context) expect(meta.context, name).toBeTruthy();
          if (expected.referral) expect(meta.referral.source_type, name).toBe('ad');
          if (expected.part === 'unsupported') expect((part.raw as any).id).toBe(wamid);
        }
        const contact = await opened!.store.contacts.findByHandle({ channel: 'whatsapp', address: '16505551234' });
        expect(contact?.name).toBe('Sheena Nelson');
      });

      it('processes every entry, change, message and status of a batch', async () => {
        const text = (id: string, from: string, body: string) => ({ from, id, timestamp: '1764583300', type: 'text', text: { body } });
        const value = (messages: unknown[], contacts: Array<[string, string]>) => ({ field: 'messages', value: {
          messaging_product: 'whatsapp', metadata: { phone_number_id: '106540352242922' },
          contacts: contacts.map(([wa_id, name]) => ({ wa_id, profile: { name } })), messages,
        } });
        const batch = { object: 'whatsapp_business_account', entry: [
          { id: 'a', changes: [value([text('wamid.b1', '5511900000001', 'um'), text('wamid.b2', '5511900000002', 'dois')], [['5511900000001', 'Um'], ['5511900000002', 'Dois']]), value([text('wamid.b3', '5511900000001', 'três')], [['5511900000001', 'Um']])] },
          { id: 'b', changes: [value([text('wamid.b4', '5511900000003', 'quatro')], [['5511900000003', 'Três']])] },
        ] };
        const answer = await deliver(batch);
        expect(answer.json()).toMatchObject({ stored: 4, duplicates: 0 });
        const one = await opened!.store.contacts.findByHandle({ channel: 'whatsapp', address: '5511900000001' });
        const conv = (await opened!.store.conversations.list({ contactId: one!.id })).data[0]!;
        expect((await opened!.store.messages.list(conv.id)).data.map((m) => m.content)).toEqual(['um', 'três']);
        expect((await opened!.store.contacts.findByHandle({ channel: 'whatsapp', address: '5511900000002' }))?.name).toBe('Dois');
        expect((await deliver(batch)).json()).toMatchObject({ stored: 0, duplicates: 4 });
      });

      it('stores one message for 20 concurrent redeliveries of one delivery, and counts the duplicates', async () => {
        const before = await traffic();
        const notification = structuredClone(fixtures.cases.text!.notification);
        notification.entry[0].changes[0].value.messages[0].id = 'wamid.storm';
        notification.entry[0].changes[0].value.messages[0].from = '5511988887777';
        notification.entry[0].changes[0].value.contacts[0].wa_id = '5511988887777';
        const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(notification)));
        expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
        expect(answers.reduce((n, a) => n + a.json().stored, 0)).toBe(1);
        const contact = await opened!.store.contacts.findByHandle({ channel: 'whatsapp', address: '5511988887777' });
        const conversations = (await opened!.store.conversations.list({ contactId: contact!.id })).data;
        expect(conversations).toHaveLength(1);
        expect((await opened!.store.messages.list(conversations[0]!.id)).data).toHaveLength(1);
        const after = await traffic();
        expect(after.stored! - (before.stored ?? 0)).toBe(1);
        expect(after.duplicates! - (before.duplicates ?? 0)).toBe(19);
      });

    });
  });
}
