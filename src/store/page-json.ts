import { PAGE_MAX } from '../cache/hot-tier.js';
import type { Message, Page } from '../domain/entities.js';
import { descendingCursor, newestCached } from './messages.js';
import { scopeOfStore, type Store } from './store.js';

const OPEN = Buffer.from('{"data":[');

/**
 * The newest page of a conversation for the HTTP API, as `messages.list(id, { order: 'desc', limit })` answers it.
 * When the hot tier holds it, the answer is the page's JSON text made from the cached items without parsing them
 * (they are the messages' JSON already), as a string or as the bytes Redis sent: a hot read then costs no decoding,
 * no parse and no serialisation. Otherwise, or without
 * a hot tier, the page itself. The caller has validated `limit`.
 */
export async function newestPage(store: Store, conversationId: string, limit: number): Promise<string | Buffer | Page<Message>> {
  const s = scopeOfStore(store);
  if (!s.hot || limit > PAGE_MAX) return store.messages.list(conversationId, { order: 'desc', limit });
  const key = s.id(conversationId, 'conversation');
  const page = s.found(await newestCached(s, key, limit), 'conversation', key);
  if (!('joined' in page)) {
    const data = page.items as Message[];
    return { data, nextCursor: data.length === limit ? descendingCursor(data.at(-1)!.seq) : null };
  }
  // Cached pages hold consecutive seqs, newest first: the last one's seq follows from the newest and the count.
  const cursor = page.count === limit ? descendingCursor(page.version - page.count + 1) : null;
  const end = `],"nextCursor":${cursor === null ? 'null' : JSON.stringify(cursor)}}`;
  return typeof page.joined === 'string' ? `{"data":[${page.joined}${end}` : Buffer.concat([OPEN, page.joined, Buffer.from(end)]);
}
