import type { JsonObject } from '../../domain/entities.js';
import { buildOrRefuse, DeliveryInvalid, fetchWithin, sameSecret, SendFailure, type ChannelDriver, type ChannelSettings, type MediaFile, type OutboundMessage, type SendOptions } from '../channel.js';
import { parseTelegram } from './telegram-parse.js';

export const DEFAULT_TELEGRAM_API_URL = 'https://api.telegram.org';

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const base = (settings: ChannelSettings) => String(settings.config.apiUrl ?? DEFAULT_TELEGRAM_API_URL).replace(/\/+$/, '');
export const botUrl = (settings: ChannelSettings, method: string) => `${base(settings)}/bot${settings.secrets.botToken ?? ''}/${method}`;

/** A Bot API error answer → whether the message may be sent again. */
export function classifyTelegramError(status: number, body: unknown): SendFailure {
  const b = isObj(body) ? body : {};
  const code = String(b.error_code ?? status);
  const title = String(b.description ?? `HTTP ${status}`);
  if (code === '429') return new SendFailure('retry', code, title, { retryAfterMs: Number(b.parameters?.retry_after ?? 1) * 1000 });
  if (code === '401' || (code === '404' && /not found/i.test(title))) return new SendFailure('final', code, title, { tokenError: true });
  if (Number(code) >= 500 || status >= 500) return new SendFailure('ambiguous', code, title);
  return new SendFailure('final', code, title);
}

/** Calls a Bot API method; the answer's `result`, or a SendFailure. */
export async function callTelegram(settings: ChannelSettings, method: string, payload: JsonObject, timeoutMs: number, stop?: AbortSignal): Promise<any> {
  const response = await fetchWithin(botUrl(settings, method), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }, timeoutMs, stop);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new SendFailure(response.ok ? 'ambiguous' : classifyTelegramError(response.status, undefined).kind, `http_${response.status}`, "The provider's answer could not be read.");
  }
  if (response.ok && isObj(body) && body.ok === true) return body.result;
  throw classifyTelegramError(response.status, body);
}

/** The Bot API call for a message: text with an optional inline keyboard, or a photo or document by URL. */
export function telegramRequest(message: OutboundMessage): { method: string; payload: JsonObject } {
  const parts = (message.parts ?? []).filter(isObj);
  const chat_id = message.recipient;
  const keyboard = parts.find((p) => p.type === 'buttons' || p.type === 'inline_keyboard');
  const reply_markup = keyboard?.type === 'buttons'
    ? { inline_keyboard: (keyboard.buttons as Obj[] ?? []).map((b) => [{ text: String(b.title), callback_data: String(b.id) }]) }
    : keyboard ? { inline_keyboard: keyboard.inline_keyboard } : undefined;
  const extra: JsonObject = reply_markup ? { reply_markup } : {};
  const media = parts.find((p) => p.type === 'image' || p.type === 'document');
  if (media?.type === 'image') return { method: 'sendPhoto', payload: { chat_id, photo: media.url ?? media.fileId, ...(message.content ? { caption: message.content } : {}), ...extra } };
  if (media?.type === 'document') return { method: 'sendDocument', payload: { chat_id, document: media.url ?? media.fileId, ...(message.content ? { caption: message.content } : {}), ...extra } };
  return { method: 'sendMessage', payload: { chat_id, text: message.content, ...extra } };
}

export const telegramChannel: ChannelDriver = {
  kind: 'telegram',
  missing: (settings) => [
    ...(settings.secrets.botToken ? [] : ['secrets.botToken']),
    ...(settings.config.mode !== 'polling' && !settings.secrets.webhookSecret ? ['secrets.webhookSecret'] : []),
  ],
  verify(request, settings) {
    const secret = settings.secrets.webhookSecret;
    if (!secret) return 'not_configured';
    const given = request.headers['x-telegram-bot-api-secret-token'];
    const value = Array.isArray(given) ? given[0] : given;
    if (!value) return 'missing';
    return sameSecret(value, secret) ? 'ok' : 'invalid';
  },
  parse(body) {
    let update: unknown;
    try {
      update = JSON.parse(body.toString('utf8'));
    } catch {
      throw new DeliveryInvalid('The body is not JSON.');
    }
    // A webhook call carries one update (getUpdates answers arrays: telegram-updates.ts).
    if (Array.isArray(update)) throw new DeliveryInvalid('Not a Telegram update: expected one object with a numeric update_id.');
    return parseTelegram(update);
  },
  prepare(message, settings) {
    const { method, payload } = buildOrRefuse(() => telegramRequest(message));
    return async (timeoutMs) => {
      const result = await callTelegram(settings, method, payload, timeoutMs);
      if (!isObj(result) || result.message_id === undefined) throw new SendFailure('ambiguous', 'no_message_id', 'The provider accepted the request but answered no message id.');
      return { externalId: `${isObj(result.chat) ? result.chat.id : message.recipient}:${result.message_id}` };
    };
  },
  async media(part, settings, options: SendOptions): Promise<MediaFile> {
    const file = await callTelegram(settings, 'getFile', { file_id: String(part.fileId) }, options.timeoutMs);
    if (!isObj(file) || typeof file.file_path !== 'string') throw new DeliveryInvalid('getFile answered no file_path.');
    const response = await fetchWithin(`${base(settings)}/file/bot${settings.secrets.botToken}/${file.file_path}`, {}, options.timeoutMs, undefined, true);
    if (!response.ok || !response.body) throw classifyTelegramError(response.status, undefined);
    // Telegram's file server often answers a generic type: then the type the update gave (a voice note's audio/ogg).
    const served = response.headers.get('content-type') ?? '';
    const mimeType = served && !/^application\/octet-stream/i.test(served) ? served : String(part.mimeType ?? served);
    return { body: response.body, mimeType, size: typeof file.file_size === 'number' ? file.file_size : null };
  },
};
