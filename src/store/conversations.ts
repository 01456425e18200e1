import type { Conversation, Page } from '../domain/entities.js';
import { ColloquyError, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import {
  ConversationCreateSchema,
  ConversationListSchema,
  ConversationUpdateSchema,
  MarkReadSchema,
  type ConversationCreate,
  type ConversationListOptions,
  type ConversationUpdate,
  type MarkReadOptions,
} from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { cacheKey, erased, stampOf, touched } from './cache-keys.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import type { Scope } from './scope.js';

export interface ConversationsApi {
  /** Throws `not_found` for unknown references, `conflict` if the contact already has an open one on the channel. */
  create(input?: ConversationCreate): Promise<Conversation>;
  get(id: string): Promise<Conversation | null>;
  /** Newest activity first; `limit` 1–200, default 50. */
  list(options?: ConversationListOptions): Promise<Page<Conversation>>;
  /** Close, reopen, retitle, assign an agent. With `expectedVersion`, a stale version throws `version_mismatch`. Throws `not_found`. */
  update(id: string, patch: ConversationUpdate): Promise<Conversation>;
  /**
   * Marks the messages up to `seq` read (default: up to the newest; a seq beyond it counts as the newest): `readSeq`
   * moves forward, never back, and `unreadCount` is what came after it. The marker is the reader's, not a change of
   * the conversation: no new version (an `expectedVersion` held elsewhere stays good) and no event. Throws `not_found`.
   */
  markRead(id: string, options?: MarkReadOptions): Promise<Conversation>;
  /**
   * Moves the conversation with its messages and state to the trash (restorable for the store's `trashDays`, default 7;
   * hidden from every read meanwhile), or with `purge: true` (or `trashDays: 0`) erases it at once. False if missing.
   */
  delete(id: string, options?: { purge?: boolean }): Promise<boolean>;
  /** Erases all of a contact's conversations (the contact stays); returns their ids. Throws `not_found` for an unknown contact. */
  deleteByContact(contactId: string): Promise<string[]>;
}

const lower = (value: string | undefined): string | undefined => value?.toLowerCase();

const activityKey = (parts: unknown[]) => {
  const [activityAt, id] = parts;
  return typeof activityAt === 'number' && Number.isSafeInteger(activityAt) && typeof id === 'string' && id.length <= 64 ? { activityAt, id } : undefined;
};

export function conversationsOf(s: Scope): ConversationsApi {
  const { backend, tenant: t, hot } = s;
  const write = (c: Conversation) => ({ op: 'write', key: cacheKey.conversation(t, c.id), version: stampOf(c), value: c }) as const;
  return {
    async create(input = {}) {
      const v = validate(ConversationCreateSchema, input, 'conversation');
      if (v.chatId !== undefined && v.agentId === undefined) {
        throw new ColloquyError('invalid_argument', 'A chat id is unique per agent: give "agentId" with "chatId".', { errors: [{ path: '/chatId', message: 'needs agentId' }] });
      }
      const conversation = await backend.conversations.create(t, {
        id: newId(), contactId: lower(v.contactId) ?? null, channelId: lower(v.channelId) ?? null, agentId: lower(v.agentId) ?? null,
        title: v.title ?? null, metadata: v.metadata ?? {}, status: v.status ?? 'open', chatId: v.chatId ?? null, now: s.clock(),
      });
      await s.settle(() => [write(conversation)]);
      return s.changed(conversation);
    },
    async get(id) {
      const key = s.id(id, 'conversation');
      if (!hot) return (await backend.conversations.get(t, key)) ?? null;
      const cached = await hot.read(cacheKey.conversation(t, key), async () => {
        const conversation = await backend.conversations.get(t, key);
        return conversation && { version: stampOf(conversation), value: conversation };
      });
      // Cached by an earlier version (a fleet mid-upgrade shares one Redis): the fields added since, as a row without them reads.
      if (cached && cached.agentPaused === undefined) Object.assign(cached, { agentPaused: false, chatId: null });
      if (cached && cached.readSeq === undefined) Object.assign(cached, { readSeq: 0, unreadCount: cached.lastSeq });
      return cached ?? null;
    },
    async list(options = {}) {
      const v = validate(ConversationListSchema, options, 'conversation list options');
      const limit = v.limit ?? 50;
      const rows = await backend.conversations.list(t, {
        status: v.status, contactId: lower(v.contactId), channelId: lower(v.channelId), agentId: lower(v.agentId),
        after: v.cursor === undefined ? undefined : decodeCursor('conversations', v.cursor, activityKey), limit: limit + 1,
      });
      return pageOf(rows, limit, (last) => encodeCursor('conversations', [Date.parse(last.lastActivityAt), last.id]));
    },
    async update(id, patch) {
      const key = s.id(id, 'conversation');
      const v = validate(ConversationUpdateSchema, patch, 'conversation update');
      const result = s.found(await backend.conversations.update(t, key, {
        ...v, agentId: v.agentId === null ? null : lower(v.agentId), now: s.clock(),
      }), 'conversation', key);
      await s.settle(() => [write(result)]);
      return s.changed(result);
    },
    async markRead(id, options = {}) {
      const key = s.id(id, 'conversation');
      const v = validate(MarkReadSchema, options, 'read marker');
      const result = s.found(await backend.conversations.markRead(t, key, v.seq), 'conversation', key);
      // Invalidated, not written: the stamp (version + lastSeq) stays as instances of an earlier release compute it,
      // and a refill that began before this is refused by its lease. No event: no live reader to wake.
      await s.settle(() => [touched(t, [result.id])]);
      return result;
    },
    async delete(id, options = {}) {
      const now = s.clock();
      const trash = options.purge === true || s.trashDays === 0 ? undefined : { purgeAt: now + s.trashDays * 86_400_000 };
      const { deleted, unlinked } = await backend.conversations.delete(t, { id: s.id(id, 'conversation') }, now, trash);
      await s.settle(() => [erased(t, deleted), touched(t, unlinked)]);
      return s.changed(deleted).length > 0;
    },
    async deleteByContact(contactId) {
      const key = s.id(contactId, 'contact');
      if (!(await backend.contacts.get(t, key))) throw notFound('contact', key);
      const { deleted, unlinked } = await backend.conversations.delete(t, { contactId: key }, s.clock());
      await s.settle(() => [erased(t, deleted), touched(t, unlinked)]);
      return s.changed(deleted);
    },
  };
}
