// The API's shapes, from the schemas the server validates and documents with: types only, nothing of the server
// is bundled (test/web/boundary.test.ts checks it).
export type {
  Agent, Channel, ChannelHealth, Contact, Conversation, ConversationState, Message, MessageStatus, Page, StoreEvent,
} from '../../src/domain/entities.js';
export type { Alert } from '../../src/domain/alert.js';
export type { WebhookDelivery, WebhookEndpoint } from '../../src/domain/webhook.js';
export type { MessageStats, UsageStats } from '../../src/store/stats.js';
