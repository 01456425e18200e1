import type * as E from '../domain/entities.js';

/**
 * The part of the storage contract that daily reports use (`backend.ts` composes it): traffic per minute, the facts
 * of a day a report reads, the reports themselves, and leases for jobs one instance of a fleet runs. Times are epoch ms.
 */

/** One conversation's messages from a moment on, enough to find its first response of a day. */
export interface ConversationTimeline {
  conversationId: string;
  channelId: string | null;
  /** Oldest first: role and time of each message from the day's start on. */
  messages: Array<{ role: string; at: number }>;
}

export interface ReportRepository {
  /** The tenant's channels' counters summed over the minutes in [from, to), by channel id. */
  traffic(tenant: string, range: { from: number; to: number }): Promise<Map<string, Record<string, number>>>;
  /** Counters per bucket of `bucketMs` (a multiple of a minute) in [from, to), of one channel or all the tenant's. */
  trafficSeries(tenant: string, range: { from: number; to: number; bucketMs: number; channelId?: string | undefined }): Promise<Array<{ bucket: number; counts: Record<string, number> }>>;
  /** Conversations active since `from`, each with its messages from `from` on (at most `limit` conversations). */
  timelines(tenant: string, from: number, limit: number): Promise<ConversationTimeline[]>;
  /** The stored report of a day (YYYY-MM-DD), if any. */
  get(tenant: string, day: string): Promise<{ report: E.JsonObject; createdAt: number } | undefined>;
  /** Stores the day's report unless one is stored, with a `report.daily` event: true for the one caller that stored it. */
  put(tenant: string, day: string, report: E.JsonObject, now: number): Promise<boolean>;
  /** Tenants a report is made for: those with channels, agents, API keys or alert settings. */
  tenants(): Promise<string[]>;
  /** Takes the named lease for `owner` until `until` when it is free (or `owner`'s): true when `owner` holds it. */
  lease(name: string, owner: string, until: number, now: number): Promise<boolean>;
  /** Deletes traffic minutes older than `before`. */
  prune(before: number): Promise<number>;
}
