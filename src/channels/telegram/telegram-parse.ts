import type { Json, JsonObject } from '../../domain/entities.js';
import { DeliveryInvalid, type Delivery, type InboundMessage } from '../channel.js';

/**
 * Telegram Bot API updates → what they carry. `message`, `channel_post` and `callback_query` are messages;
 * `edited_message` / `edited_channel_post` are edits. `externalId` is `<chat.id>:<message_id>` (message ids are
 * unique per chat), so a repeated `update_id` stores nothing twice; a callback query is `callback:<id>`.
 */

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
const part = (fields: Record<string, unknown>): JsonObject => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as JsonObject;

const nameOf = (m: Obj): string | undefined => {
  const who = isObj(m.from) ? m.from : isObj(m.chat) ? m.chat : {};
  return [str(who.first_name), str(who.last_name)].filter(Boolean).join(' ') || str(who.title) || str(who.username);
};

function mapContent(m: Obj): { content: string; parts: Json[] } {
  const caption = str(m.caption);
  const parts: Json[] = [];
  const photos = Array.isArray(m.photo) ? m.photo.filter(isObj) : [];
  if (photos.length) {
    // Telegram sends every size: the largest by area.
    const area = (p: Obj) => (Number(p.width) || 0) * (Number(p.height) || 0);
    const largest = photos.reduce((a, b) => (area(b) >= area(a) ? b : a));
    parts.push(part({ type: 'image', fileId: str(largest.file_id), width: largest.width, height: largest.height, size: largest.file_size, caption }));
  } else if (isObj(m.document)) {
    parts.push(part({ type: 'document', fileId: str(m.document.file_id), filename: str(m.document.file_name), mimeType: str(m.document.mime_type), size: m.document.file_size, caption }));
  } else if (isObj(m.voice)) {
    parts.push(part({ type: 'audio', voice: true, fileId: str(m.voice.file_id), mimeType: str(m.voice.mime_type), duration: m.voice.duration, size: m.voice.file_size }));
  } else if (isObj(m.location)) {
    parts.push(part({ type: 'location', latitude: Number(m.location.latitude), longitude: Number(m.location.longitude) }));
  } else if (isObj(m.contact)) {
    parts.push(part({ type: 'contacts', contacts: [part({ phone: str(m.contact.phone_number), firstName: str(m.contact.first_name), lastName: str(m.contact.last_name), userId: m.contact.user_id })] as Json }));
  } else if (typeof m.text === 'string') {
    parts.push({ type: 'text', text: m.text });
  } else {
    parts.push(part({ type: 'unsupported', raw: m as Json }));
  }
  const content = typeof m.text === 'string' ? m.text : caption
    ?? (isObj(m.location) ? `${m.location.latitude}, ${m.location.longitude}` : isObj(m.contact) ? [str(m.contact.first_name), str(m.contact.phone_number)].filter(Boolean).join(' ') : '');
  return { content, parts };
}

function messageOf(m: Obj, updateId: unknown): InboundMessage | undefined {
  const chat = isObj(m.chat) ? str(m.chat.id) : undefined;
  const id = str(m.message_id);
  if (!chat || !id) return undefined;
  const { content, parts } = mapContent(m);
  const reply = isObj(m.reply_to_message) ? str(m.reply_to_message.message_id) : undefined;
  return {
    externalId: `${chat}:${id}`, from: { address: chat, name: nameOf(m) }, content, parts,
    timestamp: unixSeconds(m.date),
    metadata: { telegram: part({ updateId: typeof updateId === 'number' ? updateId : undefined, chatType: str(m.chat.type), replyTo: reply ? `${chat}:${reply}` : undefined }) },
  };
}

/** Unix seconds → epoch ms; a missing or impossible value (before 2001, more than a day ahead) is now. */
function unixSeconds(value: unknown, fallback = Date.now()): number {
  const ms = Number(value) * 1000;
  return Number.isFinite(ms) && ms >= 978_307_200_000 && ms <= Date.now() + 86_400_000 ? ms : fallback;
}

/**
 * One update (a webhook call), or the array getUpdates answers. An update whose shape is unexpected is reported in
 * `errors` rather than failing the rest (a poll must move past it).
 */
export function parseTelegram(input: unknown): Delivery {
  const updates = Array.isArray(input) ? input : [input];
  const delivery: Delivery = { messages: [], statuses: [], edits: [], errors: [] };
  for (const u of updates) {
    if (!isObj(u) || typeof u.update_id !== 'number') throw new DeliveryInvalid('Not a Telegram update: expected an object with a numeric update_id.');
    try {
      parseUpdate(u, delivery);
    } catch (error) {
      delivery.errors.push({ code: 'malformed_update', title: `update ${u.update_id} could not be read: ${(error as Error).message}`.slice(0, 300) });
    }
  }
  return delivery;
}

function parseUpdate(u: Obj, delivery: Delivery): void {
  const posted = u.message ?? u.channel_post;
  const edited = u.edited_message ?? u.edited_channel_post;
  if (isObj(posted)) {
    const m = messageOf(posted, u.update_id);
    if (m) delivery.messages.push(m);
  } else if (isObj(edited)) {
    const m = messageOf(edited, u.update_id);
    if (m) delivery.edits.push({ ...m, editedAt: unixSeconds(edited.edit_date, m.timestamp) });
  } else if (isObj(u.callback_query)) {
    const q = u.callback_query;
    const chat = isObj(q.message) && isObj(q.message.chat) ? str(q.message.chat.id) : isObj(q.from) ? str(q.from.id) : undefined;
    if (chat && str(q.id)) {
      delivery.messages.push({
        externalId: `callback:${q.id}`, from: { address: chat, name: nameOf(q) }, content: str(q.data) ?? '',
        parts: [part({ type: 'callback', data: str(q.data), messageId: isObj(q.message) ? `${chat}:${q.message.message_id}` : undefined })],
        timestamp: Date.now(), metadata: { telegram: { updateId: u.update_id } },
      });
    }
  }
  // Other update kinds (polls, member changes) carry no message: acknowledged, not stored.
}
