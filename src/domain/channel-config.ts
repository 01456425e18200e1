import Type, { type TSchema } from 'typebox';
import type { ChannelKind } from './entities.js';

/**
 * Each channel kind's public `config`, as a schema: WhatsApp and Telegram refuse keys they do not know (a typo is a
 * 400, not a setting silently ignored); the other kinds keep an open config for the caller's own settings.
 * Defaults are applied where they are used, so that a channel follows the defaults of the running version.
 */

const common = {
  reopenWindowSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31_536_000, description: 'A closed conversation active within this many seconds is reopened by a new inbound message. Default 86400.' })),
  staleAfterSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 31_536_000, description: 'Health is `stale` when nothing arrived for this long. Default 3600; 0: never stale.' })),
  retryAmbiguous: Type.Optional(Type.Boolean({ description: 'Resend after an ambiguous failure (a timeout, a 5xx): the customer may get the message twice. Default false.' })),
  sendsPerSecond: Type.Optional(Type.Number({ minimum: 0.1, maximum: 10_000, description: 'Sends per second from this channel (per instance). Default: WhatsApp 80, Telegram 30.' })),
  recipientBurst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: "Messages to one recipient in a burst before pacing (WhatsApp's pair limit). Default: WhatsApp 45, Telegram 3." })),
  recipientIntervalSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, description: 'After a burst, one message to the same recipient per this many seconds. Default: WhatsApp 6, Telegram 1.' })),
  agentId: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'An agent that answers every inbound message automatically, through the outbox (not while a conversation has `agentPaused`).' })),
  replyDebounceMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: "With `agentId`: how long a contact's burst of messages is awaited, to be answered once. Default 1500." })),
  maxMediaBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 104_857_600, description: 'Largest media file GET /v1/messages/:id/media passes through. Default 16 MiB.' })),
};
const Url = Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 });

export const WhatsAppConfigSchema = Type.Object({
  ...common,
  phoneNumberId: Type.Optional(Type.String({ pattern: '^[0-9]{1,32}$', description: 'The WhatsApp Business phone number id (not the phone number) messages are sent from.' })),
  graphApiUrl: Type.Optional({ ...Url, description: "Graph API base URL. Default https://graph.facebook.com (a local server speaking the same protocol, for tests and staging)." }),
  graphApiVersion: Type.Optional(Type.String({ pattern: '^v[0-9]{1,3}\\.[0-9]{1,3}$', description: 'Default v26.0.' })),
}, { additionalProperties: false });

export const TelegramConfigSchema = Type.Object({
  ...common,
  apiUrl: Type.Optional({ ...Url, description: 'Bot API base URL. Default https://api.telegram.org.' }),
  mode: Type.Optional(Type.Union([Type.Literal('webhook'), Type.Literal('polling')], { description: '`webhook` (default): Telegram calls POST /webhooks/telegram/:id; `polling`: `colloquy serve` calls getUpdates.' })),
  publicUrl: Type.Optional({ ...Url, description: "This server's public base URL: in webhook mode the channel registers its webhook there itself (setWebhook)." }),
}, { additionalProperties: false });

const OpenConfigSchema = Type.Object(common, { additionalProperties: true });

export const CONFIG_SCHEMAS: Record<ChannelKind, TSchema> = {
  whatsapp: WhatsAppConfigSchema, telegram: TelegramConfigSchema, webhook: OpenConfigSchema, api: OpenConfigSchema, web: OpenConfigSchema,
};

/** Secret names each kind reads; others may be set (they are kept), but these are what it needs. */
export const KNOWN_SECRETS: Partial<Record<ChannelKind, readonly string[]>> = {
  whatsapp: ['accessToken', 'appSecret', 'verifyToken'],
  telegram: ['botToken', 'webhookSecret'],
};

export const DEFAULT_STALE_AFTER_SECONDS = 3_600;
