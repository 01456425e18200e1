import type { Json, JsonObject } from '../../domain/entities.js';
import { DeliveryInvalid, type Delivery, type InboundMessage, type StatusUpdate } from '../channel.js';

/**
 * A WhatsApp Cloud API webhook notification → what it carries. Every `entry[]`, every `changes[]`, every
 * `messages[]` and `statuses[]` element is read (Meta batches up to 1,000 updates). Each message type becomes
 * `content` (its text, for people and LLMs) plus one typed part; a type this version does not know is kept with its
 * raw object, never dropped. `context` (reply-to, forwarded) and `referral` (ads) are kept in `metadata.whatsapp`.
 */

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
/** Drops undefined fields, so that parts hold only what the provider sent. */
const part = (fields: Record<string, unknown>): JsonObject => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as JsonObject;

/** `timestamp` is unix seconds as a string; a missing or impossible one (before 2001, more than a day ahead) is now. */
const secondsToMs = (v: unknown, fallback: number): number => {
  const ms = Math.round(Number(v) * 1000);
  return Number.isFinite(ms) && ms >= 978_307_200_000 && ms <= Date.now() + 86_400_000 ? ms : fallback;
};

const MEDIA = ['image', 'audio', 'video', 'document', 'sticker'] as const;

function mapMessage(m: Obj): { content: string; parts: Json[] } {
  const type = str(m.type) ?? 'unknown';
  const body = isObj(m[type]) ? m[type] : undefined;
  if (type === 'text' && body) return { content: str(body.body) ?? '', parts: [part({ type: 'text', text: str(body.body) ?? '' })] };
  if ((MEDIA as readonly string[]).includes(type) && body) {
    return {
      content: str(body.caption) ?? '',
      parts: [part({
        type, mediaId: str(body.id), mimeType: str(body.mime_type), sha256: str(body.sha256), caption: str(body.caption), filename: str(body.filename),
        voice: typeof body.voice === 'boolean' ? body.voice : undefined, animated: typeof body.animated === 'boolean' ? body.animated : undefined,
      })],
    };
  }
  if (type === 'location' && body) {
    const words = [str(body.name), str(body.address)].filter(Boolean).join(', ');
    return {
      content: words || `${body.latitude}, ${body.longitude}`,
      parts: [part({ type: 'location', latitude: Number(body.latitude), longitude: Number(body.longitude), name: str(body.name), address: str(body.address), url: str(body.url) })],
    };
  }
  if (type === 'contacts' && Array.isArray(m.contacts)) {
    const names = list(m.contacts).map((c) => str(c.name?.formatted_name) ?? '').filter(Boolean);
    return { content: names.join(', '), parts: [part({ type: 'contacts', contacts: m.contacts as Json })] };
  }
  if (type === 'interactive' && body) {
    const kind = str(body.type) ?? 'unknown';
    const reply = isObj(body[kind]) ? body[kind] : {};
    return {
      content: str(reply.title) ?? str(reply.body) ?? '',
      parts: [part({
        type: 'interactive_reply', kind, id: str(reply.id), title: str(reply.title), description: str(reply.description),
        name: str(reply.name), body: str(reply.body), responseJson: str(reply.response_json),
      })],
    };
  }
  if (type === 'button' && body) {
    return { content: str(body.text) ?? '', parts: [part({ type: 'button_reply', payload: str(body.payload), text: str(body.text) })] };
  }
  if (type === 'reaction' && body) {
    // A missing or empty emoji removes the reaction.
    const emoji = str(body.emoji) ?? null;
    return { content: emoji ?? '', parts: [part({ type: 'reaction', messageId: str(body.message_id), emoji, removed: emoji === null })] };
  }
  if (type === 'order' && body) {
    return { content: str(body.text) ?? '', parts: [part({ type: 'order', catalogId: str(body.catalog_id), text: str(body.text), items: (body.product_items ?? []) as Json })] };
  }
  if (type === 'system' && body) {
    return { content: str(body.body) ?? '', parts: [part({ type: 'system', kind: str(body.type), body: str(body.body), newWaId: str(body.wa_id ?? body.new_wa_id), identity: str(body.identity) })] };
  }
  // unsupported, or a type newer than this code: kept whole.
  return { content: '', parts: [part({ type: 'unsupported', providerType: type, raw: m as Json })] };
}

export function parseWhatsApp(raw: Buffer, now = Date.now()): Delivery {
  let notification: unknown;
  try {
    notification = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new DeliveryInvalid('The body is not JSON.');
  }
  if (!isObj(notification) || notification.object !== 'whatsapp_business_account' || !Array.isArray(notification.entry)) {
    throw new DeliveryInvalid('Not a WhatsApp Business Account notification: expected { object: "whatsapp_business_account", entry: [...] }.');
  }
  const delivery: Delivery = { messages: [], statuses: [], edits: [], errors: [] };
  const error = (e: Obj) => ({ code: str(e.code) ?? 'unknown', title: str(e.title) ?? str(e.message) ?? 'error' });
  for (const entry of list(notification.entry)) {
    for (const change of list(entry.changes)) {
      const value = isObj(change.value) ? change.value : undefined;
      if (!value) continue;
      delivery.errors.push(...list(value.errors).map(error));
      const names = new Map(list(value.contacts).map((c) => [str(c.wa_id) ?? '', str(c.profile?.name)]));
      for (const m of list(value.messages)) {
        const externalId = str(m.id);
        const from = str(m.from);
        if (!externalId || !from) {
          delivery.errors.push({ code: 'malformed_message', title: 'A message without id or from was skipped.' });
          continue;
        }
        delivery.errors.push(...list(m.errors).map(error));
        let mapped: ReturnType<typeof mapMessage>;
        try {
          mapped = mapMessage(m);
        } catch {
          // A shape this code did not foresee: kept whole, as an unknown type is.
          mapped = { content: '', parts: [part({ type: 'unsupported', providerType: str(m.type) ?? 'unknown', raw: m as Json })] };
        }
        const { content, parts } = mapped;
        const whatsapp = part({ type: str(m.type), context: isObj(m.context) ? m.context as Json : undefined, referral: isObj(m.referral) ? m.referral as Json : undefined });
        const message: InboundMessage = {
          externalId, from: { address: from, name: names.get(from) ?? (names.size === 1 ? [...names.values()][0] : undefined) },
          content, parts, timestamp: secondsToMs(m.timestamp, now), metadata: { whatsapp },
        };
        delivery.messages.push(message);
      }
      for (const st of list(value.statuses)) {
        const externalId = str(st.id);
        if (!externalId) continue;
        const raw = str(st.status) ?? '';
        const first = list(st.errors)[0];
        const status: StatusUpdate['status'] = raw === 'played' ? 'read' : (['sent', 'delivered', 'read', 'failed'] as const).find((s) => s === raw) ?? null;
        delivery.statuses.push({ externalId, status, raw, at: secondsToMs(st.timestamp, now), ...(first ? { error: error(first) } : {}) });
      }
    }
  }
  return delivery;
}
