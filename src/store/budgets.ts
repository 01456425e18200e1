import type { BudgetRecord } from '../backends/backend.js';
import { assertTimezone, budgetScope, BudgetSchema, type Budget } from '../domain/budget.js';
import { notFound } from '../domain/errors.js';
import { validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

/** A budget as answered: its scope, what was set, and when. */
export interface BudgetView extends Budget {
  scope: string;
  createdAt: string;
  updatedAt: string;
}

export interface BudgetsApi {
  /** Null when the scope (`tenant` or `agent:<id>`) has no budget. */
  get(scope: string): Promise<BudgetView | null>;
  list(): Promise<BudgetView[]>;
  /** Sets (replaces) a scope's budget. Throws `not_found` for an agent that does not exist. */
  put(scope: string, budget: Budget): Promise<BudgetView>;
  /** False when the scope had none. */
  delete(scope: string): Promise<boolean>;
}

const viewOf = (r: BudgetRecord): BudgetView => ({
  scope: r.scope, ...(r.config as Budget), createdAt: new Date(r.createdAt).toISOString(), updatedAt: new Date(r.updatedAt).toISOString(),
});

export function budgetsOf(s: Scope): BudgetsApi {
  const { backend, tenant: t } = s;
  return {
    async get(scope) {
      const record = await backend.budgets.get(t, budgetScope(scope));
      return record ? viewOf(record) : null;
    },
    async list() {
      return (await backend.budgets.list(t)).map(viewOf);
    },
    async put(scope, budget) {
      const key = budgetScope(scope);
      const v = validate(BudgetSchema, budget, 'budget');
      if (v.timezone !== undefined) assertTimezone(v.timezone);
      if (key.startsWith('agent:') && !(await backend.agents.get(t, key.slice(6)))) throw notFound('agent', key.slice(6));
      return s.changed(viewOf(await backend.budgets.put(t, key, v as Record<string, never>, s.clock())));
    },
    async delete(scope) {
      return backend.budgets.delete(t, budgetScope(scope));
    },
  };
}
