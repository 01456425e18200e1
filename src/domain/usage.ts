import type { Usage } from './entities.js';
import type { UsageInput } from './inputs.js';

/**
 * Prices in US dollars per million tokens, by `<provider>:<model>` (`COLLOQUY_PRICES` names a JSON file of this
 * shape; agent params may carry their own `prices`). Cached input tokens are billed at `cachedInputPerMTok` when it
 * is given, else as input.
 */
export type PriceTable = Record<string, { inputPerMTok: number; outputPerMTok: number; cachedInputPerMTok?: number }>;

/** The cost of a call, or null when its model has no price. */
export function costOf(prices: PriceTable | undefined, model: string, u: { inputTokens: number; outputTokens: number; cachedInputTokens: number }): number | null {
  const price = prices?.[model] ?? prices?.[model.toLowerCase()];
  if (!price) return null;
  const cached = Math.min(u.cachedInputTokens, u.inputTokens);
  const dollars = ((u.inputTokens - cached) * price.inputPerMTok + cached * (price.cachedInputPerMTok ?? price.inputPerMTok) + u.outputTokens * price.outputPerMTok) / 1e6;
  return Math.round(dollars * 1e9) / 1e9;
}

/** A usage as given → as stored: the provider from the model's prefix, totals and cost filled in. */
export function usageOf(input: UsageInput, prices: PriceTable | undefined): Usage {
  const cachedInputTokens = input.cachedInputTokens ?? 0;
  const reasoningTokens = input.reasoningTokens ?? 0;
  const counts = { inputTokens: input.inputTokens, outputTokens: input.outputTokens, cachedInputTokens };
  return {
    provider: input.provider ?? (input.model.includes(':') ? input.model.slice(0, input.model.indexOf(':')).toLowerCase() : 'unknown'),
    model: input.model,
    agentId: input.agentId?.toLowerCase() ?? null,
    ...counts,
    reasoningTokens,
    totalTokens: input.totalTokens ?? input.inputTokens + input.outputTokens,
    cost: input.cost !== undefined ? input.cost : costOf(prices, input.model, counts),
  };
}
