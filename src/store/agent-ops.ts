import type { SummaryRecord, TurnOutcome, TurnRecord, TurnStart, UsageTotals } from '../backends/backend.js';
import type { Channel, IngestResult } from '../domain/entities.js';
import type { Conversation, JsonObject, Message, Usage } from '../domain/entities.js';
import { isColloquyError } from '../domain/errors.js';
import { cacheKey } from './cache-keys.js';
import { newId } from '../domain/ids.js';
import type { UsageInput } from '../domain/inputs.js';
import { usageOf, type PriceTable } from '../domain/usage.js';
import { scopeOfStore, type Store } from './store.js';

/**
 * What agents (`src/agents/`) need of the store beyond its public API: turns, summaries, budget marks and what was
 * spent. Internal: not exported from the package. Writes go through the backend and update the hot tier and live
 * readers as the public API does.
 */
export interface AgentOps {
  /** A conversation with this id for the agent, created when missing (a retried first request finds the one it made). */
  conversationFor(id: string, agentId: string, chatId: string | null): Promise<Conversation>;
  byChatId(agentId: string, chatId: string): Promise<Conversation | undefined>;
  beginTurn(turn: { conversationId: string; messageId: string; agentId: string; replyKey: string; owner: string; leaseMs: number; held?: boolean }): Promise<TurnStart>;
  renewTurn(messageId: string, owner: string, leaseMs: number): Promise<boolean>;
  finishTurn(messageId: string, owner: string, outcome: TurnOutcome): Promise<void>;
  scheduleTurn(turn: { conversationId: string; messageId: string; agentId: string; dueAt: number }): Promise<boolean>;
  turn(messageId: string): Promise<TurnRecord | undefined>;
  /** The user message stored under `idempotencyKey` and its answer, when it was answered. */
  storedAnswer(conversationId: string, idempotencyKey: string): Promise<{ userMessage: Message; reply: Message } | undefined>;
  summary(conversationId: string): Promise<SummaryRecord | undefined>;
  putSummary(conversationId: string, summary: SummaryRecord): Promise<boolean>;
  spent(agentId: string | null, from: number): Promise<UsageTotals>;
  /** Records the usage of a model call that produced no message (a summary), priced by `prices` over the store's. */
  recordUsage(conversationId: string | null, usage: UsageInput, prices?: PriceTable): Promise<Usage>;
  /** A usage as given → as recorded: priced by `prices` over the store's table. */
  priced(usage: UsageInput, prices?: PriceTable): Usage;
  markBudget(scope: string, level: 'economy' | 'exceeded', day: string, event: JsonObject): Promise<boolean>;
  now(): number;
}

export function agentOps(store: Store): AgentOps {
  const s = scopeOfStore(store);
  const { backend, tenant: t } = s;
  return {
    async conversationFor(id, agentId, chatId) {
      const existing = await backend.conversations.get(t, id);
      if (existing) return existing;
      try {
        const created = await backend.conversations.create(t, { id, contactId: null, channelId: null, agentId, title: null, metadata: {}, status: 'open', chatId, now: s.clock() });
        await s.settle(() => [{ op: 'invalidate', keys: [cacheKey.conversation(t, id)] }]);
        return s.changed(created);
      } catch (error) {
        // Two first requests at once: one created it, the other takes it.
        if (!isColloquyError(error, 'conflict')) throw error;
        const raced = (await backend.conversations.get(t, id)) ?? (chatId ? await backend.conversations.byChatId(t, agentId, chatId) : undefined);
        if (!raced) throw error;
        return raced;
      }
    },
    byChatId: (agentId, chatId) => backend.conversations.byChatId(t, agentId, chatId),
    beginTurn: (turn) => backend.turns.begin(t, { ...turn, now: s.clock() }),
    renewTurn: (messageId, owner, leaseMs) => backend.turns.renew(messageId, owner, s.clock() + leaseMs),
    async finishTurn(messageId, owner, outcome) {
      await backend.turns.finish(messageId, owner, outcome, s.clock());
      if (!('replyId' in outcome)) s.changed(undefined);
    },
    async scheduleTurn(turn) {
      return backend.turns.schedule(t, { ...turn, now: s.clock() });
    },
    turn: (messageId) => backend.turns.get(t, messageId),
    async storedAnswer(conversationId, idempotencyKey) {
      const ids = await backend.turns.answered(t, conversationId, idempotencyKey);
      if (!ids) return undefined;
      const [userMessage, reply] = await Promise.all([backend.messages.get(t, ids.userMessageId), backend.messages.get(t, ids.replyId)]);
      return userMessage && reply ? { userMessage, reply } : undefined;
    },
    summary: (conversationId) => backend.summaries.get(t, conversationId),
    putSummary: (conversationId, summary) => backend.summaries.put(t, conversationId, summary),
    spent: (agentId, from) => backend.usage.spent(t, agentId, from),
    async recordUsage(conversationId, input, prices) {
      const usage = usageOf(input, { ...s.prices, ...prices });
      await backend.usage.record(t, conversationId, { id: newId(), usage, now: s.clock() });
      s.changed(undefined);
      return usage;
    },
    priced: (input, prices) => usageOf(input, { ...s.prices, ...prices }),
    async markBudget(scope, level, day, event) {
      const marked = await backend.budgets.mark(t, scope, level, day, event, s.clock());
      if (marked) s.changed(undefined);
      return marked;
    },
    now: () => s.clock(),
  };
}

/** What the automatic replies need across tenants. Internal. */
export function autoReplyOps(store: Store) {
  const s = scopeOfStore(store);
  let listener: ((tenant: string, result: IngestResult) => Promise<void>) | undefined;
  return {
    /** Every channel of every tenant. */
    async *channels(): AsyncGenerator<{ tenant: string; channel: Channel }> {
      let after: string | undefined;
      for (;;) {
        const page = await s.backend.channels.all(after, 200);
        yield* page;
        if (page.length < 200) return;
        after = page.at(-1)!.channel.id;
      }
    },
    unanswered: (tenant: string, channelId: string, since: number, limit: number) => s.backend.turns.unanswered(tenant, channelId, since, limit),
    claimDue: (owner: string, leaseMs: number, limit: number) => s.backend.turns.claimDue({ owner, leaseMs, now: s.clock(), limit }),
    listen(fn: (tenant: string, result: IngestResult) => Promise<void>, log: (message: string, error?: unknown) => void) {
      listener = (tenant, result) => fn(tenant, result).catch((error: unknown) => log(`could not schedule the automatic reply to message ${result.message.id}`, error));
      s.inboundListeners.add(listener);
    },
    unlisten() {
      if (listener) s.inboundListeners.delete(listener);
    },
  };
}
