import type { MessageStatus } from './entities.js';

const rank: Record<MessageStatus, number> = { pending: 0, sent: 1, delivered: 2, read: 3, failed: 1.5 };

/**
 * Delivery statuses only move forward: pending → sent → delivered → read.
 * `failed` may follow pending or sent only; nothing follows `failed` or `read`.
 * A late `delivered` arriving after `read` is therefore ignored, not an error.
 */
export function canAdvance(from: MessageStatus, to: MessageStatus): boolean {
  if (from === 'failed' || from === 'read') return false;
  if (to === 'failed') return from === 'pending' || from === 'sent';
  return rank[to] > rank[from];
}
