import type { Page, StoreEvent } from '../domain/entities.js';
import { EventListSchema, type EventListOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

export interface EventsApi {
  /**
   * The durable event log in delivery order, after the event id `after`; `limit` 1–1000, default 100. The log
   * grows while it is read, so `nextCursor` is where to go on from — the last event's id, or `after` again when
   * nothing is new — and goes back in as `after` (null only for an empty log read from its start).
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
      const data = await s.backend.events.list(s.tenant, { after: v.after, limit, conversationId: v.conversationId?.toLowerCase() });
      return { data, nextCursor: data.at(-1)?.id ?? v.after ?? null };
    },
    onChange: (listener) => s.signal.on(s.tenant, listener),
  };
}
