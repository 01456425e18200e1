import type { ClaimedEntry, MessageError, OutboxEntry, TrafficDelta, TrafficRecord } from '../backends/backend.js';
import type { Channel, ChannelKind, Json, Message, StatusUpdateResult } from '../domain/entities.js';
import { cacheKey } from './cache-keys.js';
import { secretContext } from './secret-box.js';
import { scopeOfStore, type Store } from './store.js';
import type { Scope } from './scope.js';

/**
 * What channels (`src/channels/`) need of the store beyond its public API: a channel's secrets in the clear,
 * statuses and edits by a provider's id, the outbox, and traffic counters. Internal: not exported from the package.
 * Every write goes through the backend and updates the hot tier and live readers as the public API does.
 */
export interface ChannelOps {
  /** The tenant a channel id belongs to, and its kind (a provider's webhook names only the channel). */
  locate(channelId: string): Promise<{ tenant: string; kind: ChannelKind } | undefined>;
  /** Every channel of every tenant, by id. */
  allChannels(after: string | undefined, limit: number): Promise<Array<{ tenant: string; channel: Channel }>>;
  /** The channel and its secrets in the clear. */
  open(channelId: string): Promise<{ channel: Channel; secrets: Record<string, string> } | undefined>;
  status(channelId: string, externalId: string, status: 'sent' | 'delivered' | 'read' | 'failed', at: number, error: MessageError | null): Promise<StatusUpdateResult | 'pending'>;
  edit(channelId: string, externalId: string, edit: { content: string; parts: Json[] | null; at: number }): Promise<{ message: Message; changed: boolean } | undefined>;
  traffic(channelId: string): Promise<TrafficRecord | undefined>;
  addTraffic(channelId: string, delta: TrafficDelta): Promise<void>;
  setHealth(channelId: string, health: { status: string; reason: string | null }): Promise<boolean>;
  setPollOffset(channelId: string, offset: number): Promise<void>;
  claimPoll(channelId: string, owner: string, leaseMs: number): Promise<boolean>;
  releasePoll(channelId: string, owner: string): Promise<void>;
  outboxStats(channelId: string, windowMs: number): Promise<{ depth: number; oldestAt: number | null; recentSent: number; recentFailed: number }>;
  /** Across tenants: entries whose turn it is (`backend.outbox.claim`). */
  claim(owner: string, leaseMs: number, limit: number, takeOver: boolean): Promise<ClaimedEntry[]>;
  release(entry: OutboxEntry, owner: string, nextAt: number, countAttempt: boolean): Promise<void>;
  /** Renews the lease for `leaseMs` from now; false when it is no longer `owner`'s. */
  renew(entry: OutboxEntry, owner: string, leaseMs: number): Promise<boolean>;
  /** Makes the channel's queued entries due now (its settings changed). */
  dueNow(channelId: string): Promise<void>;
  retry(entry: OutboxEntry, owner: string, nextAt: number, error: MessageError): Promise<void>;
  finish(entry: OutboxEntry, owner: string, outcome: { sent: { externalId: string } } | { failed: MessageError }): Promise<StatusUpdateResult | undefined>;
  /** After a sent `finish`: the statuses kept for its provider id, applied. */
  applyKept(entry: OutboxEntry, externalId: string): Promise<StatusUpdateResult | undefined>;
  /** Forgets outbox entries done, and statuses kept for a message that never came, more than `ageMs` ago. */
  prune(ageMs: number): Promise<{ entries: number; statuses: number }>;
  /** Called whenever this process queues an outbound message; returns a function that stops listening. */
  onQueued(listener: () => void): () => void;
  clock(): number;
}

const ops = new WeakMap<Store, ChannelOps>();

export function channelOps(store: Store): ChannelOps {
  let known = ops.get(store);
  if (!known) {
    known = channelOpsOf(scopeOfStore(store), store);
    ops.set(store, known);
  }
  return known;
}

function channelOpsOf(base: Scope, store: Store): ChannelOps {
  const { backend } = base;
  // One tenant view per tenant, made once: building a store view builds every module.
  const views = new Map<string, Scope>();
  const scope = (tenant: string) => {
    let view = views.get(tenant);
    if (!view) {
      if (views.size > 10_000) views.clear();
      views.set(tenant, (view = scopeOfStore(store.tenant(tenant))));
    }
    return view;
  };
  const tenants = new Map<string, { tenant: string; kind: ChannelKind }>();
  const locate = async (channelId: string) => {
    const id = channelId.toLowerCase();
    const cached = tenants.get(id);
    if (cached) return cached;
    // A channel's tenant and kind never change, and channels are never deleted: remembered once found.
    const found = await backend.channels.locate(id);
    if (found) tenants.set(id, found);
    return found;
  };
  const within = async (channelId: string) => {
    const found = await locate(channelId);
    if (!found) throw new Error(`channel ${channelId} vanished`);
    return { s: scope(found.tenant), tenant: found.tenant };
  };
  const refreshed = async (s: Scope, conversationId: string, result: unknown) => {
    await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.page(s.tenant, conversationId)] }]);
    s.changed(result);
  };
  return {
    locate,
    allChannels: (after, limit) => backend.channels.all(after, limit),
    async open(channelId) {
      const found = await locate(channelId);
      if (!found) return undefined;
      const [channel, sealed] = await Promise.all([backend.channels.get(found.tenant, channelId), backend.channels.secrets(found.tenant, channelId)]);
      if (!channel || !sealed) return undefined;
      const secrets = Object.fromEntries(Object.entries(sealed).map(([name, value]) => [name, base.box.open(value, secretContext(found.tenant, channel.id, name))]));
      return { channel, secrets };
    },
    async status(channelId, externalId, status, at, error) {
      const { s, tenant } = await within(channelId);
      const result = await backend.messages.statusByExternalId(tenant, channelId, externalId, status, at, error);
      if (result !== 'pending' && result.changed) await refreshed(s, result.message.conversationId, result);
      return result;
    },
    async edit(channelId, externalId, edit) {
      const { s, tenant } = await within(channelId);
      const result = await backend.messages.edit(tenant, channelId, externalId, edit);
      if (result?.changed) await refreshed(s, result.message.conversationId, result);
      return result;
    },
    async traffic(channelId) {
      const { tenant } = await within(channelId);
      return backend.traffic.get(tenant, channelId);
    },
    async addTraffic(channelId, delta) {
      const { tenant } = await within(channelId);
      await backend.traffic.add(tenant, channelId, delta, base.clock());
    },
    async setHealth(channelId, health) {
      const { s, tenant } = await within(channelId);
      const changed = await backend.traffic.setHealth(tenant, channelId, health, base.clock());
      if (changed) s.changed(changed);
      return changed;
    },
    async setPollOffset(channelId, offset) {
      const { tenant } = await within(channelId);
      await backend.traffic.setPollOffset(tenant, channelId, offset, base.clock());
    },
    async claimPoll(channelId, owner, leaseMs) {
      const { tenant } = await within(channelId);
      const now = base.clock();
      return backend.traffic.claimPoll(tenant, channelId, owner, now + leaseMs, now);
    },
    async releasePoll(channelId, owner) {
      const { tenant } = await within(channelId);
      await backend.traffic.releasePoll(tenant, channelId, owner);
    },
    async outboxStats(channelId, windowMs) {
      const { tenant } = await within(channelId);
      return backend.outbox.stats(tenant, channelId, base.clock(), windowMs);
    },
    claim: (owner, leaseMs, limit, takeOver) => backend.outbox.claim({ owner, now: base.clock(), leaseMs, limit, takeOver }),
    release: (entry, owner, nextAt, countAttempt) => backend.outbox.release(entry.messageId, owner, nextAt, countAttempt),
    dueNow: (channelId) => backend.outbox.dueNow(channelId, base.clock()),
    renew: (entry, owner, leaseMs) => backend.outbox.renew(entry.messageId, owner, base.clock() + leaseMs),
    retry: (entry, owner, nextAt, error) => backend.outbox.retry(entry.messageId, owner, nextAt, error),
    async finish(entry, owner, outcome) {
      const result = await backend.outbox.finish(entry.messageId, owner, outcome, base.clock(), entry.conversationId);
      if (result) await refreshed(scope(entry.tenant), entry.conversationId, result);
      return result;
    },
    async applyKept(entry, externalId) {
      const result = await backend.outbox.applyKept(entry.tenant, entry.channelId, externalId);
      if (result?.changed) await refreshed(scope(entry.tenant), entry.conversationId, result);
      return result;
    },
    prune: (ageMs) => backend.outbox.prune(base.clock() - ageMs),
    onQueued(listener) {
      base.outboxListeners.add(listener);
      return () => base.outboxListeners.delete(listener);
    },
    clock: () => base.clock(),
  };
}
