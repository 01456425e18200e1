import { isDeepStrictEqual } from 'node:util';
import { ColloquyError } from './errors.js';
import type { ConversationStatus, JsonObject } from './entities.js';

/**
 * The conversation rules, decided here and nowhere else in TypeScript. PostgreSQL's `colloquy_ingest` applies
 * the continuity rule inside its one round trip (migration 0001): the conformance suite holds both to the
 * same answers and the same errors.
 */

/**
 * Continuity: an inbound message that finds no open or waiting conversation for its contact on the channel
 * reopens the newest closed one if that was active within the reopen window (inclusive), else starts a new one
 * linked to it.
 */
export const reopens = (lastActivityAt: number, messageAt: number, reopenWindowMs: number): boolean =>
  messageAt - lastActivityAt <= reopenWindowMs;

export interface StateRecord {
  state: string | null;
  previousState: string | null;
  data: JsonObject;
  version: number;
}

/** Compare-and-set on the state version; `previousState` remembers the state before the last transition. */
export function nextState(
  current: StateRecord,
  input: { state?: string | null | undefined; data?: JsonObject | undefined; expectedVersion: number },
): StateRecord {
  assertVersion(input.expectedVersion, current.version, 'State');
  const transition = input.state !== undefined && input.state !== current.state;
  return {
    state: transition ? (input.state ?? null) : current.state,
    previousState: transition ? current.state : current.previousState,
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

export interface ConversationFields {
  status: ConversationStatus;
  title: string | null;
  agentId: string | null;
  agentPaused: boolean;
  metadata: JsonObject;
  closedAt: number | null;
}

/**
 * A conversation patch applied to its present fields: what the row becomes and which fields changed
 * (none: nothing is written, no version, no event). closedAt follows the status; metadata equal up to key
 * order is no change.
 */
export function patchConversation(
  current: ConversationFields,
  patch: { status?: ConversationStatus | undefined; title?: string | null | undefined; agentId?: string | null | undefined; agentPaused?: boolean | undefined; metadata?: JsonObject | undefined },
  now: number,
): { next: ConversationFields; changed: string[]; reopening: boolean } {
  const status = patch.status ?? current.status;
  const next: ConversationFields = {
    status,
    title: patch.title !== undefined ? patch.title : current.title,
    agentId: patch.agentId !== undefined ? patch.agentId : current.agentId,
    agentPaused: patch.agentPaused ?? current.agentPaused,
    metadata: patch.metadata !== undefined && !isDeepStrictEqual(patch.metadata, current.metadata) ? patch.metadata : current.metadata,
    closedAt: status !== 'closed' ? null : current.status === 'closed' ? current.closedAt : now,
  };
  const changed = (['status', 'title', 'agentId', 'agentPaused', 'metadata'] as const).filter((field) => next[field] !== current[field]);
  return { next, changed, reopening: current.status === 'closed' && status !== 'closed' };
}

export const conversationClosed = (id: string): ColloquyError =>
  new ColloquyError(
    'conversation_closed',
    `Conversation ${id} is closed: reopen it (status "open") before appending, or ingest the message so continuity rules apply.`,
    { id },
  );

/** The one-open-conversation rule broken, by whichever path found it: the same code and details everywhere. */
export const onePerPair = (): ColloquyError =>
  new ColloquyError(
    'conflict',
    'This contact already has an open or waiting conversation on this channel; close it first or append to it.',
    { reason: 'open_conversation_exists' },
  );

export const agentNameTaken = (name: string): ColloquyError =>
  new ColloquyError(
    'conflict',
    `An agent named "${name}" already exists in this tenant; pick another name or update that agent.`,
    { reason: 'agent_name_taken', name },
  );
