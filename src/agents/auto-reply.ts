import { randomUUID } from 'node:crypto';
import type { TurnRecord } from '../backends/backend.js';
import type { Channel, IngestResult } from '../domain/entities.js';
import { isColloquyError } from '../domain/errors.js';
import { agentOps, autoReplyOps } from '../store/agent-ops.js';
import type { Store } from '../store/store.js';
import { budgetPlan } from './budget-plan.js';
import { replyKeyOf, type ChatTurns } from './chat-turn.js';

export interface AutoRepliesConfig {
  /** The store (any tenant's view: turns are claimed across tenants). */
  store: Store;
  turns: ChatTurns;
  /** This instance's name in turn leases: the same as the turns runner's. */
  owner: string;
  /** A worker that stops renewing loses its turn after this long. Default 30 s. */
  leaseMs?: number | undefined;
  /** How often due turns are looked for when nothing woke the worker. Default 500 ms. */
  pollMs?: number | undefined;
  /** How often inbound messages left without a turn (the process stopped in between) are looked for. Default 10 s. */
  sweepMs?: number | undefined;
  log?: ((message: string, error?: unknown) => void) | undefined;
}

export const DEFAULT_REPLY_DEBOUNCE_MS = 1500;
/** Failed automatic replies (the provider down) are tried again this many times, 30 s × 4^n apart. */
const RETRIES = 3;
/** Turns this instance runs at once; more wait in the database. */
const MAX_IN_FLIGHT = 8;
/** Inbound messages older than this are not answered by the sweep: a reply days late is worse than none. */
const SWEEP_WINDOW_MS = 3_600_000;

const agentIdOf = (config: Record<string, unknown>): string | undefined => (typeof config.agentId === 'string' ? config.agentId.toLowerCase() : undefined);

/**
 * Agents answering channels: a channel whose `config.agentId` names an agent answers each stored inbound message
 * (never a duplicate) with one agent turn, scheduled durably in the database after a short debounce
 * (`config.replyDebounceMs`, default 1500: a burst from one contact gets one answer, to its newest message). The
 * answer is appended as an assistant message and leaves through the channel's outbox. Exactly one reply, whatever
 * crashes: an inbound message whose turn was never scheduled is found by a sweep; a turn whose instance died is
 * taken over when its lease runs out; a taken-over turn whose answer was stored finds it by its idempotency key
 * rather than answering again. Conversations with `agentPaused` get no automatic reply.
 */
export function createAutoReplies(config: AutoRepliesConfig) {
  const log = config.log ?? (() => {});
  const leaseMs = config.leaseMs ?? 30_000;
  const pollMs = config.pollMs ?? 500;
  const sweepMs = config.sweepMs ?? 10_000;
  const ops = autoReplyOps(config.store);
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();
  // Channel settings, each at most a second old: every inbound message reads its channel's.
  const channelCache = new Map<string, { until: number; value: Promise<Channel | null> }>();
  const channelOf = (tenant: string, id: string): Promise<Channel | null> => {
    const key = `${tenant}\0${id}`;
    const hit = channelCache.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    if (channelCache.size > 10_000) channelCache.clear();
    const value = config.store.tenant(tenant).channels.get(id);
    channelCache.set(key, { until: Date.now() + 1000, value });
    value.catch(() => channelCache.delete(key));
    return value;
  };

  /** Schedules the reply to a stored inbound message, if its channel has an agent. */
  async function onInbound(tenant: string, result: IngestResult): Promise<void> {
    if (result.duplicate || !result.conversation.channelId || result.conversation.agentPaused) return;
    const channel = await channelOf(tenant, result.conversation.channelId);
    const agentId = channel && agentIdOf(channel.config);
    if (!agentId) return;
    const debounce = typeof channel.config.replyDebounceMs === 'number' ? channel.config.replyDebounceMs : DEFAULT_REPLY_DEBOUNCE_MS;
    await agentOps(config.store.tenant(tenant)).scheduleTurn({
      conversationId: result.conversation.id, messageId: result.message.id, agentId, dueAt: Date.now() + debounce,
    });
    setTimeout(() => wake?.(), debounce + 5).unref();
  }

  /** Inbound messages whose turn was never scheduled (a crash between the two), on every channel with an agent. */
  async function sweep(): Promise<void> {
    const now = Date.now();
    for await (const { tenant, channel } of ops.channels()) {
      const agentId = agentIdOf(channel.config);
      if (!agentId) continue;
      const debounce = typeof channel.config.replyDebounceMs === 'number' ? channel.config.replyDebounceMs : DEFAULT_REPLY_DEBOUNCE_MS;
      const store = config.store.tenant(tenant);
      for (const missed of await ops.unanswered(tenant, channel.id, now - SWEEP_WINDOW_MS, 100)) {
        // Younger than its debounce (and a margin): the inbound path is still scheduling it.
        if (missed.createdAt > now - debounce - 5000) continue;
        await agentOps(store).scheduleTurn({ conversationId: missed.conversationId, messageId: missed.messageId, agentId, dueAt: now });
      }
    }
  }

  /** Runs a turn claimed as `owner` (a name of this claim alone, so that nothing else here takes it for its own). */
  async function run(turn: TurnRecord, owner: string): Promise<void> {
    const store = config.store.tenant(turn.tenant);
    const tops = agentOps(store);
    const skip = (reason: string, more: Record<string, string | null> = {}) => tops.finishTurn(turn.messageId, owner, { skipped: { reason, ...more } });
    try {
      const [agent, conversation, userMessage] = await Promise.all([
        store.agents.get(turn.agentId), store.conversations.get(turn.conversationId), store.messages.get(turn.messageId),
      ]);
      if (!agent || !conversation || !userMessage) return await skip(!agent ? 'agent_missing' : 'message_missing');
      if (conversation.agentPaused) return await skip('paused');
      if (conversation.status === 'closed') return await skip('closed');
      const plan = await budgetPlan(store, agent);
      if (plan.level === 'exceeded') {
        const fixed = plan.budget?.whenExceeded;
        if (fixed && typeof fixed === 'object') {
          const reply = await store.messages.append(conversation.id, { role: 'assistant', content: fixed.reply, idempotencyKey: replyKeyOf(userMessage), metadata: { agentId: agent.id, replyTo: userMessage.id, budget: 'exceeded' } });
          return await tops.finishTurn(turn.messageId, owner, { replyId: reply.message.id });
        }
        return await skip('budget_exceeded', { scope: plan.scope, resetAt: plan.resetAt });
      }
      await config.turns.answer(await config.turns.preparedFor(store, { agent, conversation, userMessage, plan, owner }));
    } catch (error) {
      const attempts = Number(turn.error?.attempts ?? 0) + 1;
      const retryable = isColloquyError(error, 'upstream_error') || isColloquyError(error, 'upstream_timeout') || isColloquyError(error, 'unavailable');
      log(`automatic reply to message ${turn.messageId} failed${retryable && attempts <= RETRIES ? '; it will be tried again' : ''}`, error);
      const code = isColloquyError(error) ? error.code : 'internal';
      const message = error instanceof Error ? error.message : String(error);
      await tops.finishTurn(turn.messageId, owner, {
        error: { code, message, attempts }, ...(retryable && attempts <= RETRIES ? { retryAt: Date.now() + 30_000 * 4 ** (attempts - 1) } : {}),
      }).catch((e: unknown) => log('could not record a failed automatic reply', e));
    }
  }

  async function work(): Promise<void> {
    while (running) {
      try {
        const room = MAX_IN_FLIGHT - inFlight.size;
        const owner = `${config.owner}:${randomUUID().slice(0, 8)}`;
        const due = room > 0 ? await ops.claimDue(owner, leaseMs, room) : [];
        for (const turn of due) {
          const p = run(turn, owner).finally(() => {
            inFlight.delete(p);
            wake?.();
          });
          inFlight.add(p);
        }
        if (due.length) continue;
      } catch (error) {
        log('could not claim due agent turns', error);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, pollMs);
      });
      clearTimeout(timer);
      wake = undefined;
    }
  }

  return {
    onInbound,
    start(): void {
      if (running) return;
      running = true;
      ops.listen(onInbound, log);
      loop = work();
      const sweepNow = () => void sweep().catch((error: unknown) => log('could not look for unanswered inbound messages', error));
      sweepNow();
      sweeper = setInterval(sweepNow, sweepMs);
      sweeper.unref();
    },
    async stop(): Promise<void> {
      running = false;
      ops.unlisten();
      clearInterval(sweeper);
      wake?.();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
    /** For tests: one sweep now. */
    sweep,
  };
}

export type AutoReplies = ReturnType<typeof createAutoReplies>;
