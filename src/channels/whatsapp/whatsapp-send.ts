import type { Json, JsonObject } from '../../domain/entities.js';
import { buildOrRefuse, fetchWithin, SendFailure, type ChannelSettings, type MediaFile, type OutboundMessage, type SendOptions } from '../channel.js';

export const DEFAULT_GRAPH_API_URL = 'https://graph.facebook.com';
export const DEFAULT_GRAPH_API_VERSION = 'v26.0';

/** Rate limits: Meta did not take the message; it may be sent again later. */
const RETRY = new Set(['4', '80007', '130429', '131056']);
/** Meta's own unknown or temporary failures: it may have the message. */
const AMBIGUOUS = new Set(['1', '2', '131000', '131016']);
/** The access token was refused: the channel cannot send until it is replaced. */
const TOKEN = new Set(['190']);

const graph = (settings: ChannelSettings) => {
  const base = String(settings.config.graphApiUrl ?? DEFAULT_GRAPH_API_URL).replace(/\/+$/, '');
  return `${base}/${String(settings.config.graphApiVersion ?? DEFAULT_GRAPH_API_VERSION)}`;
};
const auth = (settings: ChannelSettings) => ({ authorization: `Bearer ${settings.secrets.accessToken ?? ''}` });

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const MEDIA = new Set(['image', 'audio', 'video', 'document', 'sticker']);

/** The Cloud API request body for a message: text, or the first part that is a template, media, interactive or reaction. */
export function whatsappBody(message: OutboundMessage): JsonObject {
  const parts = (message.parts ?? []).filter(isObj);
  const head: JsonObject = { messaging_product: 'whatsapp', recipient_type: 'individual', to: message.recipient };
  const replyTo = parts.find((p) => p.type === 'reply_to' && typeof p.messageId === 'string');
  if (replyTo) head.context = { message_id: replyTo.messageId };
  const p = parts.find((x) => x.type !== 'reply_to' && x.type !== 'text');
  if (!p) return { ...head, type: 'text', text: { body: message.content, preview_url: false } };
  if (p.type === 'template') {
    const language = typeof p.language === 'string' ? { code: p.language } : p.language;
    return { ...head, type: 'template', template: { name: p.name, language, ...(p.components ? { components: p.components } : {}) } as Json };
  }
  if (MEDIA.has(p.type)) {
    const media: JsonObject = p.mediaId ? { id: p.mediaId } : { link: p.url };
    if (p.caption ?? (message.content && p.type !== 'audio' && p.type !== 'sticker' ? message.content : undefined)) media.caption = p.caption ?? message.content;
    if (p.filename) media.filename = p.filename;
    return { ...head, type: p.type, [p.type]: media };
  }
  if (p.type === 'buttons') {
    const buttons = (Array.isArray(p.buttons) ? p.buttons : []).map((b: Obj) => ({ type: 'reply', reply: { id: String(b.id), title: String(b.title) } }));
    return { ...head, type: 'interactive', interactive: { type: 'button', body: { text: message.content }, action: { buttons } } };
  }
  if (p.type === 'list') {
    return { ...head, type: 'interactive', interactive: { type: 'list', body: { text: message.content }, action: { button: p.button, sections: p.sections } } as Json };
  }
  if (p.type === 'interactive') return { ...head, type: 'interactive', interactive: p.interactive as Json };
  if (p.type === 'reaction') return { ...head, type: 'reaction', reaction: { message_id: p.messageId, emoji: p.emoji ?? '' } };
  return { ...head, type: 'text', text: { body: message.content, preview_url: false } };
}

/** A Graph API error answer → whether the message may be sent again. */
export function classifyWhatsAppError(status: number, body: unknown): SendFailure {
  const error = isObj(body) && isObj(body.error) ? body.error : {};
  const code = error.code !== undefined ? String(error.code) : `http_${status}`;
  const title = String(error.error_data?.details ?? error.message ?? error.title ?? `HTTP ${status}`);
  if (RETRY.has(code) || status === 429) return new SendFailure('retry', code, title);
  if (TOKEN.has(code) || status === 401) return new SendFailure('final', code, title, { tokenError: true });
  if (AMBIGUOUS.has(code) || status >= 500) return new SendFailure('ambiguous', code, title);
  return new SendFailure('final', code, title);
}

export function prepareWhatsApp(message: OutboundMessage, settings: ChannelSettings): (timeoutMs: number) => Promise<{ externalId: string }> {
  const body = buildOrRefuse(() => JSON.stringify(whatsappBody(message)));
  const url = `${graph(settings)}/${settings.config.phoneNumberId}/messages`;
  return (timeoutMs) => sendWhatsApp(url, body, settings, timeoutMs);
}

async function sendWhatsApp(url: string, body: string, settings: ChannelSettings, timeoutMs: number): Promise<{ externalId: string }> {
  const response = await fetchWithin(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth(settings) }, body }, timeoutMs);
  let answer: unknown;
  try {
    answer = await response.json();
  } catch {
    // The answer was cut or is not JSON: on a success status Meta has the message, and its id is lost.
    throw new SendFailure(response.ok ? 'ambiguous' : classifyWhatsAppError(response.status, undefined).kind, `http_${response.status}`, 'The provider\'s answer could not be read.');
  }
  const id = isObj(answer) && Array.isArray(answer.messages) && isObj(answer.messages[0]) ? answer.messages[0].id : undefined;
  if (response.ok && typeof id === 'string') return { externalId: id };
  if (response.ok) throw new SendFailure('ambiguous', 'no_message_id', 'The provider accepted the request but answered no message id.');
  throw classifyWhatsAppError(response.status, answer);
}

/** Marks a received message read: `{ status: 'read', message_id }` on the messages endpoint. */
export async function markWhatsAppRead(externalId: string, settings: ChannelSettings, options: SendOptions): Promise<void> {
  const response = await fetchWithin(`${graph(settings)}/${settings.config.phoneNumberId}/messages`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth(settings) },
    body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: externalId }),
  }, options.timeoutMs);
  if (!response.ok) throw classifyWhatsAppError(response.status, await response.json().catch(() => undefined));
  await response.body?.cancel();
}

/** An inbound media file: its URL looked up by id (URLs expire), then downloaded with the token. */
export async function whatsappMedia(part: JsonObject, settings: ChannelSettings, options: SendOptions): Promise<MediaFile> {
  const lookup = await fetchWithin(`${graph(settings)}/${encodeURIComponent(String(part.mediaId))}`, { headers: auth(settings) }, options.timeoutMs);
  const info = (await lookup.json().catch(() => ({}))) as Obj;
  if (!lookup.ok || typeof info.url !== 'string') throw classifyWhatsAppError(lookup.status, info);
  const file = await fetchWithin(info.url, { headers: auth(settings) }, options.timeoutMs, undefined, true);
  if (!file.ok || !file.body) throw classifyWhatsAppError(file.status, await file.json().catch(() => undefined));
  const length = Number(file.headers.get('content-length') ?? info.file_size);
  return { body: file.body, mimeType: String(info.mime_type ?? file.headers.get('content-type') ?? ''), size: Number.isFinite(length) ? length : null };
}
