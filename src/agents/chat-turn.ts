// One concept in one file, though over 300 lines: the chat turn. Its steps (prepare, claim, execute, and the JSON and
// streamed answers) share the runner's lease, waiters and usage listeners; split apart they would hand that state
// from file to file, and a reader checking "never two model calls for one message" would follow it across them.
import { createHash, randomUUID } from 'node:crypto';
import { createUIMessageStream, generateText, NoOutputGeneratedError, stepCountIs, streamText, type ModelMessage, type ToolSet, type UIMessageChunk } from 'ai';
import { calibrate } from '../context/calibration.js';
import type { Agent, Conversation, Json, Message, Usage } from '../domain/entities.js';
import { ColloquyError, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { agentOps } from '../store/agent-ops.js';
import { contextWindow } from '../context/context-window.js';
import { scopeOfStore, type Store } from '../store/store.js';
import { budgetExceeded, budgetPlan, type BudgetPlan } from './budget-plan.js';
import { modelError } from './model-errors.js';
import type { Model, Providers } from './providers.js';
import { paramsOf } from './agent-params.js';
import { memoryTools } from './memory-tool.js';
import { maybeSummarize } from './summarize.js';

/** What a chat request asks: a message for a conversation (new when no id) of the agent. */
export interface ChatRequest {
  conversationId?: string | undefined;
  /** A `useChat` client's chat id (not a conversation id): the agent's conversation with it, created on first use. */
  chatId?: string | undefined;
  message: { id?: string | undefined; content: string; parts?: Json[] | undefined };
  /** The `Idempotency-Key` header; the message id wins. */
  idempotencyKey?: string | undefined;
}

export interface ChatAnswer {
  conversation: Conversation;
  userMessage: Message;
  assistantMessage: Message;
  usage: Usage | null;
  /** The message was answered before: this is the stored answer, and no model was called. */
  duplicate: boolean;
}

export interface ChatTurnsConfig {
  providers: Providers;
  /** How long a turn may take, waiting for an earlier turn included. */
  timeoutMs: number;
  /** This instance's name in turn leases. */
  owner: string;
  /** A holder that stops renewing loses its turn after this long (then another may take it over). Default 30 s. */
  leaseMs?: number;
}

/** A turn ready to run: the user message is stored. */
interface Prepared {
  store: Store;
  agent: Agent;
  /** Null for an answered message (`stored`): no model is called. */
  model: Model | null;
  modelName: string;
  conversation: Conversation;
  userMessage: Message;
  plan: BudgetPlan;
  deadline: number;
  /** The turn was claimed already, by this instance (an automatic reply), as `owner`. */
  held?: boolean;
  /** The turn's holder in its lease: unique per turn attempt. */
  owner: string;
  /** The stored answer of a message answered before. */
  stored?: Message;
}

const NORMAL_PLAN: BudgetPlan = { level: 'normal', scope: null, budget: null, resetAt: null };
const leaseLost = (p: { userMessage: Message }) => new ColloquyError('upstream_timeout',
  `The turn answering message ${p.userMessage.id} lost its lease (this instance stalled); another instance answers it. Retry with the same message id to get its answer.`, { messageId: p.userMessage.id });

/** A conversation id derived from the agent and the message key: a retried first request (no conversation id yet) finds the conversation it created. */
function derivedId(tenant: string, agentId: string, key: string): string {
  const h = createHash('sha256').update(`${tenant}\0${agentId}\0${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const textOf = (content: ModelMessage['content']): string => (typeof content === 'string' ? content
  : content.map((p) => (p.type === 'text' ? p.text : '')).join(''));

/**
 * Chat turns: a user message stored idempotently, then one model call (with its tool steps) answering it, the answer
 * stored with its usage. Turns of one conversation run one at a time across a fleet (a lease in the database); a
 * retried request waits for the turn in flight or gets the stored answer, and never calls the model again. The turn
 * runs to its end whatever the client does; its answer is stored when the model finishes.
 */
export function createChatTurns(config: ChatTurnsConfig) {
  const leaseMs = config.leaseMs ?? 30_000;
  const usageListeners = new Set<(usage: Usage) => void>();
  const waiters = new Map<string, Set<() => void>>();
  const wake = (conversationId: string) => {
    for (const resolve of waiters.get(conversationId) ?? []) resolve();
    waiters.delete(conversationId);
  };
  /** Until a turn of the conversation ends here, or `ms` pass (a turn on another instance is polled). */
  const waitTurn = (conversationId: string, ms: number) => new Promise<void>((resolve) => {
    const set = waiters.get(conversationId) ?? new Set();
    waiters.set(conversationId, set);
    const done = () => {
      clearTimeout(timer);
      set.delete(done);
      if (set.size === 0 && waiters.get(conversationId) === set) waiters.delete(conversationId);
      resolve();
    };
    const timer = setTimeout(done, ms);
    set.add(done);
  });

  /**
   * Resolves agent and conversation; an answered message's retry ends here (whatever the budget or the provider
   * says now). Else checks the budget and the model, and stores the user message (before any model call).
   */
  async function prepare(store: Store, agentId: string, request: ChatRequest): Promise<Prepared> {
    const deadline = Date.now() + config.timeoutMs;
    const owner = `${config.owner}:${randomUUID().slice(0, 8)}`;
    const agent = await store.agents.get(agentId);
    if (!agent) throw notFound('agent', agentId);
    const ops = agentOps(store);
    const key = request.message.id ?? request.idempotencyKey;
    let conversation: Conversation | undefined;
    let createAs: { id: string; chatId: string | null } | undefined;
    if (request.conversationId !== undefined) {
      conversation = (await store.conversations.get(request.conversationId)) ?? undefined;
      if (!conversation) throw notFound('conversation', request.conversationId);
    } else if (request.chatId !== undefined) {
      conversation = await ops.byChatId(agent.id, request.chatId);
      createAs = { id: derivedId(store.tenantId, agent.id, `chat:${request.chatId}`), chatId: request.chatId };
    } else {
      createAs = { id: key !== undefined ? derivedId(store.tenantId, agent.id, `message:${key}`) : newId(), chatId: null };
      conversation = key !== undefined ? (await store.conversations.get(createAs.id)) ?? undefined : undefined;
    }
    if (conversation && key !== undefined) {
      const stored = await ops.storedAnswer(conversation.id, key);
      if (stored) return { store, agent, model: null, modelName: agent.model, conversation, userMessage: stored.userMessage, plan: NORMAL_PLAN, deadline, owner, stored: stored.reply };
    }
    const plan = await budgetPlan(store, agent);
    if (plan.level === 'exceeded') throw budgetExceeded(plan);
    const modelName = plan.level === 'economy' && plan.budget?.economy?.model ? plan.budget.economy.model : agent.model;
    const model = await config.providers.languageModel(modelName);
    conversation ??= await ops.conversationFor(createAs!.id, agent.id, createAs!.chatId);
    const appended = await store.messages.append(conversation.id, {
      role: 'user', content: request.message.content, ...(request.message.parts ? { parts: request.message.parts } : {}), ...(key !== undefined ? { idempotencyKey: key } : {}),
    });
    return { store, agent, model, modelName, conversation, userMessage: appended.message, plan, deadline, owner };
  }

  /** Waits for the conversation to be free; `claimed`, or the stored reply of an answered message. */
  async function claim(p: Prepared): Promise<{ claimed: true } | { reply: Message }> {
    if (p.stored) return { reply: p.stored };
    const ops = agentOps(p.store);
    for (;;) {
      const start = await ops.beginTurn({ conversationId: p.conversation.id, messageId: p.userMessage.id, agentId: p.agent.id, replyKey: replyKeyOf(p.userMessage), owner: p.owner, leaseMs, held: p.held === true });
      if (start.outcome === 'claimed') return { claimed: true };
      if (start.outcome === 'done') {
        const reply = await p.store.messages.get(start.replyId);
        if (!reply) throw new ColloquyError('conflict', `The answer to message ${p.userMessage.id} was deleted.`, { messageId: p.userMessage.id });
        return { reply };
      }
      const left = p.deadline - Date.now();
      if (left <= 0) {
        throw new ColloquyError('upstream_timeout', `Another turn of conversation ${p.conversation.id} is still running (message ${start.messageId}); retry later with the same message id.`, { conversationId: p.conversation.id });
      }
      // A turn this instance claimed stays its own while it waits for the conversation's running one.
      if (p.held && !(await ops.renewTurn(p.userMessage.id, p.owner, leaseMs))) throw leaseLost(p);
      await waitTurn(p.conversation.id, Math.min(250, left));
    }
  }

  /**
   * Runs the claimed turn: the model streams (`result`, for a client that listens), and `answer` settles when the
   * answer is stored (or the turn failed, with nothing stored). The model's stream is consumed to its end whether
   * or not anybody reads `result`.
   */
  async function execute(p: Prepared, streamed: boolean) {
    const ops = agentOps(p.store);
    const params = paramsOf(p.agent);
    const economy = p.plan.level === 'economy' ? p.plan.budget?.economy ?? {} : undefined;
    const maxTokens = economy ? economy.maxContextTokens ?? Math.max(1, Math.floor(params.maxContextTokens / 2)) : params.maxContextTokens;
    const abort = new AbortController();
    let lost = false;
    // A lease that could not be renewed is another instance's by now: this one stops, and stores nothing.
    const renewal = setInterval(() => void ops.renewTurn(p.userMessage.id, p.owner, leaseMs).then((kept) => {
      if (!kept) {
        lost = true;
        abort.abort();
      }
    }, () => {}), Math.max(1000, leaseMs / 3));
    const timer = setTimeout(() => abort.abort(), Math.max(1, p.deadline - Date.now()));
    const settle = () => {
      clearInterval(renewal);
      clearTimeout(timer);
      wake(p.conversation.id);
    };
    /** A failed turn: recorded here, unless its claimer (an automatic reply) records it, with its retry. */
    const failed = async (error: unknown): Promise<ColloquyError> => {
      const mapped = lost ? leaseLost(p) : modelError(error, abort.signal.aborted);
      if (!p.held) await ops.finishTurn(p.userMessage.id, p.owner, { error: { code: mapped.code, message: mapped.message } }).catch(() => {});
      return mapped;
    };
    try {
      if (params.summarize) await maybeSummarize(p, config.providers, maxTokens, abort.signal);
      const window = await contextWindow(scopeOfStore(p.store), p.conversation.id, { maxTokens, ...(economy ? { lastMessages: economy.lastMessages ?? 10 } : {}) }, p.agent);
      const tools: ToolSet | undefined = params.memory ? memoryTools(p.store, p.conversation.id) : undefined;
      const estimated = window.tokens.total;
      let streamError: unknown;
      if (window.fromSeq === null || window.fromSeq > p.userMessage.seq) {
        throw new ColloquyError('provider_rejected', `Message ${p.userMessage.id} does not fit the agent's context window of ${maxTokens} tokens with its instructions: send a shorter message, or raise the agent's params.maxContextTokens.`, { maxTokens, messageTokens: p.userMessage.tokens });
      }
      const settings = {
        model: p.model!,
        ...(window.system ? { system: window.system } : {}),
        messages: window.messages,
        ...(tools ? { tools, stopWhen: stepCountIs(params.maxSteps) } : {}),
        ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
        ...((economy ? economy.maxOutputTokens ?? 256 : params.maxOutputTokens) !== undefined ? { maxOutputTokens: economy ? economy.maxOutputTokens ?? 256 : params.maxOutputTokens } : {}),
        maxRetries: 1,
        abortSignal: abort.signal,
      };
      // A JSON turn needs no stream (streaming a mock model costs 2 ms more than generating); a streamed one is
      // consumed to its end whoever reads it.
      const result = streamed ? streamText({
        ...settings,
        // The stream's own error: its promises then reject with a NoOutputGeneratedError that does not carry it.
        onError: ({ error }) => { streamError ??= error; },
      }) : undefined;
      const outcome = result
        ? Promise.all([result.response, result.totalUsage, result.steps])
        : generateText(settings).then((r) => [r.response, r.totalUsage, r.steps] as const);
      const answer = (async (): Promise<ChatAnswer> => {
        try {
          const [response, total, steps] = await outcome;
          await storeToolSteps(p, response.messages);
          const last = steps.at(-1);
          if (!last?.text) throw new ColloquyError('upstream_error', `The model gave no answer in words (it ended on ${last?.finishReason === 'tool-calls' ? `tool calls after ${params.maxSteps} steps: raise params.maxSteps` : `"${last?.finishReason ?? 'nothing'}"`}); its tool steps are stored. Retry with the same message id.`, {});
          const { provider: _provider, ...usage } = ops.priced({
            model: p.modelName, agentId: p.agent.id, inputTokens: total.inputTokens ?? 0, outputTokens: total.outputTokens ?? 0,
            cachedInputTokens: total.inputTokenDetails?.cacheReadTokens ?? total.cachedInputTokens ?? 0,
            reasoningTokens: total.outputTokenDetails?.reasoningTokens ?? total.reasoningTokens ?? 0,
          }, params.prices);
          const reply = await p.store.messages.append(p.conversation.id, {
            role: 'assistant', content: last.text, idempotencyKey: replyKeyOf(p.userMessage), usage,
            metadata: { agentId: p.agent.id, replyTo: p.userMessage.id, ...(p.plan.level === 'economy' ? { economy: true } : {}), finishReason: last.finishReason },
          });
          await ops.finishTurn(p.userMessage.id, p.owner, { replyId: reply.message.id });
          if (!reply.duplicate && reply.message.usage) for (const listener of usageListeners) listener(reply.message.usage);
          if (last.usage.inputTokens) calibrate(p.modelName, estimated, last.usage.inputTokens);
          return { conversation: (await p.store.conversations.get(p.conversation.id)) ?? p.conversation, userMessage: p.userMessage, assistantMessage: reply.message, usage: reply.message.usage, duplicate: false };
        } catch (error) {
          throw await failed(NoOutputGeneratedError.isInstance(error) ? error.cause ?? streamError ?? error : error);
        } finally {
          settle();
        }
      })();
      answer.catch(() => {}); // a listener that left does not make it unhandled
      return { result, answer, aborted: () => abort.signal.aborted };
    } catch (error) {
      const mapped = await failed(error);
      settle();
      throw mapped;
    }
  }

  const answered = async (p: Prepared, reply: Message): Promise<ChatAnswer> => ({
    conversation: (await p.store.conversations.get(p.conversation.id)) ?? p.conversation, userMessage: p.userMessage, assistantMessage: reply, usage: reply.usage, duplicate: true,
  });

  /** Waits for its turn, then runs it to the stored answer (or the stored one of an answered message). */
  async function answer(p: Prepared): Promise<ChatAnswer> {
    const claimed = await claim(p);
    if ('reply' in claimed) return answered(p, claimed.reply);
    return (await execute(p, false)).answer;
  }

  return {
    prepare,
    answer,
    /** Told of each answer's usage as it is stored (the metrics); returns the way to stop. */
    onUsage(listener: (usage: Usage) => void): () => void {
      usageListeners.add(listener);
      return () => usageListeners.delete(listener);
    },
    /** A turn this instance claimed (`claimDue`) for a user message already stored (an automatic reply), under a budget plan already read. */
    async preparedFor(store: Store, t: { agent: Agent; conversation: Conversation; userMessage: Message; plan: BudgetPlan; owner: string }): Promise<Prepared> {
      const modelName = t.plan.level === 'economy' && t.plan.budget?.economy?.model ? t.plan.budget.economy.model : t.agent.model;
      return { store, ...t, modelName, model: await config.providers.languageModel(modelName), deadline: Date.now() + config.timeoutMs, held: true };
    },
    /** A JSON turn: the stored answer. */
    async chat(store: Store, agentId: string, request: ChatRequest): Promise<ChatAnswer> {
      return answer(await prepare(store, agentId, request));
    },
    /**
     * A streamed turn, as the AI SDK UI message stream (what `useChat` reads), for a prepared turn. The message
     * metadata of `start` names the conversation and user message; that of `finish` adds the stored answer and usage.
     */
    stream(p: Prepared): ReadableStream<UIMessageChunk> {
      const meta = { conversationId: p.conversation.id, userMessageId: p.userMessage.id };
      let aborted = () => false;
      return createUIMessageStream({
        async execute({ writer }) {
          const write = (chunk: UIMessageChunk) => {
            try {
              writer.write(chunk);
            } catch {
              // the client left: the turn goes on
            }
          };
          const claimed = await claim(p);
          if ('reply' in claimed) {
            const a = await answered(p, claimed.reply);
            write({ type: 'start', messageMetadata: meta });
            write({ type: 'text-start', id: 'stored' });
            write({ type: 'text-delta', id: 'stored', delta: a.assistantMessage.content });
            write({ type: 'text-end', id: 'stored' });
            write({ type: 'finish', messageMetadata: { ...meta, assistantMessageId: a.assistantMessage.id, usage: a.usage, duplicate: true } });
            return;
          }
          const run = await execute(p, true);
          aborted = run.aborted;
          const result = run.result!;
          void Promise.resolve(result.consumeStream()).catch(() => {});
          for await (const chunk of result.toUIMessageStream({ sendFinish: false, messageMetadata: ({ part }) => (part.type === 'start' ? meta : undefined), onError: (error) => modelError(error, run.aborted()).message })) {
            write(chunk as UIMessageChunk);
          }
          let a: ChatAnswer;
          try {
            a = await run.answer;
          } catch {
            return; // the stream carried the error part
          }
          write({ type: 'finish', messageMetadata: { ...meta, assistantMessageId: a.assistantMessage.id, usage: a.usage, duplicate: false } });
        },
        onError: (error) => modelError(error, aborted()).message,
      });
    },
  };
}

export type ChatTurns = ReturnType<typeof createChatTurns>;

/** The idempotency key of the answer to a user message: a turn taken over after a crash finds the answer stored. */
export const replyKeyOf = (userMessage: Pick<Message, 'id'>) => `reply:${userMessage.id}`;


/** Each step that called tools, stored as one `tool` message: the calls and their results, so the history replays. */
async function storeToolSteps(p: Prepared, messages: ModelMessage[]): Promise<void> {
  let step = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role !== 'assistant' || typeof m.content === 'string' || !m.content.some((part) => part.type === 'tool-call')) continue;
    const next = messages[i + 1];
    const results = next?.role === 'tool' ? next.content : [];
    const parts = [...m.content, ...results].filter((part) => part.type === 'text' || part.type === 'tool-call' || part.type === 'tool-result');
    await p.store.messages.append(p.conversation.id, {
      role: 'tool', content: textOf(m.content), parts: JSON.parse(JSON.stringify(parts)) as Json[], idempotencyKey: `tools:${p.userMessage.id}:${step++}`,
      metadata: { agentId: p.agent.id, replyTo: p.userMessage.id },
    });
  }
}
