import type { CacheChange } from '../cache/hot-tier.js';
import type { IngestResult } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { IngestSchema, type IngestInput } from '../domain/inputs.js';
import { toEpochMs, validate } from '../domain/validate.js';
import { normalizeAddress } from '../domain/handles.js';
import { cacheKey, stampOf } from './cache-keys.js';
import type { Scope } from './scope.js';
import { lazyTokens } from '../context/tokens.js';

/**
 * An inbound channel message: contact by handle, then the continuity rule (join the open conversation, reopen
 * a closed one within the channel's window, or start a new one linked to the previous), then an idempotent append.
 */
export type IngestApi = (input: IngestInput) => Promise<IngestResult>;

export function ingestOf(s: Scope): IngestApi {
  const { backend, tenant: t, hot } = s;
  return async (input) => {
    const v = validate(IngestSchema, input, 'inbound message');
    const now = s.clock();
    const tokens = await lazyTokens({ role: 'user', content: v.content, parts: null });
    const channelId = v.channelId.toLowerCase();
    // The channel's kind says how its addresses are spelled; a name given may also rename the contact, whose
    // handle's cache key needs it too. Read before the write, so that nothing can fail between commit and cache update.
    const channelKind = await s.kindOf(channelId);
    const address = normalizeAddress(channelKind, v.from.address, '/from/address');
    const kind = hot && v.from.name !== undefined ? channelKind : undefined;
    const result = await backend.inbound.ingest(t, {
      channelId, address, name: v.from.name ?? null,
      contactId: newId(), conversationId: newId(), now,
      message: {
        id: newId(), role: 'user', content: v.content, parts: v.parts ?? null,
        externalId: v.externalId, idempotencyKey: null, status: 'delivered', intent: null, confidence: null,
        entities: null, metadata: v.metadata ?? null, sender: null, get tokens() { return tokens(); }, usage: null,
        createdAt: toEpochMs(v.timestamp, 'timestamp', now),
      },
    });
    if (result.duplicate) {
      // Nothing was written; the record is refreshed anyway, as a cheap guard for a cache that missed a change.
      await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.conversation(t, result.conversation.id)] }]);
      return result;
    }
    const { conversation, message } = result;
    const changes: CacheChange[] = [
      { op: 'write', key: cacheKey.conversation(t, conversation.id), version: stampOf(conversation), value: conversation },
      { op: 'push', key: cacheKey.page(t, conversation.id), version: message.seq, item: message },
    ];
    if (kind) changes.push({ op: 'invalidate', keys: [cacheKey.handle(t, kind, address)] });
    await s.settle(() => changes);
    // Awaited, so that what listens (an automatic reply scheduled) is durable when the message is acknowledged;
    // a listener's failure is its own (the sweep of unanswered messages covers it), never the ingest's.
    for (const listener of s.inboundListeners) await listener(t, result).catch(() => {});
    return s.changed(result);
  };
}
