import type { Page, StoreEvent } from '../domain/entities.js';
import { EventListSchema, type EventListOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

export interface EventsApi {
  /**
   * The durable event log in delivery order, after the event id `after`; `limit` 1–1000, default 100. An event's
   * id is its cursor: `nextCursor` (the last id, when the page is full) goes back in as `after`.
   */
  list(options?: EventListOptions): Promise<Page<StoreEvent>>;
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
      // A log grows while it is read: a full page says there may be more (the next page may come back empty).
      const data = await s.backend.events.list(s.tenant, { after: v.after, limit, conversationId: v.conversationId?.toLowerCase() });
      return { data, nextCursor: data.length === limit ? data.at(-1)!.id : null };
    },
    onChange: (listener) => s.signal.on(s.tenant, listener),
  };
}
