import type {
  Agent,
  ApiKey,
  AppendResult,
  Channel,
  ChannelKind,
  Contact,
  ContactExport,
  Conversation,
  ConversationState,
  ConversationStatus,
  Handle,
  IngestResult,
  JsonObject,
  Json,
  Message,
  MessageRole,
  MessageStatus,
  StatusUpdateResult,
  StoreEvent,
} from '../domain/types.js';
import type { PortableRecord } from './portable.js';

/**
 * The storage contract. A backend knows SQL, not HTTP. It owns its connections and transactions (none leak
 * through this interface), enforces every contract of DESIGN.md with the database's own constraints, and
 * writes the event row of each change in the change's own transaction.
 *
 * Conventions for every member:
 * - `tenant` scopes every read and write; a record of another tenant is treated as missing.
 * - Inputs are already validated by the store; ids and timestamps (epoch ms) are chosen by the store.
 * - A missing record yields `undefined` (reads) or `false` (deletes); never an exception, never an empty stand-in.
 * - Driver errors are translated to `ColloquyError` (`conflict`, `unavailable`, …) at this boundary.
 */
export interface Backend {
  readonly dialect: 'sqlite' | 'postgres';
  readonly capabilities: BackendCapabilities;

  /** Applies pending migrations; throws `schema_too_new` if the database has migrations this code lacks. */
  migrate(): Promise<MigrationReport>;
  /** Throws `schema_too_new` or `schema_outdated` unless the database has exactly this code's migrations. */
  checkSchema(): Promise<void>;
  /** Cheap round trip to the database; throws `unavailable` when it does not answer. */
  ping(): Promise<void>;
  /** Every record of every tenant from one consistent snapshot, parents before children (`colloquy export`). */
  exportRecords(): AsyncGenerator<PortableRecord>;
  /** Inserts the records that are absent, in one transaction; writes no events (`colloquy import`). */
  importRecords(records: PortableRecord[]): Promise<{ inserted: number; present: number; skipped: number }>;
  /** Integrity checks and counts across all tenants, for `colloquy doctor`. Reads only; may scan. */
  diagnose(): Promise<Diagnosis>;
  /** Connection pool figures, or null for a single connection (SQLite). */
  poolStats(): PoolStats | null;
  /** Closes connections; pending calls finish first. */
  close(): Promise<void>;

  /** Creates the contact of `handle` or updates its name/metadata when given; returns it. */
  upsertContact(tenant: string, input: NewContact): Promise<Contact>;
  getContact(tenant: string, id: string): Promise<Contact | undefined>;
  /** Oldest first (ids are time-ordered), after the id `after`. */
  listContacts(tenant: string, options: { after?: string | undefined; limit: number }): Promise<Contact[]>;
  findContactByHandle(tenant: string, channel: ChannelKind, address: string): Promise<Contact | undefined>;
  /**
   * Deletes the contact, its handles, conversations, messages, states and their events; returns what it deleted,
   * and the other conversations that lost their `previousConversationId` link to one of the deleted.
   */
  eraseContact(tenant: string, id: string, now: number): Promise<{ handles: Handle[]; conversationIds: string[]; unlinked: string[] } | undefined>;
  exportContact(tenant: string, id: string): Promise<ContactExport | undefined>;

  createChannel(tenant: string, input: NewChannel): Promise<Channel>;
  getChannel(tenant: string, id: string): Promise<Channel | undefined>;
  /** All channels of the tenant, oldest first (a tenant has few). */
  listChannels(tenant: string): Promise<Channel[]>;

  /** Throws `not_found` for an unknown contact/channel/agent, `conflict` if the pair already has a non-closed one. */
  createConversation(tenant: string, input: NewConversation): Promise<Conversation>;
  getConversation(tenant: string, id: string): Promise<Conversation | undefined>;
  /** Newest activity first; `after` is the last row of the previous page. */
  listConversations(tenant: string, filter: ConversationFilter): Promise<Conversation[]>;
  /** Throws `version_mismatch` on a stale `expectedVersion`, `conflict` when reopening would make two open ones. */
  updateConversation(tenant: string, id: string, patch: ConversationPatch): Promise<Conversation | undefined>;
  /**
   * Deletes one conversation, or all of a contact's, with their messages, state and events; writes a
   * `conversation.deleted` event for each. Returns the ids deleted (none when nothing matched) and the ids of
   * the conversations that lost their `previousConversationId` link to one of them.
   */
  deleteConversations(tenant: string, which: { id: string } | { contactId: string }, now: number): Promise<{ deleted: string[]; unlinked: string[] }>;

  /**
   * Appends one message: dedup by externalId/idempotencyKey first (a duplicate writes nothing), then
   * seq = lastSeq + 1 in the same transaction. Throws `not_found` or `conversation_closed`.
   */
  appendMessage(tenant: string, conversationId: string, message: NewMessage): Promise<AppendResult>;
  listMessages(tenant: string, conversationId: string, range: MessageRange): Promise<Message[] | undefined>;
  getMessage(tenant: string, id: string): Promise<Message | undefined>;
  /** Moves the delivery status forward only; a backward move returns `changed: false` and writes nothing. */
  updateMessageStatus(tenant: string, id: string, status: MessageStatus, at: number): Promise<StatusUpdateResult | undefined>;

  /** Contact by handle → conversation by the continuity rule → idempotent append, as one transaction. */
  ingest(tenant: string, input: NewInbound): Promise<IngestResult>;

  getState(tenant: string, conversationId: string): Promise<ConversationState | undefined>;
  /** Compare-and-set on `expectedVersion`; throws `version_mismatch` and writes nothing when stale. */
  setState(tenant: string, conversationId: string, input: StateWrite): Promise<ConversationState | undefined>;

  createAgent(tenant: string, input: NewAgent): Promise<Agent>;
  getAgent(tenant: string, id: string): Promise<Agent | undefined>;
  listAgents(tenant: string): Promise<Agent[]>;
  updateAgent(tenant: string, id: string, patch: AgentPatch): Promise<Agent | undefined>;
  /** Undefined if missing; else the ids of the conversations whose `agentId` it cleared. */
  deleteAgent(tenant: string, id: string): Promise<{ unlinked: string[] } | undefined>;

  /** API keys are not tenant-scoped: they are what assigns a caller its tenant. */
  createApiKey(input: { id: string; tenant: string; name: string; prefix: string; hash: string; now: number }): Promise<ApiKey>;
  listApiKeys(): Promise<ApiKey[]>;
  revokeApiKey(id: string, now: number): Promise<boolean>;
  /** The tenant of the unrevoked key with this hash. */
  findApiKey(hash: string): Promise<{ id: string; tenantId: string } | undefined>;

  /** Events in delivery order after the cursor `after` (exclusive). */
  listEvents(tenant: string, options: { after?: string; limit: number; conversationId?: string }): Promise<StoreEvent[]>;
}

export interface BackendCapabilities {
  /** Several processes may write to the same database at once (PostgreSQL) or not (one SQLite file per process). */
  readonly multiProcess: boolean;
}

export interface Diagnosis {
  conversationsByStatus: Record<'open' | 'waiting' | 'closed', number>;
  messages: number;
  /** Should be empty: the unique index forbids them. */
  duplicateExternalIds: Array<{ channelId: string; externalId: string; count: number }>;
  /** Conversations whose messages are not exactly seq 1..lastSeq (at most 100). */
  seqMismatches: Array<{ conversationId: string; lastSeq: number; messages: number; maxSeq: number }>;
  /** (contact, channel) pairs with more than one non-closed conversation. */
  doubleOpen: number;
  /** Problems of the engine itself (PostgreSQL: transactions that hold back event delivery). */
  warnings: string[];
}

export interface MigrationReport {
  applied: string[];
  current: string | null;
}

export interface NewContact {
  id: string;
  channel: ChannelKind;
  address: string;
  name: string | null | undefined;
  metadata: JsonObject | undefined;
  now: number;
}

export interface NewChannel {
  id: string;
  kind: ChannelKind;
  name: string;
  config: JsonObject & { reopenWindowSeconds: number };
  now: number;
}

export interface NewConversation {
  id: string;
  contactId: string | null;
  channelId: string | null;
  agentId: string | null;
  title: string | null;
  metadata: JsonObject;
  status: ConversationStatus;
  now: number;
}

export interface ConversationFilter {
  status?: ConversationStatus | undefined;
  contactId?: string | undefined;
  channelId?: string | undefined;
  agentId?: string | undefined;
  after?: { activityAt: number; id: string } | undefined;
  limit: number;
}

export interface ConversationPatch {
  status?: ConversationStatus | undefined;
  title?: string | null | undefined;
  metadata?: JsonObject | undefined;
  agentId?: string | null | undefined;
  expectedVersion?: number | undefined;
  now: number;
}

export interface NewMessage {
  id: string;
  role: MessageRole;
  content: string;
  parts: Json[] | null;
  externalId: string | null;
  idempotencyKey: string | null;
  status: MessageStatus;
  intent: string | null;
  confidence: number | null;
  entities: Json | null;
  metadata: JsonObject | null;
  createdAt: number;
}

export interface MessageRange {
  after?: number | undefined;
  before?: number | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

export interface NewInbound {
  channelId: string;
  address: string;
  name: string | null;
  /** Ids to use if a contact or conversation has to be created. */
  contactId: string;
  conversationId: string;
  message: NewMessage;
  now: number;
}

export interface StateWrite {
  state?: string | null | undefined;
  data?: JsonObject | undefined;
  expectedVersion: number;
  now: number;
}

export interface NewAgent {
  id: string;
  name: string;
  instructions: string;
  model: string;
  params: JsonObject;
  metadata: JsonObject;
  now: number;
}

export interface AgentPatch {
  name?: string | undefined;
  instructions?: string | undefined;
  model?: string | undefined;
  params?: JsonObject | undefined;
  metadata?: JsonObject | undefined;
  now: number;
}

/** A connection pool's figures; `queries` counts every statement sent since the pool opened (round trips). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  queries: number;
}
