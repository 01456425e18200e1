import type * as E from '../domain/entities.js';
import type { EventBus } from '../events/bus.js';
import type { PortableRecord } from './sql/portable.js';
import type { ChannelTrafficRepository, MessageError, OutboxRepository } from './channel-repositories.js';
import type { ImportReport } from './sql/portable-import.js';
import type { BudgetRepository, SummaryRepository, TurnRepository, UsageRepository } from './agent-repositories.js';
import type { WebhookRepository } from './webhook-repositories.js';
import type { AlertRepository } from './alert-repositories.js';
import type { TrashRepository } from './trash-repository.js';
import type { ReportRepository } from './report-repositories.js';
import type {
  AgentPatch,
  ChannelPatch,
  ConversationFilter,
  ConversationPatch,
  MessageRange,
  NewAgent,
  NewChannel,
  NewContact,
  NewConversation,
  NewAudit,
  NewInbound,
  NewMessage,
  PageRequest,
  StateWrite,
} from './backend-inputs.js';

export type { BudgetRecord, BudgetRepository, SummaryRecord, SummaryRepository, TurnOutcome, TurnRecord, TurnRepository, TurnStart, TurnState, UsageRepository, UsageTotals } from './agent-repositories.js';
export type { ConversationTimeline, ReportRepository } from './report-repositories.js';
export type { RestoreResult, TrashRecord, TrashRepository } from './trash-repository.js';
export type { AlertRecord, AlertRepository, AlertSettingsRecord, NewAlert } from './alert-repositories.js';
export type { NewWebhookAttempt, SealedWebhookSecret, WebhookAttemptRecord, WebhookEndpointRecord, WebhookProgress, WebhookRepository } from './webhook-repositories.js';
export type { ChannelTrafficRepository, ClaimedEntry, MessageError, OutboxEntry, OutboxRepository, TrafficDelta, TrafficError, TrafficRecord } from './channel-repositories.js';

/**
 * The storage contract, as one repository per entity plus an admin part. A backend knows SQL, not HTTP. It owns
 * its connections and transactions (none leak through this contract), enforces every contract of DESIGN.md with
 * the database's own constraints, and writes the event row of each change in the change's own transaction.
 *
 * Conventions for every member:
 * - `tenant` scopes every read and write; a record of another tenant is treated as missing.
 * - Inputs are already validated by the store; ids and timestamps (epoch ms) are chosen by the store.
 * - A missing record yields `undefined` (reads, updates) or `false` (deletes); never an exception, never an
 *   empty stand-in. Lists return `limit` rows at most, in the order stated, after the row `after`.
 * - Driver errors leave as `ColloquyError` (`conflict`, `unavailable`, …), translated at this boundary.
 */
export interface Backend {
  readonly dialect: 'sqlite' | 'postgres';
  readonly capabilities: BackendCapabilities;
  readonly contacts: ContactRepository;
  readonly channels: ChannelRepository;
  readonly conversations: ConversationRepository;
  readonly messages: MessageRepository;
  readonly inbound: InboundRepository;
  readonly states: StateRepository;
  readonly agents: AgentRepository;
  readonly keys: KeyRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
  readonly traffic: ChannelTrafficRepository;
  readonly turns: TurnRepository;
  readonly usage: UsageRepository;
  readonly budgets: BudgetRepository;
  readonly summaries: SummaryRepository;
  readonly webhooks: WebhookRepository;
  readonly alerts: AlertRepository;
  readonly trash: TrashRepository;
  readonly reports: ReportRepository;
  readonly events: EventRepository;
  readonly admin: AdminRepository;
}

/** What truly differs between engines, read by the code that depends on it. */
export interface BackendCapabilities {
  /** Several processes may write the database at once (PostgreSQL), so an in-process cache can go stale. */
  readonly multiProcess: boolean;
  /** Wake-ups between processes carried by the database itself (PostgreSQL LISTEN/NOTIFY); undefined where there are none. */
  readonly eventBus: (() => EventBus) | undefined;
}

export interface ContactRepository {
  /** Creates the contact of the handle, or updates the name/metadata given on the one it has; returns it. */
  upsert(tenant: string, input: NewContact): Promise<E.Contact>;
  get(tenant: string, id: string): Promise<E.Contact | undefined>;
  /** The contacts of these ids that exist, in no given order (one read for a page of conversations). */
  many(tenant: string, ids: readonly string[]): Promise<E.Contact[]>;
  /** Oldest first (ids are time-ordered); with `q`, those whose name or a handle's address contains it (any case). */
  list(tenant: string, page: PageRequest<string>, q?: string | undefined): Promise<E.Contact[]>;
  findByHandle(tenant: string, handle: E.Handle): Promise<E.Contact | undefined>;
  /**
   * Deletes the contact, its handles, conversations, messages, states and their events, and writes one
   * `contact.erased` event; returns what it deleted and the other conversations that lost their
   * `previousConversationId` link to one of the deleted.
   */
  erase(tenant: string, id: string, now: number): Promise<{ handles: E.Handle[]; conversationIds: string[]; unlinked: string[] } | undefined>;
  /** Everything stored about the contact. */
  export(tenant: string, id: string): Promise<E.ContactExport | undefined>;
}

export interface ChannelRepository {
  create(tenant: string, input: NewChannel): Promise<E.Channel>;
  /** Creates the channel unless one with `input.idempotencyKey` exists, which it answers instead, unchanged; a race creates one. */
  createOnce(tenant: string, input: NewChannel & { idempotencyKey: string }): Promise<{ channel: E.Channel; created: boolean; requestHash: string | null }>;
  get(tenant: string, id: string): Promise<E.Channel | undefined>;
  /** The oldest channel of this kind with this name. */
  findByName(tenant: string, kind: E.ChannelKind, name: string): Promise<E.Channel | undefined>;
  /** Oldest first. */
  list(tenant: string, page: PageRequest<string>): Promise<E.Channel[]>;
  /** Merges `config`, sets or (null) removes individual sealed secrets, in one transaction. */
  update(tenant: string, id: string, patch: ChannelPatch): Promise<E.Channel | undefined>;
  /** The channel's sealed secrets as the store wrote them, for the channel's own use; never part of a read. */
  secrets(tenant: string, id: string): Promise<Record<string, string> | undefined>;
  /** Every channel of every tenant, by id, after `after` (the health monitor's round). */
  all(after: string | undefined, limit: number): Promise<Array<{ tenant: string; channel: E.Channel }>>;
  /** Which tenant a channel id belongs to, across tenants (a provider's webhook names only the channel). */
  locate(id: string): Promise<{ tenant: string; kind: E.ChannelKind } | undefined>;
}

export interface ConversationRepository {
  /**
   * Throws `not_found` for an unknown contact/channel/agent, `conflict` if the pair already has a non-closed one
   * or (`reason: 'chat_id_taken'`) the agent has a conversation with that chat id.
   */
  create(tenant: string, input: NewConversation): Promise<E.Conversation>;
  get(tenant: string, id: string): Promise<E.Conversation | undefined>;
  /** The agent's conversation with a `useChat` chat id. */
  byChatId(tenant: string, agentId: string, chatId: string): Promise<E.Conversation | undefined>;
  /** Newest activity first, filtered. */
  list(tenant: string, filter: ConversationFilter): Promise<E.Conversation[]>;
  /** Throws `version_mismatch` on a stale `expectedVersion`, `conflict` when reopening would make two open ones. */
  update(tenant: string, id: string, patch: ConversationPatch): Promise<E.Conversation | undefined>;
  /**
   * Moves the read marker forward to `seq` (clamped to lastSeq; undefined: lastSeq), never back, in one statement.
   * Not a change of the conversation: no version, updatedAt or event. Undefined when missing.
   */
  markRead(tenant: string, id: string, seq: number | undefined): Promise<E.Conversation | undefined>;
  /**
   * Deletes one conversation, or all of a contact's, with their messages, state and events; writes a
   * `conversation.deleted` event for each. Returns the ids deleted (none when nothing matched) and the ids of
   * the conversations that lost their `previousConversationId` link to one of them. With `trash`, one conversation
   * is first copied into the trash until `purgeAt`; without, it is erased, and a contact's trash with its conversations.
   */
  delete(tenant: string, which: { id: string } | { contactId: string }, now: number, trash?: { purgeAt: number }): Promise<{ deleted: string[]; unlinked: string[] }>;
}

export interface MessageRepository {
  /**
   * Appends one message: a duplicate (same idempotencyKey, then same externalId) is found first and writes
   * nothing; else seq = lastSeq + 1 in the same transaction. Throws `not_found` or `conversation_closed`.
   */
  append(tenant: string, conversationId: string, message: NewMessage): Promise<E.AppendResult>;
  /** By seq within `range`; undefined when the conversation does not exist. */
  list(tenant: string, conversationId: string, range: MessageRange): Promise<E.Message[] | undefined>;
  get(tenant: string, id: string): Promise<E.Message | undefined>;
  /** Moves the delivery status forward only; a backward move returns `changed: false` and writes nothing. */
  updateStatus(tenant: string, id: string, status: E.MessageStatus, at: number): Promise<E.StatusUpdateResult | undefined>;
  /**
   * The same by a provider's id within a channel, `failed` recording `error` on the message. A status whose message
   * is not known yet is kept (`'pending'`) and applied when a message gets that external id (`outbox.finish`).
   */
  statusByExternalId(tenant: string, channelId: string, externalId: string, status: E.MessageStatus, at: number, error: MessageError | null): Promise<E.StatusUpdateResult | 'pending'>;
  /** Replaces a message's content and parts, the earlier ones kept in `edits`, and writes `message.edited`; undefined when no message has that id. */
  edit(tenant: string, channelId: string, externalId: string, edit: { content: string; parts: E.Json[] | null; at: number }): Promise<{ message: E.Message; changed: boolean } | undefined>;
}


export interface InboundRepository {
  /**
   * Contact by handle → conversation by the continuity rule → idempotent append, as one transaction. A duplicate
   * external id is recognised before anything is written: it reopens, creates and renames nothing.
   * Throws `not_found` for an unknown channel.
   */
  ingest(tenant: string, input: NewInbound): Promise<E.IngestResult>;
}

export interface StateRepository {
  /** Version 0 and empty data when never written; undefined when the conversation does not exist. */
  get(tenant: string, conversationId: string): Promise<E.ConversationState | undefined>;
  /** Compare-and-set on `expectedVersion`; throws `version_mismatch` and writes nothing when stale. */
  set(tenant: string, conversationId: string, input: StateWrite): Promise<E.ConversationState | undefined>;
}

export interface AgentRepository {
  /** Throws `conflict` when the tenant already has an agent of that name. */
  create(tenant: string, input: NewAgent): Promise<E.Agent>;
  get(tenant: string, id: string): Promise<E.Agent | undefined>;
  /** By name. */
  list(tenant: string, page: PageRequest<{ name: string; id: string }>): Promise<E.Agent[]>;
  update(tenant: string, id: string, patch: AgentPatch): Promise<E.Agent | undefined>;
  /** Undefined if missing; else the ids of the conversations whose `agentId` it cleared. */
  delete(tenant: string, id: string): Promise<{ unlinked: string[] } | undefined>;
}

/** API keys are not tenant-scoped: they are what assigns a caller its tenant. */
export interface KeyRepository {
  /** Creates the key and writes `audit` in the same transaction. */
  create(input: { id: string; tenant: string; name: string; prefix: string; hash: string; expiresAt: number | null; now: number }, audit: NewAudit): Promise<E.ApiKey>;
  /** Oldest first. */
  list(page: PageRequest<string>): Promise<E.ApiKey[]>;
  get(id: string): Promise<E.ApiKey | undefined>;
  /** False if the key does not exist or was already revoked; writes `audit` in the same transaction when it revokes. */
  revoke(id: string, now: number, audit: NewAudit): Promise<boolean>;
  /** The key with this hash, revoked or expired ones included (the caller says why it refuses them). */
  find(hash: string): Promise<{ id: string; tenantId: string; revokedAt: number | null; expiresAt: number | null } | undefined>;
  /** How many keys exist, and how many of them are neither revoked nor expired at `now`. */
  count(now: number): Promise<{ total: number; active: number }>;
}

/** Across tenants, like keys. */
export interface AuditRepository {
  /** Oldest first; only `tenant`'s entries when given. */
  list(page: PageRequest<string>, tenant: string | undefined): Promise<E.AuditEntry[]>;
}

export interface EventRepository {
  /** Events in delivery order after the cursor `after` (exclusive); `invalid_argument` for a malformed cursor. */
  list(tenant: string, options: { after?: string | undefined; limit: number; conversationId?: string | undefined }): Promise<E.StoreEvent[]>;
  /** A position every event of the tenant not yet delivered comes after (null: the log's start): where a live tail begins. */
  head(tenant: string): Promise<string | null>;
  /** Two event ids (of `list`, or `head`) in delivery order: negative, 0 or positive. Synchronous; throws `invalid_argument` for a malformed one. */
  compare(a: string | null, b: string | null): number;
}

export interface AdminRepository {
  /** Applies pending migrations; throws `schema_too_new` if the database has migrations this code cannot run on. */
  migrate(): Promise<MigrationReport>;
  /**
   * Throws `schema_outdated` when the database lacks this code's migrations, `schema_too_new` when it has more,
   * unless the one more was marked as one the previous version can run on (rolling upgrades).
   */
  checkSchema(): Promise<void>;
  /** Cheap round trip; throws `unavailable` when the database does not answer. */
  ping(): Promise<void>;
  /** Integrity checks and counts across all tenants, for `colloquy doctor`. Reads only; may scan. */
  diagnose(): Promise<Diagnosis>;
  /**
   * Every record of every tenant from one consistent snapshot, parents before children (`colloquy export`); with
   * `backup`, also what a complete restore needs (`BackupRecord`: the sealing setup, API keys, webhook endpoints,
   * budgets, alert settings).
   */
  exportRecords(options?: { backup?: boolean }): AsyncGenerator<PortableRecord>;
  /**
   * Inserts the records that are absent, merges contacts that share a handle, and reports every record
   * (`colloquy import`; `backends/sql/portable-import.ts`). Writes events only for what it changed of the
   * records already there. A dry run changes nothing; `committed` hears the report after each committed batch.
   */
  importRecords(records: AsyncIterable<PortableRecord>, options: { dryRun: boolean; now: number; committed?: ((report: ImportReport) => void) | undefined; actor?: string | undefined }): Promise<ImportReport>;
  /** Every tenant that has anything (a key, a channel, an agent, a contact or a conversation), by name. */
  tenants(): Promise<string[]>;
  /** Reads a setting of the database itself (e.g. the secret key's check value); undefined when unset. */
  setting(name: string): Promise<string | undefined>;
  /** Writes a setting unless one of that name exists; returns the value stored. */
  initSetting(name: string, value: string): Promise<string>;
  /**
   * Rewrites channels' sealed secrets that still hold a value in the clear (set before a secret key was),
   * across tenants, in one transaction; `reseal` answers the new map. Webhook endpoints' signing secrets too, each
   * as the one secret `signing` of the owner `webhook:<endpoint id>`. Returns how many channels and endpoints changed.
   */
  resealSecrets(reseal: (tenant: string, channelId: string, sealed: Record<string, string>) => Record<string, string>): Promise<number>;
  /** Connection pool figures, or null for a single connection (SQLite). */
  poolStats(): PoolStats | null;
  /** Closes connections; pending calls finish first. */
  close(): Promise<void>;
}

export interface Diagnosis {
  conversationsByStatus: Record<E.ConversationStatus, number>;
  messages: number;
  /** Should be empty: the unique index forbids them. */
  duplicateExternalIds: Array<{ channelId: string; externalId: string; count: number }>;
  /** Conversations whose messages are not exactly seq 1..lastSeq (at most 100). */
  seqMismatches: Array<{ conversationId: string; lastSeq: number; messages: number; maxSeq: number }>;
  /** (contact, channel) pairs with more than one non-closed conversation. */
  doubleOpen: number;
  /** Contacts merged into another (by `colloquy import` or handle normalisation), and when last. */
  merges: { count: number; lastAt: string | null };
  /** Problems of the engine itself (PostgreSQL: transactions that hold back event delivery). */
  warnings: string[];
}

export interface MigrationReport {
  applied: string[];
  current: string | null;
  /** Stored handles respelled to the normalised form (once per database), and contacts merged because of it. */
  handles?: { changed: number; merged: number };
}

/** A connection pool's figures; `queries` counts every statement sent since the pool opened (round trips). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  queries: number;
}
