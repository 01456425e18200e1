import type { ModelMessage } from 'ai';
import type { Agent, Message } from '../domain/entities.js';
import { ContextOptionsSchema, type ContextOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import type { Scope } from '../store/scope.js';
import { tokenFactor } from './calibration.js';
import { toModelMessages } from './model-messages.js';
import { tokensOf, tokensOfText } from './tokens.js';

/** A context window: what to send a model for a conversation's next turn. */
export interface ContextWindow {
  /** The instructions: the agent's, the kept system messages, the working memory and the summary; null if none. */
  system: string | null;
  /** The kept messages, oldest first, as the AI SDK's `ModelMessage`s (system messages are in `system`). */
  messages: ModelMessage[];
  tokens: { total: number; instructions: number; memory: number; summary: number; messages: number };
  /** Older messages (after the summary, if any) did not fit and were left out. */
  truncated: boolean;
  /** The rolling summary of messages up to `summaryToSeq`, placed before the kept messages; null if none. */
  summary: string | null;
  summaryToSeq: number | null;
  /** The seq range of the kept messages; null when none were kept. */
  fromSeq: number | null;
  toSeq: number | null;
}

/** The first page read: a window of long messages fits in it; the next pages are sized from what the first held. */
const FIRST_PAGE = 24;
const MAX_PAGE = 1000;
const memoryText = (state: { state: string | null; data: unknown }) =>
  `Working memory of this conversation (update it with the update_state tool): ${JSON.stringify({ state: state.state, data: state.data })}`;
const summaryText = (summary: string) => `Summary of the earlier conversation:\n${summary}`;

/**
 * The newest messages that fit `maxTokens` together with the instructions, the memory (when the agent's
 * `params.memory` is on) and the stored summary. Token counts are read from the messages (counted at append):
 * assembling reads rows newest first and stops at the budget, so its cost follows the window, not the history.
 */
export async function contextWindow(s: Scope, conversationId: string, options: ContextOptions, agentGiven?: Agent | null): Promise<ContextWindow> {
  const key = s.id(conversationId, 'conversation');
  const o = validate(ContextOptionsSchema, options, 'context options');
  const optionAgent = o.agentId?.toLowerCase();
  // One round of independent reads (a round trip each on PostgreSQL), then what depends on them.
  const [conversation, summary, newest, agentByOption] = await Promise.all([
    s.backend.conversations.get(s.tenant, key),
    s.backend.summaries.get(s.tenant, key),
    s.backend.messages.list(s.tenant, key, { limit: FIRST_PAGE, order: 'desc' }),
    agentGiven === undefined && optionAgent ? s.backend.agents.get(s.tenant, optionAgent) : undefined,
  ]);
  s.found(conversation, 'conversation', key);
  const agentId = optionAgent ?? conversation!.agentId;
  const agent = agentGiven !== undefined ? agentGiven
    : agentId ? s.found(agentByOption ?? (await s.backend.agents.get(s.tenant, agentId)), 'agent', agentId) : null;
  const factor = tokenFactor(agent?.model);
  const scaled = (n: number) => Math.ceil(n * factor);
  const state = agent?.params.memory === true ? await s.backend.states.get(s.tenant, key) : undefined;
  const instructions = agent?.instructions ?? '';
  const memory = state ? memoryText(state) : '';
  const summaryBlock = summary ? summaryText(summary.content) : '';
  const tokens = {
    instructions: scaled(await tokensOfText(instructions)), memory: scaled(await tokensOfText(memory)), summary: scaled(await tokensOfText(summaryBlock)), messages: 0, total: 0,
  };
  let budget = o.maxTokens - tokens.instructions - tokens.memory - tokens.summary;
  const floor = summary?.toSeq ?? 0;
  const kept: Message[] = [];
  const systemKept: string[] = [];
  let truncated = false;
  let rows = s.found(newest, 'conversation', key);
  let asked = FIRST_PAGE;
  reading: for (;;) {
    for (const m of rows) {
      if (m.seq <= floor) break reading;
      const size = scaled(m.tokens ?? (await tokensOf(m)));
      if (size > budget || (o.lastMessages !== undefined && kept.length >= o.lastMessages)) {
        truncated = true;
        break reading;
      }
      budget -= size;
      if (m.role === 'system') {
        systemKept.unshift(m.content);
        tokens.instructions += size;
      } else tokens.messages += size;
      kept.push(m);
    }
    if (rows.length < asked || rows.at(-1)!.seq <= floor + 1) break;
    // As many more as the budget left would hold at the average size so far, and a margin: rarely a third read.
    const average = (tokens.messages + tokens.instructions) / Math.max(1, kept.length);
    asked = Math.min(MAX_PAGE, Math.max(FIRST_PAGE, Math.ceil((budget / Math.max(1, average)) * 1.25) + 8));
    if (o.lastMessages !== undefined) asked = Math.min(asked, o.lastMessages - kept.length + 1);
    rows = s.found(await s.backend.messages.list(s.tenant, key, { after: floor, before: rows.at(-1)!.seq, limit: asked, order: 'desc' }), 'conversation', key);
  }
  kept.reverse();
  tokens.total = tokens.instructions + tokens.memory + tokens.summary + tokens.messages;
  const system = [instructions, ...systemKept, memory, summaryBlock].filter((part) => part !== '').join('\n\n');
  return {
    system: system || null,
    messages: toModelMessages(kept),
    tokens,
    truncated,
    summary: summary?.content ?? null,
    summaryToSeq: summary?.toSeq ?? null,
    fromSeq: kept[0]?.seq ?? null,
    toSeq: kept.at(-1)?.seq ?? null,
  };
}
