import { budgetDay, type Budget } from '../domain/budget.js';
import type { Agent } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { agentOps } from '../store/agent-ops.js';
import type { Store } from '../store/store.js';

export type BudgetLevel = 'normal' | 'economy' | 'exceeded';

/** How a turn must run under the budgets of its tenant and agent. */
export interface BudgetPlan {
  level: BudgetLevel;
  /** The budget that set the level (the most severe one), when one did. */
  scope: string | null;
  budget: Budget | null;
  /** When the level's budget day ends (ISO). */
  resetAt: string | null;
}

const NORMAL: BudgetPlan = { level: 'normal', scope: null, budget: null, resetAt: null };
const RANK: Record<BudgetLevel, number> = { normal: 0, economy: 1, exceeded: 2 };

/**
 * Reads the day's spending of the tenant and of the agent from the usage ledger (in the database: a restart or
 * another instance sees the same) against their budgets. The first time a day reaches economy or its limit, a
 * `budget.economy` / `budget.exceeded` event is written, once across a fleet.
 */
export async function budgetPlan(store: Store, agent: Agent): Promise<BudgetPlan> {
  const ops = agentOps(store);
  let plan = NORMAL;
  for (const scope of ['tenant', `agent:${agent.id}`]) {
    const view = await store.budgets.get(scope);
    if (!view || (view.dailyTokens === undefined && view.dailyCost === undefined)) continue;
    const { day, start, end } = budgetDay(ops.now(), view.timezone ?? 'UTC');
    const spent = await ops.spent(scope === 'tenant' ? null : agent.id, start);
    const share = Math.max(view.dailyTokens ? spent.totalTokens / view.dailyTokens : 0, view.dailyCost ? spent.cost / view.dailyCost : 0);
    const level: BudgetLevel = share >= 1 ? 'exceeded' : share >= (view.economyAt ?? 0.8) ? 'economy' : 'normal';
    if (level !== 'normal') {
      await ops.markBudget(scope, level, day, {
        scope, agentId: agent.id, day, tokens: spent.totalTokens, cost: Math.round(spent.cost * 1e9) / 1e9,
        ...(view.dailyTokens ? { dailyTokens: view.dailyTokens } : {}), ...(view.dailyCost ? { dailyCost: view.dailyCost } : {}), resetAt: new Date(end).toISOString(),
      });
    }
    if (RANK[level] > RANK[plan.level]) plan = { level, scope, budget: view, resetAt: new Date(end).toISOString() };
  }
  return plan;
}

export const budgetExceeded = (plan: BudgetPlan): ColloquyError => new ColloquyError('budget_exceeded',
  `The ${plan.scope === 'tenant' ? "tenant's" : "agent's"} daily budget is spent: chats are refused until ${plan.resetAt}. Raise it with PUT /v1/budgets/${plan.scope}.`,
  { scope: plan.scope, resetAt: plan.resetAt });
