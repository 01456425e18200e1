import { readFileSync } from 'node:fs';
import { telegramChannel } from '../../src/channels/telegram/telegram-channel.js';
import { channelConformance } from './channel-conformance.js';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/telegram/updates.json', import.meta.url), 'utf8')) as { cases: Record<string, { update: any; expect: { externalId: string } }> };

channelConformance({
  driver: telegramChannel,
  settings: (baseUrl) => ({ channelId: 'c', config: { apiUrl: baseUrl }, secrets: { botToken: '123:abc', webhookSecret: 'tg-secret' } }),
  authenticate: () => ({ good: { 'x-telegram-bot-api-secret-token': 'tg-secret' }, wrong: { 'x-telegram-bot-api-secret-token': 'tg-secrex' } }),
  verifySecret: 'webhookSecret',
  deliveries: Object.entries(fixtures.cases).map(([name, { update, expect }]) => ({ name, body: Buffer.from(JSON.stringify(update)), externalIds: [expect.externalId] })),
  answers: new URL('../fixtures/telegram/send-answers.json', import.meta.url),
});
