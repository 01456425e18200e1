import Type, { type Static } from 'typebox';
import { ColloquyError } from './errors.js';

const Closed = { additionalProperties: false } as const;

/** A daily budget (`PUT /v1/budgets/:scope`): when both limits are set, the first reached counts. */
export const BudgetSchema = Type.Object({
  dailyTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e15, description: 'Total tokens (input + output) a day.' })),
  dailyCost: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1e9, description: 'US dollars a day, priced by the price table (`COLLOQUY_PRICES`).' })),
  economyAt: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'The share of a limit from which agents run in economy mode. Default 0.8.' })),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA timezone whose midnight starts a budget day. Default UTC.' })),
  economy: Type.Optional(Type.Object({
    maxContextTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    lastMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: '`<provider>:<model id>` to use instead, e.g. a cheaper one.' })),
    maxOutputTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  }, { ...Closed, description: 'What economy mode changes. Default: half the context, at most 10 messages, at most 256 output tokens.' })),
  whenExceeded: Type.Optional(Type.Union([
    Type.Literal('refuse'),
    Type.Object({ reply: Type.String({ minLength: 1, maxLength: 4096 }) }, Closed),
  ], { description: '`refuse` (default): a chat answers 429 `budget_exceeded`, a channel gets no automatic reply; `{ reply }`: a channel gets that fixed reply.' })),
}, { ...Closed, title: 'Budget' });
export type Budget = Static<typeof BudgetSchema>;

export const BUDGET_SCOPE = /^(tenant|agent:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

/** `tenant` or `agent:<id>` (the id lower-cased), or `invalid_argument`. */
export function budgetScope(scope: string): string {
  if (!BUDGET_SCOPE.test(scope)) {
    throw new ColloquyError('invalid_argument', `Invalid budget scope "${scope}": use "tenant" or "agent:<agent id>".`, { errors: [{ path: '/scope', message: 'is not tenant or agent:<id>' }] });
  }
  return scope.toLowerCase();
}

export function assertTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ColloquyError('invalid_argument', `Unknown timezone "${timezone}": use an IANA name such as UTC, Europe/Lisbon or America/Sao_Paulo.`, { errors: [{ path: '/timezone', message: 'is not an IANA timezone' }] });
  }
}

/** The offset of `timezone` from UTC at instant `at`, in ms. */
function offsetAt(at: number, timezone: string): number {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(at).map((p) => [p.type, p.value]));
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return local - Math.floor(at / 1000) * 1000;
}

/** The budget day containing `now` in `timezone`: its date (YYYY-MM-DD), its start and the next day's start (epoch ms). */
export function budgetDay(now: number, timezone: string): { day: string; start: number; end: number } {
  const local = new Date(now + offsetAt(now, timezone));
  const [y, m, d] = [local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate()];
  const midnight = (year: number, month: number, date: number) => {
    const guess = Date.UTC(year, month, date);
    const first = guess - offsetAt(guess, timezone);
    return guess - offsetAt(first, timezone); // again at the instant found, for a day on which the offset changes
  };
  return { day: local.toISOString().slice(0, 10), start: midnight(y, m, d), end: midnight(y, m, d + 1) };
}
