export { openStore, migrate } from './store/open-store.js';
export type { StoreConfig } from './store/open-store.js';
export type {
  Store,
  AgentsApi,
  ChannelsApi,
  ContactsApi,
  ConversationsApi,
  EventsApi,
  IngestApi,
  KeysApi,
  MessagesApi,
  OperationsApi,
  StateApi,
  BudgetsApi,
  UsageApi,
  WebhooksApi,
} from './store/store.js';
export type { WebhookDelivery, WebhookEndpoint, WebhookInput, WebhookPatch } from './domain/webhook.js';
export { toModelMessages } from './context/model-messages.js';
export type { ContextWindow } from './context/context-window.js';
export type { PriceTable } from './domain/usage.js';
export type { PortableRecord } from './backends/sql/portable.js';
export type { Diagnosis, MigrationReport, PoolStats } from './backends/backend.js';
export type { HotTierStats } from './cache/hot-tier.js';
export { ColloquyError, ERROR_CODES, isColloquyError } from './domain/errors.js';
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
  Usage,
} from './domain/entities.js';
export type {
  AgentCreate,
  AgentUpdate,
  ChannelCreate,
  ChannelUpdate,
  ContactListOptions,
  ContactUpsert,
  ContextOptions,
  ConversationCreate,
  ConversationListOptions,
  ConversationUpdate,
  EventListOptions,
  IngestInput,
  KeyCreate,
  MarkReadOptions,
  MessageAppend,
  MessageListOptions,
  PageOptions,
  StateSet,
  UsageInput,
} from './domain/inputs.js';
