import type * as E from '../domain/entities.js';
import type { NewMessage } from './backend-inputs.js';

/**
 * The part of the storage contract that channels use (`backend.ts` composes it): the durable outbox, and each
 * channel's traffic counters, health and poll lease. The conventions of `backend.ts` hold here too.
 */

/** Why a message failed, as kept on it (`at` in epoch ms here, ISO on the message). */
export interface MessageError {
  code: string;
  title: string;
  reason?: string;
  at: number;
}

/** One outbound message waiting for its provider or being sent. */
export interface OutboxEntry {
  messageId: string;
  tenant: string;
  channelId: string;
  conversationId: string;
  seq: number;
  recipient: string;
  /** Attempts so far, this one included. */
  attempts: number;
  createdAt: number;
}

/** An entry as claimed: what to send. */
export interface ClaimedEntry extends OutboxEntry {
  interrupted: boolean;
  content: string;
  parts: E.Json[] | null;
}

/**
 * The durable outbox (DESIGN.md: outbound at most once). An entry is queued → sending (claimed under a lease; from
 * then on the provider may have it) → done. An entry whose lease ran out is handed to the next claimer as
 * `interrupted`: it must not be sent blindly again.
 */
export interface OutboxRepository {
  /**
   * Appends an outbound assistant message (status pending, no external id) and queues it, in one transaction:
   * a repeat of its idempotency key answers the first. Throws `not_found`, `conversation_closed`, `conflict`
   * (`no_recipient`: no contact handle of the channel's kind) or `window_closed` (no inbound message within
   * `windowMs` of `now`; null: no window).
   */
  append(tenant: string, conversationId: string, message: NewMessage, rules: { kind: E.ChannelKind; windowMs: number | null; now: number }): Promise<E.AppendResult>;
  /**
   * Takes up to `limit` entries whose turn it is (the oldest unfinished of each conversation, due), with `takeOver`
   * also entries whose lease ran out (as `interrupted`), each with its message's content and parts. Across tenants.
   */
  claim(options: { owner: string; now: number; leaseMs: number; limit: number; takeOver: boolean }): Promise<ClaimedEntry[]>;
  /** Extends this owner's lease to `until` right before its request leaves; false when the lease is no longer its own (send nothing then). */
  renew(messageId: string, owner: string, until: number): Promise<boolean>;
  /** Back to the queue, nothing sent (pacing); the attempt is not counted unless `countAttempt`. */
  release(messageId: string, owner: string, nextAt: number, countAttempt: boolean): Promise<void>;
  /** The channel's queued entries put off without a provider's error become due at `now` (its settings changed: what waited for them may go). */
  dueNow(channelId: string, now: number): Promise<void>;
  /** Back to the queue after an error that proves the provider did not take it. */
  retry(messageId: string, owner: string, nextAt: number, error: MessageError): Promise<void>;
  /**
   * Done: `sent` stores the provider's id as the message's external id and moves it to `sent` (then `applyKept`);
   * `failed` marks it failed with the error. Undefined when this owner no longer holds the lease.
   */
  finish(messageId: string, owner: string, outcome: { sent: { externalId: string } } | { failed: MessageError }, now: number, conversationId: string): Promise<E.StatusUpdateResult | undefined>;
  /**
   * After `finish` committed a sent message's provider id: applies the statuses that were kept for it, in a
   * transaction of its own (a status kept meanwhile either is seen here, or finds the id itself). Undefined when none.
   */
  applyKept(tenant: string, channelId: string, externalId: string): Promise<E.StatusUpdateResult | undefined>;
  /** Forgets entries done before `before` (their messages keep status and error) and statuses kept since before it for a message that never came. */
  prune(before: number): Promise<{ entries: number; statuses: number }>;
  /** Unfinished entries and the oldest one's creation; outcomes finished within `windowMs`. */
  stats(tenant: string, channelId: string, now: number, windowMs: number): Promise<{ depth: number; oldestAt: number | null; recentSent: number; recentFailed: number }>;
}

/** A provider error as kept in a channel's traffic. */
export interface TrafficError {
  code: string;
  title: string;
  source: 'inbound' | 'send';
  at: number;
}

/** What an instance adds to a channel's traffic since its last flush. */
export interface TrafficDelta {
  counts: Record<string, number>;
  sendErrors: Record<string, number>;
  recentErrors: TrafficError[];
  lastInboundAt: number | null;
  lastOutboundAt: number | null;
  /** `set`: the provider refused the channel's token; `clear`: a send succeeded since. */
  tokenError?: 'set' | 'clear' | undefined;
}

export interface TrafficRecord {
  counts: Record<string, number>;
  sendErrors: Record<string, number>;
  recentErrors: TrafficError[];
  lastInboundAt: number | null;
  lastOutboundAt: number | null;
  tokenErrorAt: number | null;
  health: string | null;
  healthReason: string | null;
  healthAt: number | null;
  pollOffset: number | null;
}

export interface ChannelTrafficRepository {
  /** Adds counters and errors to the channel's totals (a missing channel: nothing). */
  add(tenant: string, channelId: string, delta: TrafficDelta, now: number): Promise<void>;
  /** Undefined until the channel had traffic. */
  get(tenant: string, channelId: string): Promise<TrafficRecord | undefined>;
  /** Records the health decided now; true (and a `channel.health` event, once across a fleet) when its status changed. */
  setHealth(tenant: string, channelId: string, health: { status: string; reason: string | null }, now: number): Promise<boolean>;
  /**
   * Takes or renews the lease on polling this channel's provider until `until`: true when `owner` holds it now
   * (it was free, expired, or already `owner`'s). One poller per channel across a fleet.
   */
  claimPoll(tenant: string, channelId: string, owner: string, until: number, now: number): Promise<boolean>;
  /** Gives the lease up, if `owner` holds it. */
  releasePoll(tenant: string, channelId: string, owner: string): Promise<void>;
  /** Raises the stored poll offset (Telegram getUpdates) to `offset`; never lowers it. */
  setPollOffset(tenant: string, channelId: string, offset: number, now: number): Promise<void>;
}
