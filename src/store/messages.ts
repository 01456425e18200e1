import { isDeepStrictEqual } from 'node:util';
import { PAGE_MAX } from '../cache/hot-tier.js';
import { MessageStatusSchema, type AppendResult, type Message, type MessageStatus, type Page, type StatusUpdateResult } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { MessageAppendSchema, MessageListSchema, TimestampSchema, type MessageAppend, type MessageListOptions } from '../domain/inputs.js';
import { toEpochMs, validate } from '../domain/validate.js';
import { cacheKey } from './cache-keys.js';
import { outboundKind, outboundWindowMs } from '../domain/outbound.js';
import { decodeCursor, encodeCursor, pageOf } from './cursor.js';
import type { Scope } from './scope.js';
import { lazyTokens } from '../context/tokens.js';
import { usageOf } from '../domain/usage.js';

export interface MessagesApi {
  /**
   * Appends with seq = previous + 1. A repeat of the same `externalId` or `idempotencyKey` returns the stored
   * original with `duplicate: true` and writes nothing. Throws `not_found`, or `conversation_closed`.
   * `status` defaults to `delivered` for role `user` and `pending` otherwise.
   */
  append(conversationId: string, input: MessageAppend): Promise<AppendResult>;
  /**
   * A page by seq: `after`/`before` exclusive, `limit` 1–1000 (default 50), `order` asc (default) or desc;
   * `cursor` continues from the previous page's `nextCursor`. Throws `not_found`.
   */
  list(conversationId: string, options?: MessageListOptions): Promise<Page<Message>>;
  get(id: string): Promise<Message | null>;
  /** Moves the delivery status forward only; otherwise returns `changed: false`. Throws `not_found`. */
  updateStatus(id: string, status: MessageStatus, at?: string | number): Promise<StatusUpdateResult>;
}

/** A message cursor: the order, the seq to go on from, and the far bound of the pages (`before` ascending, `after` descending; 0 for none). */
/**
 * The newest `limit` messages (at most PAGE_MAX) through the hot tier: on a hit, their JSON as cached with the newest
 * seq and the count; else the messages, read from the database (and the cache filled). Undefined: no conversation.
 */
export function newestCached(s: Scope, key: string, limit: number) {
  return s.hot!.readListJoined(cacheKey.page(s.tenant, key), limit, async () => {
    const newest = await s.backend.messages.list(s.tenant, key, { limit: PAGE_MAX, order: 'desc' });
    return newest && { version: newest[0]?.seq ?? 0, items: newest };
  });
}

/** The cursor of a page in descending order that ends at `seq`, when there is more below it; null at seq 1. */
export const descendingCursor = (seq: number, after = 0): string | null => (seq > after + 1 ? encodeCursor('messages', ['desc', seq, after]) : null);

const seqKey = (parts: unknown[]) => {
  const [order, seq, bound] = parts;
  const count = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
  return parts.length === 3 && (order === 'asc' || order === 'desc') && count(seq) && count(bound) ? { order, seq, bound } : undefined;
};

/** Whether a stored message is what this append asked for: a retry, not another message under a reused key. */
function sameRequest(stored: Message, v: MessageAppend): boolean {
  const asked = {
    role: v.role, content: v.content, parts: v.parts ?? null, intent: v.intent ?? null, confidence: v.confidence ?? null,
    entities: v.entities ?? null, metadata: v.metadata ?? null,
  };
  const kept = {
    role: stored.role, content: stored.content, parts: stored.parts, intent: stored.intent, confidence: stored.confidence,
    entities: stored.entities ?? null, metadata: stored.metadata,
  };
  // As JSON, as it was stored (-0 is 0, key order does not count).
  const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
  return isDeepStrictEqual(json(asked), json(kept)) && (v.externalId ?? null) === stored.externalId
    && (v.createdAt === undefined || Date.parse(stored.createdAt) === toEpochMs(v.createdAt, 'createdAt', Date.parse(stored.createdAt)));
}

/**
 * Messages cached by an earlier version (a fleet mid-upgrade shares one Redis) lack the fields added since
 * (`sender`, `error`, `edits`, 0.1 → channels; `tokens`, `usage`, → agents): null, as a row without them reads.
 */
function withCurrentFields(messages: Message[]): Message[] {
  for (const m of messages) {
    if (m.sender === undefined) m.sender = null;
    if (m.error === undefined) m.error = null;
    if (m.edits === undefined) m.edits = null;
    if (m.tokens === undefined) m.tokens = null;
    if (m.usage === undefined) m.usage = null;
  }
  return messages;
}

export const reused = (key: string, id: string) => new ColloquyError('idempotency_key_reused',
  `The idempotency key "${key}" was first used for another request (message ${id}); a retry must repeat the request exactly, and a new request needs a new key.`,
  { idempotencyKey: key, messageId: id });

export function messagesOf(s: Scope): MessagesApi {
  const { backend, tenant: t, hot } = s;
  return {
    async append(conversationId, input) {
      const key = s.id(conversationId, 'conversation');
      const v = validate(MessageAppendSchema, input, 'message');
      if (v.usage !== undefined && v.role !== 'assistant') {
        throw new ColloquyError('invalid_argument', `Only an assistant message has a model's usage; leave "usage" out of a ${v.role} message.`, { errors: [{ path: '/usage', message: 'is only for role assistant' }] });
      }
      if (v.sender !== undefined && v.role !== 'assistant') {
        throw new ColloquyError('invalid_argument', `Only an assistant message has a sender; leave "sender" out of a ${v.role} message.`, { errors: [{ path: '/sender', message: 'is only for role assistant' }] });
      }
      const now = s.clock();
      const tokens = await lazyTokens({ role: v.role, content: v.content, parts: v.parts ?? null });
      const m = {
        id: newId(), role: v.role, content: v.content, parts: v.parts ?? null,
        externalId: v.externalId ?? null, idempotencyKey: v.idempotencyKey ?? null,
        status: v.status ?? (v.role === 'user' ? 'delivered' : 'pending'), intent: v.intent ?? null,
        confidence: v.confidence ?? null, entities: v.entities ?? null, metadata: v.metadata ?? null,
        sender: v.role === 'assistant' ? v.sender ?? 'agent' : null,
        get tokens() {
          return tokens();
        },
        usage: v.usage ? usageOf(v.usage, s.prices) : null,
        createdAt: toEpochMs(v.createdAt, 'createdAt', now),
      } as const;
      // An assistant message on a WhatsApp or Telegram conversation goes out: queued in the outbox, in the same transaction.
      const outbound = v.role === 'assistant' ? outboundKind(await s.channelKindOfConversation(key)) : undefined;
      if (outbound) {
        if (v.externalId !== undefined) {
          throw new ColloquyError('invalid_argument', `An assistant message on a ${outbound} conversation is sent by Colloquy, which stores the provider's id as its externalId: leave "externalId" out (use an Idempotency-Key for retries).`, { errors: [{ path: '/externalId', message: 'is set by the provider' }] });
        }
        if (v.status !== undefined && v.status !== 'pending') {
          throw new ColloquyError('invalid_argument', `An outbound message starts "pending" and its provider moves it on: leave "status" out.`, { errors: [{ path: '/status', message: 'is set by the provider' }] });
        }
      }
      const result = outbound
        ? await backend.outbox.append(t, key, m, { kind: outbound, windowMs: outboundWindowMs(outbound, m.parts), now })
        : await backend.messages.append(t, key, m);
      if (outbound && !result.duplicate) s.outboxQueued();
      if (result.duplicate) {
        if (v.idempotencyKey !== undefined && result.message.idempotencyKey === v.idempotencyKey && !sameRequest(result.message, v)) throw reused(v.idempotencyKey, result.message.id);
        return result;
      }
      await s.settle(() => [
        { op: 'push', key: cacheKey.page(t, key), version: result.message.seq, item: result.message },
        { op: 'invalidate', keys: [cacheKey.conversation(t, key)] },
      ]);
      return s.changed(result);
    },

    async list(conversationId, options = {}) {
      const key = s.id(conversationId, 'conversation');
      const v = validate(MessageListSchema, options, 'message list options');
      const limit = v.limit ?? 50;
      const order = v.order ?? 'asc';
      let { after, before } = v;
      if (v.cursor !== undefined) {
        const continued = decodeCursor('messages', v.cursor, seqKey);
        if (continued.order !== order) {
          throw new ColloquyError('invalid_argument', `This cursor continues a page in ${continued.order} order: pass order=${continued.order} with it.`, { cursor: v.cursor });
        }
        if (order === 'asc') {
          after = Math.max(after ?? 0, continued.seq);
          if (continued.bound) before = Math.min(before ?? continued.bound, continued.bound);
        } else {
          before = Math.min(before ?? Number.MAX_SAFE_INTEGER, continued.seq);
          if (continued.bound) after = Math.max(after ?? 0, continued.bound);
        }
      }
      const cursorOf = (last: Message) => encodeCursor('messages', [order, last.seq, (order === 'asc' ? before : after) ?? 0]);
      if (order === 'desc') {
        // seq is gapless from 1: a full page whose last seq is above after + 1 has more below it.
        const more = (rows: Message[]) => ({ data: rows, nextCursor: rows.length === limit ? descendingCursor(rows.at(-1)!.seq, after) : null });
        // The hot tier holds the newest page: what a chat turn and a chat screen read.
        if (hot && after === undefined && before === undefined && limit <= PAGE_MAX) {
          const page = s.found(await newestCached(s, key, limit), 'conversation', key);
          return more('joined' in page ? withCurrentFields(JSON.parse(`[${page.joined}]`) as Message[]) : page.items);
        }
        return more(s.found(await backend.messages.list(t, key, { after, before, limit, order }), 'conversation', key));
      }
      const rows = s.found(await backend.messages.list(t, key, { after, before, limit: limit + 1, order }), 'conversation', key);
      return pageOf(rows, limit, cursorOf);
    },

    async get(id) {
      return (await backend.messages.get(t, s.id(id, 'message'))) ?? null;
    },

    async updateStatus(id, status, at) {
      const key = s.id(id, 'message');
      const v = validate(MessageStatusSchema, status, 'message status');
      const when = at === undefined ? undefined : validate(TimestampSchema, at, 'status time');
      const result = s.found(await backend.messages.updateStatus(t, key, v, toEpochMs(when, 'at', s.clock())), 'message', key);
      if (!result.changed) return result;
      await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.page(t, result.message.conversationId)] }]);
      return s.changed(result);
    },
  };
}
