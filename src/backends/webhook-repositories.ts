import type * as E from '../domain/entities.js';

/**
 * The part of the storage contract that outgoing webhooks use (`backend.ts` composes it): endpoints, their
 * cursors and leases over the event log, and the log of delivery attempts. Times are epoch ms.
 */

/** A signing secret as stored: sealed (see `store/secret-box.ts`); `expiresAt` null for the current one. */
export interface SealedWebhookSecret {
  value: string;
  expiresAt: number | null;
}

export interface WebhookEndpointRecord {
  id: string;
  url: string;
  /** Subscribed event types: exact types, `prefix.*`, or `*`. */
  events: string[];
  description: string | null;
  enabled: boolean;
  /** Newest first. */
  secrets: SealedWebhookSecret[];
  /** Changes with every setting, secret or rewind. */
  version: number;
  /** Changes only when a caller moves the cursor (a rewind, enabling again): progress of an older generation is refused. */
  generation: number;
  /** The event position (the backend's form) delivered up to; null: the log's start. */
  deliveredTo: string | null;
  owner: string | null;
  leaseUntil: number | null;
  /** Failed attempts of the event at the head of the endpoint's queue (0: not failing). */
  attempts: number;
  failingSince: number | null;
  nextAttemptAt: number;
  lastError: E.JsonObject | null;
  lastSuccessAt: number | null;
  /** Why the endpoint was disabled by the deliverer (null: it was not, or it was enabled again since). */
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Where the deliverer is, written with the attempts that got it there. */
export interface WebhookProgress {
  deliveredTo: string | null;
  attempts: number;
  failingSince: number | null;
  nextAttemptAt: number;
  lastError: E.JsonObject | null;
  lastSuccessAt: number | null;
  /** Disables the endpoint, saying why (its retries ran out). */
  disable?: string | undefined;
}

export interface NewWebhookAttempt {
  /** The event id as receivers see it (`webhook-id`). */
  eventId: string;
  eventType: string;
  attempt: number;
  ok: boolean;
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  at: number;
}

export interface WebhookAttemptRecord extends Omit<NewWebhookAttempt, 'at'> {
  /** Increasing: the newest attempt has the highest. */
  id: number;
  createdAt: number;
}

export interface WebhookRepository {
  /** Creates an endpoint that delivers the events after `deliveredTo`. */
  create(tenant: string, endpoint: { id: string; url: string; events: string[]; description: string | null; enabled: boolean; secrets: SealedWebhookSecret[]; deliveredTo: string | null; now: number }): Promise<WebhookEndpointRecord>;
  get(tenant: string, id: string): Promise<WebhookEndpointRecord | undefined>;
  /** Oldest first. */
  list(tenant: string): Promise<WebhookEndpointRecord[]>;
  /**
   * Changes settings (the fields given); undefined when there is no such endpoint. Enabling an endpoint clears its
   * failing run and the reason it was disabled: it is tried again at once, from where it stopped.
   */
  update(tenant: string, id: string, patch: { url?: string | undefined; events?: string[] | undefined; description?: string | null | undefined; enabled?: boolean | undefined }, now: number): Promise<WebhookEndpointRecord | undefined>;
  /** Replaces the secrets if the endpoint is still at `version` (a rotation read them there); undefined otherwise. */
  setSecrets(tenant: string, id: string, secrets: SealedWebhookSecret[], version: number, now: number): Promise<WebhookEndpointRecord | undefined>;
  /** Moves the cursor to `deliveredTo` (a new generation) and clears the failing run; undefined when there is no such endpoint. */
  rewind(tenant: string, id: string, deliveredTo: string | null, now: number): Promise<WebhookEndpointRecord | undefined>;
  /** Points an endpoint an import restored (disabled, without a cursor) at `deliveredTo` and sets `enabled`, nothing else. */
  startAt(tenant: string, id: string, deliveredTo: string | null, enabled: boolean): Promise<void>;
  /** Deletes the endpoint and its attempts; false when there was none. */
  delete(tenant: string, id: string): Promise<boolean>;
  /** The enabled endpoints of every tenant: what deliverers work on. */
  enabled(): Promise<Array<{ tenant: string; id: string }>>;
  /**
   * Takes or renews the lease of an enabled endpoint for `owner` until `until`: the endpoint when `owner` holds it,
   * undefined when another owner's lease is live, or the endpoint is disabled or gone.
   */
  claim(tenant: string, id: string, owner: string, until: number, now: number): Promise<WebhookEndpointRecord | undefined>;
  /** Gives the lease up (a stopping instance), if `owner` holds it. */
  release(tenant: string, id: string, owner: string): Promise<void>;
  /**
   * Writes the deliverer's progress, if `owner` holds the lease and the cursor is still of `generation` (false
   * otherwise), and, in the same transaction, the attempts behind it whatever the answer: they were made.
   */
  progress(tenant: string, id: string, owner: string, generation: number, state: WebhookProgress, attempts: NewWebhookAttempt[], now: number): Promise<boolean>;
  /** Records attempts made beside the cursor (a test event). */
  record(tenant: string, id: string, attempts: NewWebhookAttempt[]): Promise<void>;
  /** Newest first, before the attempt id `before`. */
  attempts(tenant: string, id: string, page: { before?: number | undefined; limit: number }): Promise<WebhookAttemptRecord[]>;
  /** Deletes attempts made before `before`, and all but the newest `keep` of each endpoint; returns how many. */
  prune(before: number, keep: number): Promise<number>;
}
