import type { ChannelKind, Json } from './entities.js';

/** Channel kinds whose assistant messages Colloquy sends to a provider (through the outbox). */
export const outboundKind = (kind: ChannelKind | null | undefined): 'whatsapp' | 'telegram' | undefined =>
  (kind === 'whatsapp' || kind === 'telegram' ? kind : undefined);

/** WhatsApp's customer-service window: free-form messages only within 24 h of the customer's last message. */
export const WHATSAPP_WINDOW_MS = 86_400_000;

/** The window an outbound message must be sent within (null: none): templates may be sent any time. */
export function outboundWindowMs(kind: 'whatsapp' | 'telegram', parts: Json[] | null): number | null {
  if (kind !== 'whatsapp') return null;
  const template = parts?.some((p) => typeof p === 'object' && p !== null && !Array.isArray(p) && p.type === 'template');
  return template ? null : WHATSAPP_WINDOW_MS;
}
