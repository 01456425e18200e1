import type { JsonObject, StoreEvent } from '../domain/entities.js';
import type { Store } from '../store/store.js';

/**
 * The complete data of an event, for a webhook payload or an SSE stream with `?include=data`: the log keeps ids
 * only (so that an erasure has nothing else to find), and the object is read now — a delivery retried days later
 * carries the current record, and an erased one is `{ id, erased: true }`, never its old content. A record of a
 * conversation in the trash is hidden like any read, but restorable: `{ id, trashed: true, purgeAt }`, so that a
 * receiver does not delete what may come back. Events that name no object (usage, budgets, agent errors, erasures)
 * keep their own data.
 */
export async function eventData(store: Store, event: Pick<StoreEvent, 'type' | 'conversationId' | 'data'>): Promise<JsonObject> {
  const { type, data, conversationId } = event;
  const gone = async (id: unknown): Promise<JsonObject> => {
    const trashed = conversationId ? await store.trash.get(conversationId) : null;
    return trashed ? { id: typeof id === 'string' ? id : null, trashed: true, purgeAt: trashed.purgeAt } : { id: typeof id === 'string' ? id : null, erased: true };
  };
  const json = (value: unknown) => value as unknown as JsonObject;
  switch (type) {
    case 'message.created':
    case 'message.edited':
    case 'message.status': {
      const message = await store.messages.get(String(data.messageId));
      return message ? json(message) : gone(data.messageId);
    }
    case 'conversation.created':
    case 'conversation.updated':
    case 'conversation.restored': {
      const conversation = conversationId ? await store.conversations.get(conversationId) : null;
      return conversation ? json(conversation) : gone(conversationId);
    }
    case 'conversation.deleted': {
      // Restored since: it was deleted, and the record's fate is the restore's event.
      if (data.trashed === true && conversationId && await store.conversations.get(conversationId)) return { id: conversationId, trashed: true, restored: true };
      return gone(conversationId);
    }
    case 'state.updated': {
      const conversation = conversationId ? await store.conversations.get(conversationId) : null;
      return conversation ? json(await store.state.get(conversation.id)) : gone(conversationId);
    }
    case 'channel.health': {
      const channel = await store.channels.get(String(data.channelId));
      return channel ? json(channel) : gone(data.channelId);
    }
    case 'alert.raised':
    case 'alert.resolved': {
      const alert = await store.alerts.get(String(data.alertId));
      return alert ? json(alert) : gone(data.alertId);
    }
    case 'report.daily':
      return json(await store.reports.daily({ date: String(data.date) }));
    default:
      return data;
  }
}
