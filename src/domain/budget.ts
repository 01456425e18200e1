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

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The local date (YYYY-MM-DD) of instant `at` in `timezone`. */
function localDate(at: number, timezone: string): string {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timezone, f);
  }
  return f.format(at);
}

const hours = new Map<string, Intl.DateTimeFormat>();
/** The local wall-clock hour (0–23) of instant `at` in `timezone`: on a day that daylight saving shortens or lengthens, not the hours since midnight. */
export function localHour(at: number, timezone: string): number {
  let f = hours.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' });
    if (hours.size > 1000) hours.clear();
    hours.set(timezone, f);
  }
  return Number(f.format(at));
}

const MINUTE = 60_000;
const starts = new Map<string, number>();
/**
 * The first instant of local date `day` in `timezone`: the first minute whose local date is `day`, searched within
 * 15 h of its UTC midnight (every offset is within ±14 h). A search rather than arithmetic on offsets, so that a day
 * that starts at 01:00 (daylight saving begins at midnight: Santiago, Havana, Beirut) starts when it does.
 */
export function dayStart(day: string, timezone: string): number {
  const key = `${timezone} ${day}`;
  const known = starts.get(key);
  if (known !== undefined) return known;
  const utcMidnight = Date.parse(`${day}T00:00:00Z`);
  let lo = (utcMidnight - 15 * 3_600_000) / MINUTE;
  let hi = (utcMidnight + 15 * 3_600_000) / MINUTE;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(mid * MINUTE, timezone) >= day) hi = mid;
    else lo = mid + 1;
  }
  if (starts.size > 10_000) starts.clear();
  starts.set(key, lo * MINUTE);
  return lo * MINUTE;
}

/** The budget day containing `now` in `timezone`: its date (YYYY-MM-DD), its start and the next day's start (epoch ms). */
export function budgetDay(now: number, timezone: string): { day: string; start: number; end: number } {
  const day = localDate(now, timezone);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  return { day, start: dayStart(day, timezone), end: dayStart(next, timezone) };
}
