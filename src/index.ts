export { openStore, migrate } from './store/open-store.js';
export type { StoreConfig } from './store/open-store.js';
export type { Store } from './store/store.js';
export type { PortableRecord } from './backends/portable.js';
export type { Diagnosis } from './backends/backend.js';
export { ColloquyError, isColloquyError } from './domain/errors.js';
export type { ErrorCode } from './domain/errors.js';
export type {
  Agent,
  ApiKey,
  AppendResult,
  Channel,
  ChannelConfig,
  ChannelKind,
  Contact,
  ContactExport,
  Conversation,
  ConversationState,
  ConversationStatus,
  EventType,
  Handle,
  IngestResult,
  Json,
  JsonObject,
  Message,
  MessageRole,
  MessageStatus,
  Page,
  StatusUpdateResult,
  StoreEvent,
} from './domain/types.js';
export type {
  AgentCreate,
  AgentUpdate,
  ChannelCreate,
  ContactListOptions,
  ContactUpsert,
  ConversationCreate,
  ConversationListOptions,
  ConversationUpdate,
  EventListOptions,
  IngestInput,
  MessageAppend,
  MessageListOptions,
  StateSet,
} from './domain/schemas.js';
