import type { TrashRecord } from '../backends/backend.js';
import type { Conversation, Page } from '../domain/entities.js';
import { PageOptionsSchema, type PageOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { cacheKey, touched } from './cache-keys.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import { scopeOfStore, type Store } from './store.js';
import type { Scope } from './scope.js';

/** A conversation in the trash. */
export interface TrashEntry {
  /** The conversation's id (the same once restored). */
  id: string;
  /** As it was when deleted. */
  conversation: Conversation;
  messages: number;
  deletedAt: string;
  /** When it is erased unless restored. */
  purgeAt: string;
}

export interface TrashApi {
  /** Newest deletion first; `limit` 1–200, default 50. */
  list(options?: PageOptions): Promise<Page<TrashEntry>>;
  /** Null when it is not in the trash. */
  get(id: string): Promise<TrashEntry | null>;
  /**
   * Puts it back with its messages (ids and seqs unchanged) and state; closed if its contact has a newer non-closed
   * conversation on the channel. Throws `not_found` when it is not in the trash.
   */
  restore(id: string): Promise<{ conversation: Conversation; closed: boolean; externalIdsDropped: number }>;
  /** Erases it now; false when it is not in the trash. */
  purge(id: string): Promise<boolean>;
}

const entryOf = (r: TrashRecord): TrashEntry => ({
  id: r.conversation.id, conversation: r.conversation, messages: r.messages,
  deletedAt: new Date(r.deletedAt).toISOString(), purgeAt: new Date(r.purgeAt).toISOString(),
});
const cursorKey = (parts: unknown[]) =>
  parts.length === 2 && typeof parts[0] === 'number' && typeof parts[1] === 'string' ? { deletedAt: parts[0], id: parts[1] } : undefined;

export function trashOf(s: Scope): TrashApi {
  const { backend, tenant: t } = s;
  return {
    async list(options = {}) {
      const v = validate(PageOptionsSchema, options, 'trash list options');
      const limit = v.limit ?? 50;
      const before = v.cursor === undefined ? undefined : decodeCursor('trash', v.cursor, cursorKey);
      const page = pageOf(await backend.trash.list(t, { before, limit: limit + 1 }), limit, (last) => encodeCursor('trash', [last.deletedAt, last.conversation.id]));
      return { data: page.data.map(entryOf), nextCursor: page.nextCursor };
    },
    async get(id) {
      const record = await backend.trash.get(t, s.id(id, 'conversation'));
      return record ? entryOf(record) : null;
    },
    async restore(id) {
      const key = s.id(id, 'conversation');
      const result = s.found(await backend.trash.restore(t, key, s.clock()), 'conversation in the trash', key);
      // Tombstones left by the delete keep refusing fills until they expire: reads go to the database meanwhile.
      await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.conversation(t, key), cacheKey.page(t, key), cacheKey.state(t, key)] }, touched(t, result.relinked)]);
      return s.changed({ conversation: result.conversation, closed: result.closed, externalIdsDropped: result.externalIdsDropped });
    },
    async purge(id) {
      return backend.trash.purge(t, s.id(id, 'conversation'), s.clock());
    },
  };
}

/** Erases the trash whose retention ended, every tenant's (the server's background sweep); returns how many. */
export const purgeExpiredTrash = (store: Store): Promise<number> => {
  const s = scopeOfStore(store);
  return s.backend.trash.purgeExpired(s.clock());
};
