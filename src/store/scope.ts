import type { Backend } from '../backends/backend.js';
import type { CacheChange, HotTier } from '../cache/hot-tier.js';
import type { ChannelKind, IngestResult } from '../domain/entities.js';
import { ColloquyError, notFound } from '../domain/errors.js';
import { isId } from '../domain/ids.js';
import { IdSchema } from '../domain/entities.js';
import { validate } from '../domain/validate.js';
import type { ChangeSignal } from '../events/change-signal.js';
import type { SecretBox } from './secret-box.js';
import type { PriceTable } from '../domain/usage.js';
import type { EventIdCodec } from './event-ids.js';
import type { EventTails } from './event-tail.js';

/** What every tenant view of one store shares. */
export interface StoreContext {
  readonly backend: Backend;
  readonly clock: () => number;
  readonly signal: ChangeSignal;
  /** The hot tier, if any: reads go through it, and every commit updates or invalidates it before it is acknowledged. */
  readonly hot: HotTier | undefined;
  readonly box: SecretBox;
  /** Event ids as clients see them (opaque, per tenant). */
  readonly eventIds: EventIdCodec;
  /** The live tails of the event log that `events.follow` shares. */
  readonly tails: EventTails;
  /** Channel kinds by tenant and id: a channel's kind never changes and channels are never deleted. */
  readonly channelKinds: Map<string, ChannelKind>;
  /** The channel kind of conversations by tenant and id (null: no channel): a conversation's channel never changes. */
  readonly conversationKinds: Map<string, ChannelKind | null>;
  /** Told when this process queued an outbound message (the sender wakes at once rather than at its next poll). */
  readonly outboxListeners: Set<() => void>;
  /** Told of every inbound message stored (not a duplicate), after commit, before the ingest returns (agents answering channels). */
  readonly inboundListeners: Set<(tenant: string, result: IngestResult) => Promise<void>>;
  /** Days a deleted conversation stays in the trash (0: deleting erases). */
  readonly trashDays: number;
  /** Webhook URLs may name loopback and private addresses (COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1). */
  readonly allowPrivateWebhooks: boolean;
  /** Model prices, for the cost of a usage given without one. */
  readonly prices: PriceTable | undefined;
  /** Closed with the store, after the backend. */
  readonly onClose: () => Promise<void>;
}

/** One tenant's view: what each entity module of the store works with. */
export interface Scope extends StoreContext {
  readonly tenant: string;
  /** Who the audit log names for changes made through this view (`store.as(actor)`). Default `library`. */
  readonly actor: string;
  /** Applies a commit's cache changes before the caller hears of the commit (read-your-writes across instances). */
  settle(changes: () => CacheChange[]): Promise<void>;
  /** Passes a write's result through after waking this tenant's live readers. */
  changed<T>(result: T): T;
  /** A valid id, normalised: ids are case-insensitive (as PostgreSQL's uuid), so SQLite's text comparison agrees. */
  id(value: unknown, what: string): string;
  /** The record, or `not_found`. */
  found<T>(value: T | undefined, what: string, key: string): T;
  /** The kind of one of the tenant's channels, remembered. */
  kindOf(channelId: string): Promise<ChannelKind | undefined>;
  /** The kind of a conversation's channel (null: none, undefined: no such conversation), remembered. */
  channelKindOfConversation(conversationId: string): Promise<ChannelKind | null | undefined>;
  /** Wakes this process's outbox sender. */
  outboxQueued(): void;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertTenant(tenantId: string): void {
  if (!TENANT.test(tenantId)) {
    throw new ColloquyError('invalid_argument', `Invalid tenant id "${tenantId}": use 1–64 letters, digits, '.', '_' or '-'.`, { tenant: tenantId });
  }
}

export function scopeOf(context: StoreContext, tenant: string, actor = 'library'): Scope {
  assertTenant(tenant);
  const { hot, signal, channelKinds, conversationKinds, backend } = context;
  return {
    ...context,
    tenant,
    actor,
    async settle(changes) {
      if (hot) await hot.apply(changes());
    },
    changed(result) {
      signal.emit(tenant);
      return result;
    },
    id: (value, what) => (isId(value) ? value : validate(IdSchema, value, `${what} id`)).toLowerCase(),
    found(value, what, key) {
      if (value === undefined) throw notFound(what, key);
      return value;
    },
    async kindOf(channelId) {
      const known = channelKinds.get(`${tenant}/${channelId}`);
      if (known) return known;
      const channel = await backend.channels.get(tenant, channelId);
      if (channel) channelKinds.set(`${tenant}/${channelId}`, channel.kind);
      return channel?.kind;
    },
    async channelKindOfConversation(conversationId) {
      const cacheKey = `${tenant}/${conversationId}`;
      const known = conversationKinds.get(cacheKey);
      if (known !== undefined) return known;
      const conversation = await backend.conversations.get(tenant, conversationId);
      if (!conversation) return undefined;
      const kind = conversation.channelId === null ? null : (await this.kindOf(conversation.channelId)) ?? null;
      // Bounded: a long-running server sees many conversations; forgetting them costs one read each.
      if (conversationKinds.size >= 100_000) conversationKinds.clear();
      conversationKinds.set(cacheKey, kind);
      return kind;
    },
    outboxQueued() {
      for (const listener of context.outboxListeners) listener();
    },
  };
}
