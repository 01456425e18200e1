import { createHmac, timingSafeEqual } from 'node:crypto';
import { sameSecret, type ChannelDriver, type ChannelSettings, type WebhookRequest } from '../channel.js';
import { parseWhatsApp } from './whatsapp-parse.js';
import { markWhatsAppRead, prepareWhatsApp, whatsappMedia } from './whatsapp-send.js';

const header = (request: WebhookRequest, name: string) => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw request bytes with the app secret. Meta signs its own
 * serialisation (`caf\u00e9`), so the bytes are hashed as received, never re-serialised JSON.
 */
export function verifyWhatsAppSignature(request: WebhookRequest, settings: ChannelSettings): 'ok' | 'missing' | 'invalid' | 'not_configured' {
  const secret = settings.secrets.appSecret;
  if (!secret) return 'not_configured';
  const given = header(request, 'x-hub-signature-256');
  if (!given) return 'missing';
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(given.trim());
  if (!match) return 'invalid';
  const expected = createHmac('sha256', secret).update(request.body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex')) ? 'ok' : 'invalid';
}

export const whatsappChannel: ChannelDriver = {
  kind: 'whatsapp',
  missing: (settings) => [
    ...(['appSecret', 'accessToken', 'verifyToken'] as const).filter((name) => !settings.secrets[name]).map((name) => `secrets.${name}`),
    ...(settings.config.phoneNumberId ? [] : ['config.phoneNumberId']),
  ],
  challenge(query, settings) {
    const token = settings.secrets.verifyToken;
    const ok = query['hub.mode'] === 'subscribe' && typeof query['hub.verify_token'] === 'string' && token !== undefined
      && sameSecret(query['hub.verify_token'], token) && typeof query['hub.challenge'] === 'string';
    return ok ? { status: 200, body: query['hub.challenge'] as string } : { status: 403, body: 'Verification failed: hub.mode must be subscribe and hub.verify_token the channel\'s verifyToken secret.' };
  },
  verify: verifyWhatsAppSignature,
  parse: (body) => parseWhatsApp(body),
  prepare: prepareWhatsApp,
  markRead: markWhatsAppRead,
  media: whatsappMedia,
};
