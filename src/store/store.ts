import { agentsOf, type AgentsApi } from './agents.js';
import { auditOf, type AuditApi } from './audit.js';
import { channelsOf, type ChannelsApi } from './channels.js';
import { contactsOf, type ContactsApi } from './contacts.js';
import { conversationsOf, type ConversationsApi } from './conversations.js';
import { eventsOf, type EventsApi } from './events.js';
import { ingestOf, type IngestApi } from './ingest.js';
import { keysOf, type KeysApi } from './keys.js';
import { messagesOf, type MessagesApi } from './messages.js';
import { operationsOf, type OperationsApi } from './operations.js';
import { scopeOf, type Scope, type StoreContext } from './scope.js';
import { stateOf, type StateApi } from './state.js';
import { usageOf, type UsageApi } from './usage.js';
import { budgetsOf, type BudgetsApi } from './budgets.js';
import { webhooksOf, type WebhooksApi } from './webhooks.js';
import { alertsOf, type AlertsApi } from './alerts.js';
import { trashOf, type TrashApi } from './trash.js';
import { reportsOf, type ReportsApi } from './reports.js';
import { statsOf, type StatsApi } from './stats.js';
import { validate } from '../domain/validate.js';
import Type from 'typebox';
import { contextWindow, type ContextWindow } from '../context/context-window.js';
import type { ContextOptions } from '../domain/inputs.js';

const ActorSchema = Type.String({ minLength: 1, maxLength: 100 });

/**
 * The conversation store, scoped to one tenant: one module per entity (each documents its own methods), over a
 * backend and an optional hot tier. Every method validates its arguments before any write.
 */
export interface Store extends OperationsApi {
  readonly tenantId: string;
  readonly dialect: 'sqlite' | 'postgres';
  readonly contacts: ContactsApi;
  readonly channels: ChannelsApi;
  readonly conversations: ConversationsApi;
  readonly messages: MessagesApi;
  readonly ingest: IngestApi;
  readonly state: StateApi;
  readonly agents: AgentsApi;
  readonly events: EventsApi;
  readonly keys: KeysApi;
  readonly audit: AuditApi;
  /** The usage ledger: tokens and cost of model calls, recorded with the assistant messages they produced. */
  readonly usage: UsageApi;
  /** Daily token and cost budgets per tenant and per agent. */
  readonly budgets: BudgetsApi;
  /** Outgoing webhook endpoints: signed deliveries of the event log (made by `colloquy serve`). */
  readonly webhooks: WebhooksApi;
  /** Alerts raised and resolved by `colloquy serve` (its rules per tenant), and where they are e-mailed. */
  readonly alerts: AlertsApi;
  /** Conversations deleted, restorable until their retention ends. */
  readonly trash: TrashApi;
  /** Daily reports: per channel traffic, first response times, usage by agent, alerts raised. */
  readonly reports: ReportsApi;
  /** Time series for charts: channel traffic and usage per minute, hour or day. */
  readonly stats: StatsApi;
  /**
   * The context window of a conversation for its next model call: the newest messages that fit `maxTokens` with the
   * agent's instructions, working memory and the stored summary, as AI SDK `ModelMessage`s. Throws `not_found`.
   */
  context(conversationId: string, options: ContextOptions): Promise<ContextWindow>;
  /** The same API for another tenant, sharing this store's connections. */
  tenant(id: string): Store;
  /** The same store, naming `actor` (up to 100 characters) in the audit log for the changes made through it; default `library`. */
  as(actor: string): Store;
  /** Closes the connections of every tenant view (and the hot tier and event bus given to it). */
  close(): Promise<void>;
}

export type { AlertsApi, BudgetsApi, ReportsApi, StatsApi, TrashApi, UsageApi, WebhooksApi };
export type { AgentsApi, AuditApi, ChannelsApi, ContactsApi, ConversationsApi, EventsApi, IngestApi, KeysApi, MessagesApi, OperationsApi, StateApi };

const scopes = new WeakMap<Store, Scope>();

/** The tenant view of a store, for Colloquy's own modules (a channel reading its secrets); not public API. */
export const scopeOfStore = (store: Store): Scope => scopes.get(store)!;

export function createStore(context: StoreContext, tenant: string, actor?: string): Store {
  const s = scopeOf(context, tenant, actor);
  const store: Store = Object.freeze({
    tenantId: tenant,
    dialect: context.backend.dialect,
    contacts: contactsOf(s),
    channels: channelsOf(s),
    conversations: conversationsOf(s),
    messages: messagesOf(s),
    ingest: ingestOf(s),
    state: stateOf(s),
    agents: agentsOf(s),
    events: eventsOf(s),
    keys: keysOf(s),
    audit: auditOf(s),
    usage: usageOf(s),
    budgets: budgetsOf(s),
    webhooks: webhooksOf(s),
    alerts: alertsOf(s),
    trash: trashOf(s),
    reports: reportsOf(s),
    stats: statsOf(s),
    ...operationsOf(s),
    context: (conversationId: string, options: ContextOptions) => contextWindow(s, conversationId, options),
    tenant: (other: string) => createStore(context, other, actor),
    as: (who: string) => createStore(context, tenant, validate(ActorSchema, who, 'actor')),
    async close() {
      try {
        await context.backend.admin.close();
      } finally {
        try {
          await context.hot?.close();
        } finally {
          await context.onClose();
        }
      }
    },
  });
  scopes.set(store, s);
  return store;
}
