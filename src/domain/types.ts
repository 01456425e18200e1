/** Entities as the library and the API show them: camelCase, ids are UUIDv7 strings, times are ISO-8601 strings. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type ChannelKind = 'whatsapp' | 'telegram' | 'webhook' | 'api' | 'web';
export type ConversationStatus = 'open' | 'waiting' | 'closed';
export type MessageRole = 'user' | 'assistant' | 'system' | 'tool';
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface Handle {
  channel: ChannelKind;
  address: string;
}

export interface Contact {
  id: string;
  name: string | null;
  handles: Handle[];
  metadata: JsonObject;
  createdAt: string;
  updatedAt: string;
}

export interface ChannelConfig extends JsonObject {
  /** A closed conversation active within this many seconds is reopened by a new inbound message. */
  reopenWindowSeconds: number;
}

export interface Channel {
  id: string;
  kind: ChannelKind;
  name: string;
  config: ChannelConfig;
  createdAt: string;
  updatedAt: string;
}

export interface Conversation {
  id: string;
  contactId: string | null;
  channelId: string | null;
  agentId: string | null;
  previousConversationId: string | null;
  status: ConversationStatus;
  title: string | null;
  metadata: JsonObject;
  /** Bumped by every change of status, title or metadata; use it as `expectedVersion`. */
  version: number;
  /** Seq of the newest message; equals the number of messages, since seq is gapless from 1. */
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
  lastMessageAt: string | null;
  closedAt: string | null;
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  role: MessageRole;
  content: string;
  parts: Json[] | null;
  externalId: string | null;
  idempotencyKey: string | null;
  status: MessageStatus;
  statusAt: string;
  intent: string | null;
  confidence: number | null;
  entities: Json | null;
  metadata: JsonObject | null;
  createdAt: string;
}

export interface ConversationState {
  conversationId: string;
  state: string | null;
  previousState: string | null;
  data: JsonObject;
  /** 0 until the first write; every write adds 1. */
  version: number;
  updatedAt: string | null;
}

export interface Agent {
  id: string;
  name: string;
  instructions: string;
  model: string;
  params: JsonObject;
  metadata: JsonObject;
  createdAt: string;
  updatedAt: string;
}

export type EventType =
  | 'message.created'
  | 'message.status'
  | 'conversation.created'
  | 'conversation.updated'
  | 'conversation.deleted'
  | 'state.updated'
  | 'contact.erased';

/**
 * A durable record of one change, written in the change's own transaction.
 * `id` is an opaque cursor: pass it back as `after` to resume exactly after this event.
 * Events carry ids and enums only, never message text, so they hold no personal data.
 */
export interface StoreEvent {
  id: string;
  type: EventType;
  conversationId: string | null;
  data: JsonObject;
  createdAt: string;
}

/** An API key as listed: never the key itself, which is shown once at creation. */
export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  /** The key's first characters, to recognise it. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface AppendResult {
  message: Message;
  /** True when a message with the same externalId or idempotencyKey already existed; nothing was written. */
  duplicate: boolean;
}

export interface IngestResult extends AppendResult {
  conversation: Conversation;
  /** A new conversation was started for this message. */
  created: boolean;
  /** A closed conversation was reopened for this message. */
  reopened: boolean;
}

export interface StatusUpdateResult {
  message: Message;
  /** False when the status would have moved backwards (or stayed); nothing was written. */
  changed: boolean;
}

export interface ContactExport {
  contact: Contact;
  conversations: Array<Conversation & { state: ConversationState; messages: Message[] }>;
}
