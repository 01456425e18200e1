import type * as E from '../domain/entities.js';

// What the store passes to a backend: validated, with ids and times (epoch ms) already chosen.

export interface PageRequest<K> {
  /** The key of the last row of the previous page. */
  after?: K | undefined;
  limit: number;
}

export interface NewContact {
  id: string;
  channel: E.ChannelKind;
  address: string;
  name: string | null | undefined;
  metadata: E.JsonObject | undefined;
  now: number;
}

export interface NewChannel {
  id: string;
  kind: E.ChannelKind;
  name: string;
  config: E.ChannelConfig;
  /** Sealed by the store (`store/secret-box.ts`): the backend stores them as given. */
  secrets: Record<string, string>;
  now: number;
  /** Unique per tenant when set: a second create with it answers the first channel (`createOnce`). */
  idempotencyKey?: string;
  /** With `idempotencyKey`: a hash of the request, so that a reused key is told apart from a retry. */
  requestHash?: string | undefined;
  /** Written in the change's own transaction when the change is made (not when `createOnce` finds the channel). */
  audit?: NewAudit | undefined;
}

/** An audit log entry; the backend adds the subject's id where it learns it. */
export interface NewAudit {
  id: string;
  actor: string;
  action: E.AuditAction;
  tenant: string | null;
  subjectId: string | null;
  details: E.JsonObject;
  now: number;
}

export interface ChannelPatch {
  name?: string | undefined;
  config?: E.JsonObject | undefined;
  secrets?: Record<string, string | null> | undefined;
  now: number;
  audit?: NewAudit | undefined;
}

export interface NewConversation {
  id: string;
  contactId: string | null;
  channelId: string | null;
  agentId: string | null;
  title: string | null;
  metadata: E.JsonObject;
  status: E.ConversationStatus;
  /** A `useChat` client's chat id: unique per agent (a conflict with `reason: 'chat_id_taken'`). */
  chatId?: string | null | undefined;
  now: number;
}

export interface ConversationFilter extends PageRequest<{ activityAt: number; id: string }> {
  status?: E.ConversationStatus | undefined;
  contactId?: string | undefined;
  channelId?: string | undefined;
  agentId?: string | undefined;
}

export interface ConversationPatch {
  status?: E.ConversationStatus | undefined;
  title?: string | null | undefined;
  metadata?: E.JsonObject | undefined;
  agentId?: string | null | undefined;
  agentPaused?: boolean | undefined;
  expectedVersion?: number | undefined;
  now: number;
}

export interface NewMessage {
  id: string;
  role: E.MessageRole;
  content: string;
  parts: E.Json[] | null;
  externalId: string | null;
  idempotencyKey: string | null;
  status: E.MessageStatus;
  intent: string | null;
  confidence: number | null;
  entities: E.Json | null;
  metadata: E.JsonObject | null;
  /** Who wrote an assistant message; null for other roles. */
  sender: E.MessageSender | null;
  /** Its size in tokens (o200k_base), counted by the store. */
  tokens: number | null;
  /** The model call that produced an assistant message: recorded in the usage ledger in the same transaction. */
  usage: E.Usage | null;
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
  data?: E.JsonObject | undefined;
  expectedVersion: number;
  now: number;
}

export interface NewAgent {
  id: string;
  name: string;
  instructions: string;
  model: string;
  params: E.JsonObject;
  metadata: E.JsonObject;
  now: number;
}

export interface AgentPatch {
  name?: string | undefined;
  instructions?: string | undefined;
  model?: string | undefined;
  params?: E.JsonObject | undefined;
  metadata?: E.JsonObject | undefined;
  now: number;
}
