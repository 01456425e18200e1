import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { whatsappChannel } from '../../src/channels/whatsapp/whatsapp-channel.js';
import { channelConformance } from './channel-conformance.js';

const fixtures = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/whatsapp/${name}.json`, import.meta.url), 'utf8'));
const sign = (body: Buffer, secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

channelConformance({
  driver: whatsappChannel,
  settings: (baseUrl) => ({ channelId: 'c', config: { phoneNumberId: '106540352242922', graphApiUrl: baseUrl }, secrets: { appSecret: 'app-secret', accessToken: 'EAAG', verifyToken: 'v' } }),
  authenticate: (body, settings) => ({ good: { 'x-hub-signature-256': sign(body, settings.secrets.appSecret!) }, wrong: { 'x-hub-signature-256': sign(body, 'another') } }),
  verifySecret: 'appSecret',
  deliveries: Object.entries(fixtures('messages').cases as Record<string, { notification: any }>).map(([name, { notification }]) => ({
    name, body: Buffer.from(JSON.stringify(notification)), externalIds: notification.entry[0].changes[0].value.messages.map((m: { id: string }) => m.id),
  })),
  answers: new URL('../fixtures/whatsapp/send-answers.json', import.meta.url),
});
