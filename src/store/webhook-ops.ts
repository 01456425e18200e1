import type { NewWebhookAttempt, WebhookEndpointRecord, WebhookProgress } from '../backends/backend.js';
import type { StoreEvent } from '../domain/entities.js';
import { scopeOfStore, type Store } from './store.js';
import { openWebhookSecret } from './webhooks.js';

/** An event of the log with its backend position (the cursor) beside the id receivers see. */
export interface PositionedEvent {
  raw: string;
  event: StoreEvent;
}

/**
 * What the webhook deliverer (`src/webhooks/`) needs of the store beyond its public API, across tenants: leases
 * and cursors of endpoints, the log by backend position, signing secrets in the clear. Internal: not exported.
 */
export interface WebhookOps {
  /** An endpoint of the tenant, by id (any case); undefined when there is none. */
  get(tenant: string, id: string): Promise<WebhookEndpointRecord | undefined>;
  /** Deliveries may go to loopback and private addresses. */
  readonly allowPrivate: boolean;
  /** The enabled endpoints of every tenant. */
  enabled(): Promise<Array<{ tenant: string; id: string }>>;
  /** Takes or renews the endpoint's lease for `leaseMs` from now (`backend.webhooks.claim`). */
  claim(tenant: string, id: string, owner: string, leaseMs: number): Promise<WebhookEndpointRecord | undefined>;
  release(tenant: string, id: string, owner: string): Promise<void>;
  progress(tenant: string, endpoint: WebhookEndpointRecord, owner: string, state: WebhookProgress, attempts: NewWebhookAttempt[]): Promise<boolean>;
  record(tenant: string, id: string, attempts: NewWebhookAttempt[]): Promise<void>;
  /** The tenant's events after the position `after`, in delivery order. */
  events(tenant: string, after: string | null, limit: number): Promise<PositionedEvent[]>;
  /** The secrets that sign now (the current one, and the previous one until it expires), in the clear. */
  secrets(tenant: string, endpoint: WebhookEndpointRecord): string[];
  /** Calls `listener` when the tenant's log may have grown; returns the unsubscribe. */
  onChange(tenant: string, listener: () => void): () => void;
  /** Forgets attempts older than `ageMs`, and all but the newest `keep` of each endpoint. */
  prune(ageMs: number, keep: number): Promise<number>;
  /** The store of a tenant (one view per tenant, made once). */
  tenant(tenant: string): Store;
  clock(): number;
}

export function webhookOps(store: Store): WebhookOps {
  const base = scopeOfStore(store);
  const { backend } = base;
  const views = new Map<string, Store>();
  const view = (tenant: string): Store => {
    let known = views.get(tenant);
    if (!known) {
      if (views.size >= 10_000) views.clear();
      known = store.tenant(tenant);
      views.set(tenant, known);
    }
    return known;
  };
  return {
    get: (tenant, id) => backend.webhooks.get(tenant, id.toLowerCase()),
    allowPrivate: base.allowPrivateWebhooks,
    enabled: () => backend.webhooks.enabled(),
    claim: (tenant, id, owner, leaseMs) => {
      const now = base.clock();
      return backend.webhooks.claim(tenant, id, owner, now + leaseMs, now);
    },
    release: (tenant, id, owner) => backend.webhooks.release(tenant, id, owner),
    progress: (tenant, endpoint, owner, state, attempts) => backend.webhooks.progress(tenant, endpoint.id, owner, endpoint.generation, state, attempts, base.clock()),
    record: (tenant, id, attempts) => backend.webhooks.record(tenant, id, attempts),
    async events(tenant, after, limit) {
      const ids = await base.eventIds.forTenant(tenant);
      const rows = await backend.events.list(tenant, { after: after ?? undefined, limit });
      return rows.map((event) => ({ raw: event.id, event: { ...event, id: ids.encode(event.id) } }));
    },
    secrets(tenant, endpoint) {
      const now = base.clock();
      const s = scopeOfStore(view(tenant));
      return endpoint.secrets.filter((x) => x.expiresAt === null || x.expiresAt > now).map((x) => openWebhookSecret(s, endpoint.id, x));
    },
    onChange: (tenant, listener) => base.signal.on(tenant, listener),
    prune: (ageMs, keep) => backend.webhooks.prune(base.clock() - ageMs, keep),
    tenant: view,
    clock: () => base.clock(),
  };
}
