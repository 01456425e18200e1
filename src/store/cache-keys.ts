import type { CacheChange } from '../cache/hot-tier.js';
import type { Conversation } from '../domain/entities.js';

/** Hot tier keys: one hash tag per conversation, so that its entries share a Redis Cluster slot. */
export const cacheKey = {
  conversation: (t: string, id: string) => `${t}:{${id}}:c`,
  page: (t: string, id: string) => `${t}:{${id}}:p`,
  state: (t: string, id: string) => `${t}:{${id}}:s`,
  agent: (t: string, id: string) => `${t}:{${id}}:a`,
  handle: (t: string, channel: string, address: string) => `${t}:h:{${channel}:${address}}`,
};

/** A conversation's record changes with its version (status, title, metadata) or its lastSeq (messages); its read marker is invalidated instead (markRead). */
export const stampOf = (c: Conversation): number => c.version + c.lastSeq;

/** Conversations deleted: tombstones that refuse every refill. */
export const erased = (t: string, ids: string[]): CacheChange => ({
  op: 'invalidate', deleted: true, keys: ids.flatMap((id) => [cacheKey.conversation(t, id), cacheKey.page(t, id), cacheKey.state(t, id)]),
});

/** Conversations whose record changed as a side effect (a link or an agent cleared). */
export const touched = (t: string, ids: string[]): CacheChange => ({ op: 'invalidate', keys: ids.map((id) => cacheKey.conversation(t, id)) });
