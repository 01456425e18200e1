import { ColloquyError } from './errors.js';
import type { ConversationStatus, JsonObject } from './types.js';

/**
 * Continuity: which conversation an inbound message joins, given the contact's conversations on the channel.
 * - an open/waiting one exists → join it;
 * - the newest closed one was active within the reopen window → reopen it;
 * - otherwise → start a new one linked to the newest closed one (if any).
 */
export function continuity(
  open: boolean,
  lastActivityAt: number | undefined,
  messageAt: number,
  reopenWindowMs: number,
): 'join' | 'reopen' | 'new' {
  if (open) return 'join';
  if (lastActivityAt !== undefined && messageAt - lastActivityAt <= reopenWindowMs) return 'reopen';
  return 'new';
}

export interface StateRowLike {
  state: string | null;
  previous_state: string | null;
  data: JsonObject;
  version: number;
}

/** Compare-and-set on the state version; `previousState` remembers the state before the last transition. */
export function nextState(
  current: StateRowLike,
  input: { state?: string | null | undefined; data?: JsonObject | undefined; expectedVersion: number },
): StateRowLike {
  if (input.expectedVersion !== current.version) {
    throw new ColloquyError(
      'version_mismatch',
      `State version is ${current.version}, not ${input.expectedVersion}: read the state again and retry your change.`,
      { expectedVersion: input.expectedVersion, currentVersion: current.version },
    );
  }
  const transition = input.state !== undefined && input.state !== current.state;
  return {
    state: transition ? (input.state ?? null) : current.state,
    previous_state: transition ? current.state : current.previous_state,
    data: input.data ?? current.data,
    version: current.version + 1,
  };
}

export function assertVersion(expected: number | undefined, current: number, what: string): void {
  if (expected !== undefined && expected !== current) {
    throw new ColloquyError(
      'version_mismatch',
      `${what} version is ${current}, not ${expected}: read it again and retry your change.`,
      { expectedVersion: expected, currentVersion: current },
    );
  }
}

/** When a conversation's status changes, closedAt follows it. */
export function closedAtFor(status: ConversationStatus, previous: ConversationStatus, previousClosedAt: number | null, now: number): number | null {
  if (status === 'closed') return previous === 'closed' ? previousClosedAt : now;
  return null;
}

export const conversationClosed = (id: string): ColloquyError =>
  new ColloquyError(
    'conversation_closed',
    `Conversation ${id} is closed: reopen it (status "open") before appending, or ingest the message so continuity rules apply.`,
    { id },
  );

export const onePerPair = (): ColloquyError =>
  new ColloquyError(
    'conflict',
    'This contact already has an open or waiting conversation on this channel; close it first or append to it.',
    { reason: 'open_conversation_exists' },
  );
