import type { Agent } from '../domain/entities.js';
import type { PriceTable } from '../domain/usage.js';

/**
 * The agent `params` a chat turn reads; others are kept and ignored. A value of the wrong type is ignored too (the
 * default applies), so that an agent created before a parameter existed keeps working.
 */
export interface AgentParams {
  /** The context budget of a turn, in tokens (instructions, memory, summary and messages). Default 8000. */
  maxContextTokens: number;
  maxOutputTokens: number | undefined;
  temperature: number | undefined;
  /** Model calls a turn may make when tools are used. Default 5. */
  maxSteps: number;
  /** The conversation state is the agent's working memory: in its instructions, updatable by its `update_state` tool. */
  memory: boolean;
  /** Messages that no longer fit are folded into a rolling summary. */
  summarize: boolean;
  /** The model that writes summaries (`<provider>:<model id>`); default the agent's. */
  summaryModel: string | undefined;
  /** Prices for this agent's models, over `COLLOQUY_PRICES`. */
  prices: PriceTable | undefined;
}

const int = (value: unknown, min: number, max: number): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max ? value : undefined;

export function paramsOf(agent: Agent): AgentParams {
  const p = agent.params;
  return {
    maxContextTokens: int(p.maxContextTokens, 1, 10_000_000) ?? 8000,
    maxOutputTokens: int(p.maxOutputTokens, 1, 1_000_000),
    temperature: typeof p.temperature === 'number' && p.temperature >= 0 && p.temperature <= 2 ? p.temperature : undefined,
    maxSteps: int(p.maxSteps, 1, 20) ?? 5,
    memory: p.memory === true,
    summarize: p.summarize === true,
    summaryModel: typeof p.summaryModel === 'string' ? p.summaryModel : undefined,
    prices: p.prices !== null && typeof p.prices === 'object' && !Array.isArray(p.prices) ? p.prices as unknown as PriceTable : undefined,
  };
}
