import type { AlertRecord, BudgetRecord, NewAlert } from '../backends/backend.js';
import { effectiveRules, type AlertRules } from '../domain/alert.js';
import { scopeOfStore, type Store } from './store.js';

/**
 * What the alert monitor (`src/alerts/`) needs of the store beyond its public API, across tenants (and the
 * deployment's own alerts, tenant `*`): raising and clearing by rule and subject, and each tenant's rules and
 * addresses. Internal: not exported from the package.
 */
export interface AlertOps {
  raise(tenant: string, alert: NewAlert): Promise<AlertRecord | undefined>;
  clear(tenant: string, rule: string, subject: string, holdDownMs: number): Promise<AlertRecord | undefined>;
  /** The open alerts of a tenant (or `*`). */
  open(tenant: string): Promise<AlertRecord[]>;
  tenants(): Promise<string[]>;
  /** The tenant's budgets with the days their economy and limit were announced. */
  budgets(tenant: string): Promise<BudgetRecord[]>;
  /** The rules in force and the addresses of a tenant. */
  settings(tenant: string): Promise<{ rules: ReturnType<typeof effectiveRules>; emails: string[] }>;
  clock(): number;
}

export function alertOps(store: Store): AlertOps {
  const s = scopeOfStore(store);
  const { backend } = s;
  return {
    raise: (tenant, alert) => backend.alerts.raise(tenant, alert).then((raised) => {
      if (raised) s.signal.emit(tenant);
      return raised;
    }),
    clear: (tenant, rule, subject, holdDownMs) => backend.alerts.clear(tenant, rule, subject, s.clock(), holdDownMs).then((resolved) => {
      if (resolved) s.signal.emit(tenant);
      return resolved;
    }),
    async open(tenant) {
      const all: AlertRecord[] = [];
      for (let before: AlertRecord | undefined; ;) {
        const page = await backend.alerts.list(tenant, { status: 'open', before, limit: 500 });
        all.push(...page);
        if (page.length < 500) return all;
        before = page.at(-1);
      }
    },
    tenants: () => backend.alerts.tenants(),
    budgets: (tenant) => backend.budgets.list(tenant),
    async settings(tenant) {
      const saved = await backend.alerts.settings(tenant);
      return { rules: effectiveRules((saved?.rules ?? {}) as AlertRules), emails: saved?.emails ?? [] };
    },
    clock: () => s.clock(),
  };
}
