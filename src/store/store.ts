import { createHash, randomBytes } from 'node:crypto';
import type { Backend, Diagnosis, PoolStats } from '../backends/backend.js';
import { portableProblem, type PortableRecord } from '../backends/portable.js';
import type { CacheChange, HotTier, HotTierStats } from '../cache/hot-tier.js';
import { PAGE_MAX } from '../cache/hot-tier.js';
import { ChangeSignal } from '../events/change-signal.js';
import { ColloquyError, notFound } from '../domain/errors.js';
import { isId, newId } from '../domain/ids.js';
import * as S from '../domain/schemas.js';
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
  IngestResult,
  Json,
  JsonObject,
  Message,
  MessageStatus,
  Page,
  StatusUpdateResult,
  StoreEvent,
} from '../domain/types.js';

/** The conversation store, scoped to one tenant. Every method validates its arguments before any write. */
export interface Store {
  readonly tenantId: string;
  readonly dialect: Backend['dialect'];

  readonly contacts: {
    /** Creates the contact of `handle`, or updates the name/metadata given; returns it. */
    upsert(input: S.ContactUpsert): Promise<Contact>;
    get(id: string): Promise<Contact | null>;
    /** Oldest first; `limit` 1–200, default 50; pass `nextCursor` back as `cursor`. */
    list(options?: S.ContactListOptions): Promise<Page<Contact>>;
    findByHandle(handle: { channel: ChannelKind; address: string }): Promise<Contact | null>;
    /** Deletes the contact and everything of theirs (conversations, messages, state, events). False if missing. */
    erase(id: string): Promise<boolean>;
    /** Everything stored about the contact, as plain JSON. Null if missing. */
    export(id: string): Promise<ContactExport | null>;
  };
  readonly channels: {
    /** `config.reopenWindowSeconds` defaults to 86400 (24 h). */
    create(input: S.ChannelCreate): Promise<Channel>;
    get(id: string): Promise<Channel | null>;
    list(): Promise<Channel[]>;
  };
  readonly conversations: {
    /** Throws `not_found` for unknown references, `conflict` if the contact already has an open one on the channel. */
    create(input?: S.ConversationCreate): Promise<Conversation>;
    get(id: string): Promise<Conversation | null>;
    /** Newest activity first; `limit` 1–200, default 50; pass `nextCursor` back as `cursor`. */
    list(options?: S.ConversationListOptions): Promise<Page<Conversation>>;
    /** Close, reopen, retitle. With `expectedVersion`, a stale version throws `version_mismatch`. Throws `not_found`. */
    update(id: string, patch: S.ConversationUpdate): Promise<Conversation>;
    /** Erases the conversation with its messages and state. False if missing. */
    delete(id: string): Promise<boolean>;
    /** Erases all of a contact's conversations (the contact stays); returns their ids. Throws `not_found` for an unknown contact. */
    deleteByContact(contactId: string): Promise<string[]>;
  };
  readonly messages: {
    /**
     * Appends with seq = previous + 1. A repeat of the same `externalId` or `idempotencyKey` returns the stored
     * original with `duplicate: true` and writes nothing. Throws `not_found`, or `conversation_closed`.
     * `status` defaults to `delivered` for role `user` and `pending` otherwise.
     */
    append(conversationId: string, input: S.MessageAppend): Promise<AppendResult>;
    /** By seq: `after`/`before` exclusive, `limit` 1–1000 (default 50), `order` asc (default) or desc. Throws `not_found`. */
    list(conversationId: string, options?: S.MessageListOptions): Promise<Message[]>;
    get(id: string): Promise<Message | null>;
    /** Moves the delivery status forward only; otherwise returns `changed: false`. Throws `not_found`. */
    updateStatus(id: string, status: MessageStatus, at?: string | number): Promise<StatusUpdateResult>;
  };
  /**
   * An inbound channel message: contact by handle, then the continuity rule (join the open conversation, reopen
   * a closed one within the channel's window, or start a new one linked to the previous), then an idempotent append.
   */
  ingest(input: S.IngestInput): Promise<IngestResult>;
  readonly state: {
    /** Version 0 and empty data until the first write. Throws `not_found`. */
    get(conversationId: string): Promise<ConversationState>;
    /** Compare-and-set: `expectedVersion` must equal the current version, else `version_mismatch` and nothing is written. */
    set(conversationId: string, input: S.StateSet): Promise<ConversationState>;
  };
  readonly agents: {
    create(input: S.AgentCreate): Promise<Agent>;
    get(id: string): Promise<Agent | null>;
    list(): Promise<Agent[]>;
    update(id: string, patch: S.AgentUpdate): Promise<Agent>;
    delete(id: string): Promise<boolean>;
  };
  readonly events: {
    /** The durable event log in delivery order; resume with `after` = the last event id you handled. */
    list(options?: S.EventListOptions): Promise<StoreEvent[]>;
    /**
     * Calls `listener` when this process may have added events for this tenant; returns the unsubscribe.
     * A wake-up hint for live readers, not a delivery: read the log with `list({ after })` when woken.
     */
    onChange(listener: () => void): () => void;
  };
  /** API keys, across tenants: what the server uses to assign each caller its tenant. */
  readonly keys: {
    /** A new key bound to `tenant`. The secret is returned once; only its SHA-256 is stored. */
    create(input: { tenant: string; name?: string }): Promise<{ key: ApiKey; secret: string }>;
    list(): Promise<ApiKey[]>;
    /** False if the key does not exist or was already revoked. */
    revoke(id: string): Promise<boolean>;
    /** The tenant of an unrevoked key, or null. */
    authenticate(secret: string): Promise<string | null>;
  };
  /** One round trip to the database; throws `unavailable` when it does not answer. */
  ping(): Promise<void>;
  /** Every record of every tenant from one snapshot, parents before children (`colloquy export`). */
  exportAll(): AsyncGenerator<PortableRecord>;
  /**
   * Inserts the records that are absent and leaves those present (`colloquy import`): importing the same
   * records twice changes nothing. Writes no events. Throws `invalid_argument` naming the first bad record.
   */
  importAll(records: unknown[]): Promise<{ inserted: number; present: number; skipped: number }>;
  /** Integrity checks and counts across all tenants (`colloquy doctor`); reads only, may scan whole tables. */
  diagnose(): Promise<Diagnosis>;
  /** The hot tier's kind, status and counters, or null without a cache. Synchronous: for metrics and health. */
  cacheStats(): HotTierStats | null;
  /** Connection pool figures (PostgreSQL), or null. Synchronous: for metrics. */
  poolStats(): PoolStats | null;
  /** Database round-trip latency and pool figures, for health reports. Throws `unavailable` when it does not answer. */
  health(): Promise<{ dialect: 'sqlite' | 'postgres'; latencyMs: number; pool: { total: number; idle: number; waiting: number } | null }>;
  /** The same API for another tenant, sharing this store's connections. */
  tenant(id: string): Store;
  /** Closes the connections of every tenant view (and the hot tier and event bus given to it). */
  close(): Promise<void>;
}

const lower = (value: string | undefined): string | undefined => value?.toLowerCase();

const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function assertTenant(tenantId: string): void {
  if (!TENANT.test(tenantId)) {
    throw new ColloquyError('invalid_argument', `Invalid tenant id "${tenantId}": use 1–64 letters, digits, '.', '_' or '-'.`);
  }
}

/** What every tenant view of one store shares. */
export interface StoreContext {
  readonly clock: () => number;
  readonly signal: ChangeSignal;
  /** The hot tier, if any: reads go through it, and every commit updates or invalidates it before it is acknowledged. */
  readonly hot?: HotTier | undefined;
  /** Closed with the store, after the backend. */
  readonly onClose?: (() => Promise<void>) | undefined;
  /** Channel kinds by tenant and id: a channel's kind never changes and channels are never deleted. */
  readonly channelKinds?: Map<string, ChannelKind>;
}

/** Cache keys: one hash tag per conversation, so that its entries share a Redis Cluster slot. */
const cacheKey = {
  conversation: (t: string, id: string) => `${t}:{${id}}:c`,
  page: (t: string, id: string) => `${t}:{${id}}:p`,
  state: (t: string, id: string) => `${t}:{${id}}:s`,
  agent: (t: string, id: string) => `${t}:{${id}}:a`,
  handle: (t: string, channel: string, address: string) => `${t}:h:{${channel}:${address}}`,
};
/** A conversation's record changes with its version (status, title, metadata) or its lastSeq (messages). */
const stampOf = (c: Conversation) => c.version + c.lastSeq;
const erased = (t: string, ids: string[]): CacheChange => ({
  op: 'invalidate', deleted: true, keys: ids.flatMap((id) => [cacheKey.conversation(t, id), cacheKey.page(t, id), cacheKey.state(t, id)]),
});

export function createStore(backend: Backend, tenantId: string, context: StoreContext): Store {
  assertTenant(tenantId);
  const t = tenantId;
  const { clock, signal, hot } = context;
  const channelKinds = context.channelKinds ?? new Map<string, ChannelKind>();
  /** Applies a commit's cache changes before the caller hears of the commit (read-your-writes across instances). */
  const settle = async (changes: () => CacheChange[]) => {
    if (hot) await hot.apply(changes());
  };
  const kindOf = async (channelId: string): Promise<ChannelKind | undefined> => {
    const known = channelKinds.get(`${t}/${channelId}`);
    if (known) return known;
    const channel = await backend.getChannel(t, channelId);
    if (channel) channelKinds.set(`${t}/${channelId}`, channel.kind);
    return channel?.kind;
  };
  /** Passes a write's result through after waking this tenant's live readers. */
  const changed = <T>(result: T): T => {
    signal.emit(t);
    return result;
  };
  // Ids are case-insensitive (as PostgreSQL's uuid type): normalised so SQLite's text comparison agrees.
  const id = (value: unknown, what: string): string =>
    (isId(value) ? value : S.validate(S.IdSchema, value, `${what} id`)).toLowerCase();
  const found = <T>(value: T | undefined, what: string, key: string): T => {
    if (value === undefined) throw notFound(what, key);
    return value;
  };

  const store: Store = {
    tenantId: t,
    dialect: backend.dialect,

    contacts: {
      async upsert(input) {
        const v = S.validate(S.ContactUpsertSchema, input, 'contact');
        const contact = await backend.upsertContact(t, {
          id: newId(), channel: v.handle.channel as ChannelKind, address: v.handle.address, name: v.name,
          metadata: v.metadata as JsonObject | undefined, now: clock(),
        });
        await settle(() => [{ op: 'invalidate', keys: [cacheKey.handle(t, v.handle.channel, v.handle.address)] }]);
        return contact;
      },
      async get(contactId) {
        return (await backend.getContact(t, id(contactId, 'contact'))) ?? null;
      },
      async list(options = {}) {
        const v = S.validate(S.ContactListSchema, options, 'contact list options');
        const limit = v.limit ?? 50;
        const rows = await backend.listContacts(t, { after: lower(v.cursor), limit: limit + 1 });
        const data = rows.slice(0, limit);
        return { data, nextCursor: rows.length > limit ? data.at(-1)!.id : null };
      },
      async findByHandle(handle) {
        const v = S.validate(S.HandleSchema, handle, 'handle');
        const load = () => backend.findContactByHandle(t, v.channel as ChannelKind, v.address);
        if (!hot) return (await load()) ?? null;
        // Contacts carry no version: the lease alone keeps a slow reader from installing an older one.
        return (await hot.read(cacheKey.handle(t, v.channel, v.address), async () => {
          const contact = await load();
          return contact && { version: 0, value: contact };
        })) ?? null;
      },
      async erase(contactId) {
        const gone = await backend.eraseContact(t, id(contactId, 'contact'), clock());
        if (!gone) return false;
        await settle(() => [
          erased(t, gone.conversationIds),
          { op: 'invalidate', deleted: true, keys: gone.handles.map((h) => cacheKey.handle(t, h.channel, h.address)) },
          { op: 'invalidate', keys: gone.unlinked.map((other) => cacheKey.conversation(t, other)) },
        ]);
        return changed(true);
      },
      async export(contactId) {
        return (await backend.exportContact(t, id(contactId, 'contact'))) ?? null;
      },
    },

    channels: {
      async create(input) {
        const v = S.validate(S.ChannelCreateSchema, input, 'channel');
        const config = { ...(v.config as JsonObject | undefined), reopenWindowSeconds: v.config?.reopenWindowSeconds ?? 86_400 };
        return backend.createChannel(t, { id: newId(), kind: v.kind as ChannelKind, name: v.name, config, now: clock() });
      },
      async get(channelId) {
        return (await backend.getChannel(t, id(channelId, 'channel'))) ?? null;
      },
      list: () => backend.listChannels(t),
    },

    conversations: {
      async create(input = {}) {
        const v = S.validate(S.ConversationCreateSchema, input, 'conversation');
        const conversation = await backend.createConversation(t, {
          id: newId(), contactId: lower(v.contactId) ?? null, channelId: lower(v.channelId) ?? null, agentId: lower(v.agentId) ?? null,
          title: v.title ?? null, metadata: (v.metadata ?? {}) as JsonObject, status: v.status ?? 'open', now: clock(),
        });
        await settle(() => [{ op: 'write', key: cacheKey.conversation(t, conversation.id), version: stampOf(conversation), value: conversation }]);
        return changed(conversation);
      },
      async get(conversationId) {
        const key = id(conversationId, 'conversation');
        if (!hot) return (await backend.getConversation(t, key)) ?? null;
        return (await hot.read(cacheKey.conversation(t, key), async () => {
          const conversation = await backend.getConversation(t, key);
          return conversation && { version: stampOf(conversation), value: conversation };
        })) ?? null;
      },
      async list(options = {}) {
        const v = S.validate(S.ConversationListSchema, options, 'conversation list options');
        const limit = v.limit ?? 50;
        const rows = await backend.listConversations(t, {
          status: v.status, contactId: lower(v.contactId), channelId: lower(v.channelId), agentId: lower(v.agentId),
          after: v.cursor === undefined ? undefined : decodeCursor(v.cursor), limit: limit + 1,
        });
        const data = rows.slice(0, limit);
        const last = data.at(-1);
        return { data, nextCursor: rows.length > limit && last ? encodeCursor(Date.parse(last.lastActivityAt), last.id) : null };
      },
      async update(conversationId, patch) {
        const key = id(conversationId, 'conversation');
        const v = S.validate(S.ConversationUpdateSchema, patch, 'conversation update');
        const result = found(await backend.updateConversation(t, key, {
          ...v, agentId: v.agentId === null ? null : lower(v.agentId), metadata: v.metadata as JsonObject | undefined, now: clock(),
        }), 'conversation', key);
        await settle(() => [{ op: 'write', key: cacheKey.conversation(t, key), version: stampOf(result), value: result }]);
        return changed(result);
      },
      async delete(conversationId) {
        const { deleted, unlinked } = await backend.deleteConversations(t, { id: id(conversationId, 'conversation') }, clock());
        await settle(() => [erased(t, deleted), { op: 'invalidate', keys: unlinked.map((other) => cacheKey.conversation(t, other)) }]);
        return changed(deleted).length > 0;
      },
      async deleteByContact(contactId) {
        const key = id(contactId, 'contact');
        if (!(await backend.getContact(t, key))) throw notFound('contact', key);
        const { deleted, unlinked } = await backend.deleteConversations(t, { contactId: key }, clock());
        await settle(() => [erased(t, deleted), { op: 'invalidate', keys: unlinked.map((other) => cacheKey.conversation(t, other)) }]);
        return changed(deleted);
      },
    },

    messages: {
      async append(conversationId, input) {
        const key = id(conversationId, 'conversation');
        const v = S.validate(S.MessageAppendSchema, input, 'message');
        const createdAt = S.toEpochMs(v.createdAt, 'createdAt', clock());
        const result = await backend.appendMessage(t, key, {
          id: newId(), role: v.role, content: v.content, parts: (v.parts as Json[] | undefined) ?? null,
          externalId: v.externalId ?? null, idempotencyKey: v.idempotencyKey ?? null,
          status: v.status ?? (v.role === 'user' ? 'delivered' : 'pending'), intent: v.intent ?? null,
          confidence: v.confidence ?? null, entities: (v.entities as Json | undefined) ?? null,
          metadata: (v.metadata as JsonObject | undefined) ?? null, createdAt,
        });
        if (result.duplicate) return result;
        await settle(() => [
          { op: 'push', key: cacheKey.page(t, key), version: result.message.seq, item: result.message },
          { op: 'invalidate', keys: [cacheKey.conversation(t, key)] },
        ]);
        return changed(result);
      },
      async list(conversationId, options = {}) {
        const key = id(conversationId, 'conversation');
        const v = S.validate(S.MessageListSchema, options, 'message list options');
        const limit = v.limit ?? 50;
        // The cache holds the newest page: what a chat turn and a chat screen read.
        if (hot && v.order === 'desc' && v.after === undefined && v.before === undefined && limit <= PAGE_MAX) {
          const rows = await hot.readList(cacheKey.page(t, key), limit, async () => {
            const newest = await backend.listMessages(t, key, { limit: PAGE_MAX, order: 'desc' });
            return newest && { version: newest[0]?.seq ?? 0, items: newest };
          });
          return found(rows, 'conversation', key);
        }
        const rows = await backend.listMessages(t, key, { after: v.after, before: v.before, limit, order: v.order ?? 'asc' });
        return found(rows, 'conversation', key);
      },
      async get(messageId) {
        return (await backend.getMessage(t, id(messageId, 'message'))) ?? null;
      },
      async updateStatus(messageId, status, at) {
        const key = id(messageId, 'message');
        const v = S.validate(S.MessageStatusSchema, status, 'message status');
        const when = at === undefined ? undefined : S.validate(S.TimestampSchema, at, 'status time');
        const result = found(await backend.updateMessageStatus(t, key, v as MessageStatus, S.toEpochMs(when, 'at', clock())), 'message', key);
        if (!result.changed) return result;
        await settle(() => [{ op: 'invalidate', keys: [cacheKey.page(t, result.message.conversationId)] }]);
        return changed(result);
      },
    },

    async ingest(input) {
      const v = S.validate(S.IngestSchema, input, 'inbound message');
      const now = clock();
      const channelId = v.channelId.toLowerCase();
      // A name given may rename the contact: its handle's cache key needs the channel's kind, read before the
      // write so that nothing can fail between the commit and the cache update.
      const kind = hot && v.from.name !== undefined ? await kindOf(channelId) : undefined;
      const result = await backend.ingest(t, {
        channelId, address: v.from.address, name: v.from.name ?? null,
        contactId: newId(), conversationId: newId(), now,
        message: {
          id: newId(), role: 'user', content: v.content, parts: (v.parts as Json[] | undefined) ?? null,
          externalId: v.externalId, idempotencyKey: null, status: 'delivered', intent: null, confidence: null,
          entities: null, metadata: (v.metadata as JsonObject | undefined) ?? null,
          createdAt: S.toEpochMs(v.timestamp, 'timestamp', now),
        },
      });
      if (result.duplicate) {
        // Resolving the conversation may have reopened it before the append found the duplicate.
        await settle(() => [{ op: 'invalidate', keys: [cacheKey.conversation(t, result.conversation.id)] }]);
        return result;
      }
      if (hot) {
        const { conversation, message } = result;
        const changes: CacheChange[] = [
          { op: 'write', key: cacheKey.conversation(t, conversation.id), version: stampOf(conversation), value: conversation },
          { op: 'push', key: cacheKey.page(t, conversation.id), version: message.seq, item: message },
        ];
        if (kind) changes.push({ op: 'invalidate', keys: [cacheKey.handle(t, kind, v.from.address)] });
        await hot.apply(changes);
      }
      return changed(result);
    },

    state: {
      async get(conversationId) {
        const key = id(conversationId, 'conversation');
        if (!hot) return found(await backend.getState(t, key), 'conversation', key);
        return found(await hot.read(cacheKey.state(t, key), async () => {
          const state = await backend.getState(t, key);
          return state && { version: state.version, value: state };
        }), 'conversation', key);
      },
      async set(conversationId, input) {
        const key = id(conversationId, 'conversation');
        const v = S.validate(S.StateSetSchema, input, 'state');
        const result = found(await backend.setState(t, key, { ...v, data: v.data as JsonObject | undefined, now: clock() }), 'conversation', key);
        await settle(() => [{ op: 'write', key: cacheKey.state(t, key), version: result.version, value: result }]);
        return changed(result);
      },
    },

    agents: {
      async create(input) {
        const v = S.validate(S.AgentCreateSchema, input, 'agent');
        return backend.createAgent(t, {
          id: newId(), name: v.name, instructions: v.instructions ?? '', model: v.model,
          params: (v.params ?? {}) as JsonObject, metadata: (v.metadata ?? {}) as JsonObject, now: clock(),
        });
      },
      async get(agentId) {
        const key = id(agentId, 'agent');
        if (!hot) return (await backend.getAgent(t, key)) ?? null;
        return (await hot.read(cacheKey.agent(t, key), async () => {
          const agent = await backend.getAgent(t, key);
          return agent && { version: 0, value: agent };
        })) ?? null;
      },
      list: () => backend.listAgents(t),
      async update(agentId, patch) {
        const key = id(agentId, 'agent');
        const v = S.validate(S.AgentUpdateSchema, patch, 'agent update');
        const result = found(await backend.updateAgent(t, key, {
          ...v, params: v.params as JsonObject | undefined, metadata: v.metadata as JsonObject | undefined, now: clock(),
        }), 'agent', key);
        await settle(() => [{ op: 'invalidate', keys: [cacheKey.agent(t, key)] }]);
        return result;
      },
      async delete(agentId) {
        const key = id(agentId, 'agent');
        const deleted = await backend.deleteAgent(t, key);
        if (!deleted) return false;
        await settle(() => [
          { op: 'invalidate', deleted: true, keys: [cacheKey.agent(t, key)] },
          { op: 'invalidate', keys: deleted.unlinked.map((other) => cacheKey.conversation(t, other)) },
        ]);
        return true;
      },
    },

    events: {
      async list(options = {}) {
        const v = S.validate(S.EventListSchema, options, 'event list options');
        return backend.listEvents(t, { after: v.after, limit: v.limit ?? 100, conversationId: lower(v.conversationId) });
      },
      onChange: (listener) => signal.on(t, listener),
    },

    keys: {
      async create(input) {
        const v = S.validate(S.KeyCreateSchema, input, 'API key');
        assertTenant(v.tenant);
        const secret = `cq_${randomBytes(24).toString('base64url')}`;
        const key = await backend.createApiKey({
          id: newId(), tenant: v.tenant, name: v.name ?? 'default', prefix: secret.slice(0, 10), hash: hashKey(secret), now: clock(),
        });
        return { key, secret };
      },
      list: () => backend.listApiKeys(),
      async revoke(keyId) {
        return backend.revokeApiKey(id(keyId, 'API key'), clock());
      },
      async authenticate(secret) {
        if (typeof secret !== 'string' || secret.length > 200) return null;
        return (await backend.findApiKey(hashKey(secret)))?.tenantId ?? null;
      },
    },
    ping: () => backend.ping(),
    diagnose: () => backend.diagnose(),
    exportAll: () => backend.exportRecords(),
    async importAll(records) {
      records.forEach((record, index) => {
        const why = portableProblem(record);
        if (why) throw new ColloquyError('invalid_argument', `Record ${index + 1} ${why}: expected a line written by \`colloquy export\`.`, { index });
      });
      const result = await backend.importRecords(records as PortableRecord[]);
      // An import changes records around the cache (new messages, new handles): drop it rather than track each.
      if (result.inserted || result.present) await hot?.clear();
      return result;
    },
    cacheStats: () => hot?.stats() ?? null,
    poolStats: () => backend.poolStats(),
    async health() {
      const started = performance.now();
      await backend.ping();
      return { dialect: backend.dialect, latencyMs: Math.round((performance.now() - started) * 1000) / 1000, pool: backend.poolStats() };
    },
    tenant: (other) => createStore(backend, other, { ...context, channelKinds }),
    async close() {
      try {
        await backend.close();
      } finally {
        try {
          await hot?.close();
        } finally {
          await context.onClose?.();
        }
      }
    },
  };
  return Object.freeze(store);
}

/** Conversation list cursor: the (lastActivityAt, id) of the last row of a page, opaque to clients. */
function encodeCursor(activityAt: number, id: string): string {
  return Buffer.from(JSON.stringify([activityAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): { activityAt: number; id: string } {
  try {
    const [activityAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof activityAt === 'number' && Number.isSafeInteger(activityAt) && typeof id === 'string' && id.length <= 64) return { activityAt, id };
  } catch {
    // fall through to the error below
  }
  throw new ColloquyError('invalid_argument', 'Invalid cursor: pass back the nextCursor of a previous page unchanged.', { cursor });
}
