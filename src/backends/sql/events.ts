import type { EventType, JsonObject } from '../../domain/entities.js';
import { ColloquyError } from '../../domain/errors.js';
import type { SqlRunner } from './sql.js';

/** One event row, written in the transaction of the change it records. */
export const EVENT_INSERT = 'INSERT INTO events (tenant_id, type, conversation_id, data, created_at) VALUES (?, ?, ?, ?, ?)';

export interface NewEvent {
  type: EventType;
  conversationId: string | null;
  data: JsonObject;
  now: number;
}

export const writeEvent = (sql: SqlRunner, tenant: string, event: NewEvent): Promise<number> =>
  sql.run(EVENT_INSERT, [tenant, event.type, event.conversationId, JSON.stringify(event.data), event.now]);

/**
 * Deletes the events of erased conversations and writes the erasure's own event, inside the erasure's
 * transaction, after the rows themselves were deleted. Engine-specific: event ids and their order differ.
 */
export type EraseEvents = (sql: SqlRunner, tenant: string, conversationIds: string[], event: NewEvent) => Promise<void>;

/** An event cursor that is not one (each engine has its own form). */
export const badEventCursor = (after: string): ColloquyError =>
  new ColloquyError('invalid_argument', `Invalid event cursor "${after}": pass back the id of an event you received.`, { after });
