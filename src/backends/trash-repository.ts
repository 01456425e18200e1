import type * as E from '../domain/entities.js';

/**
 * The trash (`backend.ts` composes it): conversations deleted through the API, kept with their messages and state
 * until `purgeAt`. `conversations.delete` with `trash` moves one in; a contact's erasure removes its trash. Times
 * are epoch ms.
 */

export interface TrashRecord {
  /** As it was when it was deleted (its contact followed a merge since, if any). */
  conversation: E.Conversation;
  messages: number;
  deletedAt: number;
  purgeAt: number;
}

export interface RestoreResult {
  /** As restored: its ids and seqs unchanged, one version further. */
  conversation: E.Conversation;
  /** It was open or waiting, and came back closed: its contact has a newer non-closed conversation on the channel. */
  closed: boolean;
  /** Conversations linked to it again as their previous conversation. */
  relinked: string[];
  /** Messages that came back without their external id: a provider's retry stored it again meanwhile. */
  externalIdsDropped: number;
}

export interface TrashRepository {
  /** Newest deletion first, after `before`. */
  list(tenant: string, page: { before?: { deletedAt: number; id: string } | undefined; limit: number }): Promise<TrashRecord[]>;
  get(tenant: string, id: string): Promise<TrashRecord | undefined>;
  /** Writes it back (with a `conversation.restored` event) and takes it out of the trash; undefined when it is not there. */
  restore(tenant: string, id: string, now: number): Promise<RestoreResult | undefined>;
  /** Erases one now, with a `conversation.deleted` event (`purged: true`); false when it is not there. */
  purge(tenant: string, id: string, now: number): Promise<boolean>;
  /** Erases what is due (`purgeAt` ≤ `now`), every tenant's, each with its `conversation.deleted` (`purged: true`); returns how many. */
  purgeExpired(now: number): Promise<number>;
}
