import type { Page, StoreEvent } from '../domain/entities.js';
import { EventListSchema, type EventListOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

export interface EventsApi {
  /**
   * The durable event log in delivery order, after the event id `after`; `limit` 1–1000, default 100. The log
   * grows while it is read, so `nextCursor` is where to go on from — the last event's id, or `after` again when
   * nothing is new — and goes back in as `after` (null only for an empty log read from its start). Event ids are
   * opaque and the tenant's own: they say nothing of other tenants' activity.
   */
  list(options?: EventListOptions): Promise<Page<StoreEvent>>;
  /**
   * Where a live reader begins: every event not yet readable comes after it (null: the log's start). Ask for it
   * before reading the state to show, then follow `after` it: nothing is missed, and little is replayed.
   */
  head(): Promise<string | null>;
  /**
   * The log after `after` (of one conversation, if given), live: batches of events in delivery order as they
   * are written, here or on any instance of a fleet, until `stop` aborts. Followers of a tenant in one process
   * share one read of the log per change, however many they are.
   */
  follow(options: { after?: string | undefined; conversationId?: string | undefined; stop: AbortSignal }): AsyncGenerator<StoreEvent[]>;
  /**
   * Calls `listener` when this process (or, in a fleet, another instance) may have added events for this
   * tenant; returns the unsubscribe. A wake-up hint for live readers, not a delivery: read the log when woken.
   */
  onChange(listener: () => void): () => void;
}

export function eventsOf(s: Scope): EventsApi {
  return {
    async list(options = {}) {
      const v = validate(EventListSchema, options, 'event list options');
      const limit = v.limit ?? 100;
      const ids = await s.eventIds.forTenant(s.tenant);
      const after = v.after === undefined ? undefined : ids.decode(v.after);
      const rows = await s.backend.events.list(s.tenant, { after, limit, conversationId: v.conversationId?.toLowerCase() });
      const data = rows.map((event) => ({ ...event, id: ids.encode(event.id) }));
      return { data, nextCursor: data.at(-1)?.id ?? v.after ?? null };
    },
    async head() {
      const head = await s.backend.events.head(s.tenant);
      return head === null ? null : (await s.eventIds.forTenant(s.tenant)).encode(head);
    },
    follow(options) {
      const v = validate(EventListSchema, { ...(options.after !== undefined ? { after: options.after } : {}), ...(options.conversationId !== undefined ? { conversationId: options.conversationId } : {}) }, 'event follow options');
      return s.tails.follow(s.tenant, { after: v.after, conversationId: v.conversationId?.toLowerCase(), stop: options.stop });
    },
    onChange: (listener) => s.signal.on(s.tenant, listener),
  };
}
