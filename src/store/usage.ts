import Type, { type Static } from 'typebox';
import type { UsageTotals } from '../backends/backend.js';
import { assertTimezone, budgetDay } from '../domain/budget.js';
import { ColloquyError } from '../domain/errors.js';
import { StringEnum } from '../domain/entities.js';
import { TimestampSchema } from '../domain/inputs.js';
import { toEpochMs, validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

export const UsageQuerySchema = Type.Object({
  from: Type.Optional({ ...TimestampSchema, description: 'Start (inclusive). Default: 30 days before `to`.' }),
  to: Type.Optional({ ...TimestampSchema, description: 'End (exclusive). Default: now.' }),
  groupBy: Type.Optional({ ...StringEnum(['day', 'agent', 'model', 'conversation']), description: 'Default `day`.' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Whose days `groupBy=day` counts. Default UTC.' })),
}, { additionalProperties: false });
export type UsageQuery = Static<typeof UsageQuerySchema>;

export interface UsageGroup extends UsageTotals {
  /** The day (YYYY-MM-DD), agent id, model or conversation id; null for records without an agent or conversation. */
  key: string | null;
}

export interface UsageReport {
  from: string;
  to: string;
  groupBy: 'day' | 'agent' | 'model' | 'conversation';
  groups: UsageGroup[];
  total: UsageTotals;
}

export interface UsageApi {
  /** The usage ledger's totals over [from, to), grouped; days in `timezone`. */
  report(query?: UsageQuery): Promise<UsageReport>;
}

const DAY_MS = 86_400_000;
const zero = (): UsageTotals => ({ calls: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, totalTokens: 0, cost: 0 });
const add = (into: UsageTotals, more: UsageTotals) => {
  for (const k of Object.keys(into) as Array<keyof UsageTotals>) into[k] += more[k];
};
const roundCost = (t: UsageTotals) => ({ ...t, cost: Math.round(t.cost * 1e9) / 1e9 });

export function usageOf(s: Scope): UsageApi {
  return {
    async report(query = {}) {
      const q = validate(UsageQuerySchema, query, 'usage query');
      const now = s.clock();
      // A range, not a message's time: any instant may bound it (the default, `to`, includes this very millisecond).
      const to = toEpochMs(q.to, 'to', now + 1, Infinity);
      const from = toEpochMs(q.from, 'from', to - 30 * DAY_MS, Infinity);
      if (from >= to) throw new ColloquyError('invalid_argument', '"from" must be before "to".', { errors: [{ path: '/from', message: 'is not before to' }] });
      if (to - from > 400 * DAY_MS) throw new ColloquyError('invalid_argument', 'A usage report covers at most 400 days: narrow "from" and "to".', { errors: [{ path: '/from', message: 'more than 400 days before to' }] });
      const timezone = q.timezone ?? 'UTC';
      assertTimezone(timezone);
      const groupBy = q.groupBy ?? 'day';
      const total = zero();
      let groups: UsageGroup[];
      if (groupBy === 'day') {
        const days = new Map<string, UsageGroup>();
        for (const bucket of await s.backend.usage.grouped(s.tenant, 'quarter', { from, to })) {
          const day = budgetDay(Number(bucket.key), timezone).day;
          const group = days.get(day) ?? { key: day, ...zero() };
          add(group, bucket);
          days.set(day, group);
        }
        groups = [...days.values()].sort((a, b) => (a.key! < b.key! ? -1 : 1));
      } else {
        groups = await s.backend.usage.grouped(s.tenant, groupBy, { from, to });
      }
      for (const g of groups) add(total, g);
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), groupBy, groups: groups.map((g) => ({ ...roundCost(g), key: g.key })), total: roundCost(total) };
    },
  };
}
