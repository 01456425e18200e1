import type * as E from '../domain/entities.js';

/**
 * The part of the storage contract that agents use (`backend.ts` composes it): chat turns, the usage ledger,
 * budgets and rolling summaries. The conventions of `backend.ts` hold here too; times are epoch ms.
 */

/** Totals of the usage ledger over some records. `cost` sums the records that have one. */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  cost: number;
}

/** The usage ledger; records are written by `messages.append` / `outbox.append` with the message they belong to. */
export interface UsageRepository {
  /** Records a model call that produced no message (a summary), with its `usage.recorded` event. */
  record(tenant: string, conversationId: string | null, record: { id: string; usage: E.Usage; now: number }): Promise<void>;
  /** What the tenant (agentId null) or one agent spent since `from`. */
  spent(tenant: string, agentId: string | null, from: number): Promise<UsageTotals>;
  /**
   * Totals in [from, to) grouped by agent id, model, conversation id, or by quarter hour (the key is the bucket's
   * start in epoch ms, as a string; days in any timezone fold from these). Groups without records are absent.
   */
  grouped(tenant: string, by: 'agent' | 'model' | 'conversation' | 'quarter', range: { from: number; to: number }, filter?: { agentId?: string | undefined }): Promise<Array<UsageTotals & { key: string | null }>>;
}

export interface BudgetRecord {
  scope: string;
  config: E.JsonObject;
  /** The budget day (YYYY-MM-DD in its timezone) on which economy mode / the limit was announced; null: never. */
  economyDay: string | null;
  exceededDay: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface BudgetRepository {
  /** Undefined when the scope has no budget. */
  get(tenant: string, scope: string): Promise<BudgetRecord | undefined>;
  list(tenant: string): Promise<BudgetRecord[]>;
  /** Creates or replaces the budget of a scope (what was announced today stays announced). */
  put(tenant: string, scope: string, config: E.JsonObject, now: number): Promise<BudgetRecord>;
  /** False when the scope had none. */
  delete(tenant: string, scope: string): Promise<boolean>;
  /**
   * Records that `level` was reached on `day`, with its event, once: true for the one caller (of a fleet) that
   * recorded it, false when it was already recorded for that day or the budget is gone.
   */
  mark(tenant: string, scope: string, level: 'economy' | 'exceeded', day: string, event: E.JsonObject, now: number): Promise<boolean>;
}

export type TurnState = 'scheduled' | 'running' | 'done' | 'failed';

/** A turn: an agent answering one user message. */
export interface TurnRecord {
  tenant: string;
  messageId: string;
  conversationId: string;
  agentId: string;
  state: TurnState;
  dueAt: number;
  owner: string | null;
  leaseUntil: number | null;
  replyId: string | null;
  error: E.JsonObject | null;
}

export type TurnOutcome = { replyId: string } | { error: E.JsonObject; retryAt?: number } | { skipped: E.JsonObject & { reason: string } };

/** What `begin` found. */
export type TurnStart =
  /** The caller holds the turn until its lease ends: call the model. */
  | { outcome: 'claimed' }
  /** The message was answered already: `replyId` is the assistant message. */
  | { outcome: 'done'; replyId: string }
  /** A turn of the conversation (this message's, or another's) runs under a live lease: wait and begin again. */
  | { outcome: 'busy'; messageId: string };

/**
 * Chat turns, one at a time per conversation across a fleet: a turn runs only under a live lease, and at most one
 * running turn per conversation holds one. A turn whose holder died is taken over once its lease ran out; its reply
 * is appended under the idempotency key `replyKey`, so a taken-over turn whose reply was stored finds it (`done`).
 */
export interface TurnRepository {
  /**
   * Starts the turn answering `messageId` (a user message of the conversation), or says why not. `held`: the caller
   * claimed this turn already (`claimDue`, as `owner`), so its own lease does not make it busy. Throws `not_found` for
   * a missing conversation.
   */
  begin(tenant: string, turn: { conversationId: string; messageId: string; agentId: string; replyKey: string; owner: string; leaseMs: number; now: number; held?: boolean }): Promise<TurnStart>;
  /** Extends the holder's lease; false when it lost it. */
  renew(messageId: string, owner: string, until: number): Promise<boolean>;
  /**
   * Ends the holder's turn: answered by `replyId`; failed, with an `agent.error` event (a later `begin` of the message
   * runs it again; with `retryAt`, it is scheduled again for then); or skipped without an answer (`reason`; an
   * `agent.refused` event when the reason is `budget_exceeded`).
   */
  finish(messageId: string, owner: string, outcome: TurnOutcome, now: number): Promise<void>;
  /**
   * Schedules an automatic reply to `messageId` at `dueAt`. A turn of the conversation still scheduled is replaced
   * (a burst from one contact gets one answer, to its newest message); false when the message has a turn already.
   */
  schedule(tenant: string, turn: { conversationId: string; messageId: string; agentId: string; dueAt: number; now: number }): Promise<boolean>;
  /**
   * Claims, for `owner`, up to `limit` turns due: scheduled ones whose time came and running ones whose holder's
   * lease ran out, skipping conversations with another turn running. Instances claiming at once get different turns.
   */
  claimDue(options: { owner: string; leaseMs: number; now: number; limit: number }): Promise<TurnRecord[]>;
  get(tenant: string, messageId: string): Promise<TurnRecord | undefined>;
  /** The user message of the conversation stored under `idempotencyKey` and its answer, when it was answered. */
  answered(tenant: string, conversationId: string, idempotencyKey: string): Promise<{ userMessageId: string; replyId: string } | undefined>;
  /**
   * Conversations of the channel whose newest message is a user message since `since` with no turn, not closed and
   * not paused: inbound messages whose turn was never scheduled (the process stopped in between).
   */
  unanswered(tenant: string, channelId: string, since: number, limit: number): Promise<Array<{ conversationId: string; messageId: string; createdAt: number }>>;
}

export interface SummaryRecord {
  content: string;
  /** The summary covers the conversation's messages up to this seq. */
  toSeq: number;
  tokens: number;
  model: string;
  updatedAt: number;
}

export interface SummaryRepository {
  get(tenant: string, conversationId: string): Promise<SummaryRecord | undefined>;
  /** Stores a summary when it covers more than the stored one (a slower summariser never installs an older one); false otherwise. */
  put(tenant: string, conversationId: string, summary: SummaryRecord): Promise<boolean>;
}
