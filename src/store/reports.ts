import Type, { type Static } from 'typebox';
import { assertTimezone, budgetDay, dayStart } from '../domain/budget.js';
import type { JsonObject } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { validate } from '../domain/validate.js';
import { alertView } from './alerts.js';
import type { Scope } from './scope.js';

const Count = Type.Integer({ minimum: 0 });
const ChannelDay = Type.Object({
  channelId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  received: Count, stored: Count, duplicates: Count, rejected: Count,
  errors: Type.Integer({ minimum: 0, description: 'Deliveries that failed (unreadable, or the store failed) and invalid ones.' }),
  sends: Type.Object({ sent: Count, failed: Count, retried: Count }),
  conversations: Type.Object({ new: Count, reopened: Count }),
  firstResponses: Type.Integer({ minimum: 0, description: 'Conversations whose first inbound message of the day was answered.' }),
  medianFirstResponseSeconds: Type.Union([Type.Number(), Type.Null()], { description: 'From the first inbound message of the day to the first reply after it; null without one.' }),
});
const Totals = { calls: Count, inputTokens: Count, outputTokens: Count, totalTokens: Count, cost: Type.Number() };
export const DailyReportSchema = Type.Object({
  date: Type.String({ description: 'The day (YYYY-MM-DD) in `timezone`.' }),
  timezone: Type.String(),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  channels: Type.Array(ChannelDay),
  usage: Type.Object({ byAgent: Type.Array(Type.Object({ agentId: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]), ...Totals })), total: Type.Object(Totals) }),
  alerts: Type.Object({ raised: Count, list: Type.Array(Type.Object({ id: Type.String(), rule: Type.String(), subject: Type.String(), severity: Type.String(), message: Type.String(), raisedAt: Type.String(), resolvedAt: Type.Union([Type.String(), Type.Null()]) })) }),
  generatedAt: Type.String({ format: 'date-time' }),
  final: Type.Boolean({ description: 'Generated after the day ended (and stored, the same for every later read); false for a day still going on.' }),
}, { title: 'DailyReport' });
export type DailyReport = Static<typeof DailyReportSchema>;

export const DailyReportQuerySchema = Type.Object({
  date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD. Default: yesterday in the report timezone.' })),
}, { additionalProperties: false });

export interface ReportsApi {
  /**
   * The daily report of `date` (default yesterday) in `timezone` (default UTC): the stored one when it was generated,
   * else computed now (and `final: false` while the day is not over).
   */
  daily(options?: Static<typeof DailyReportQuerySchema>, timezone?: string): Promise<DailyReport>;
}

/** Conversations read for first response times: the most active of the day. */
const TIMELINES = 5_000;
const median = (values: number[]) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return Math.round((sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2) / 100) / 10;
};

/** The day's report computed from the traffic minutes, the conversations' messages, the usage ledger and the alerts. */
export async function computeDailyReport(s: Scope, date: string, timezone: string): Promise<DailyReport> {
  const { backend, tenant: t } = s;
  const from = dayStart(date, timezone);
  const to = budgetDay(from, timezone).end;
  const now = s.clock();
  const [traffic, timelines, byAgent, alerts] = await Promise.all([
    backend.reports.traffic(t, { from, to }),
    backend.reports.timelines(t, from, TIMELINES),
    backend.usage.grouped(t, 'agent', { from, to }),
    backend.alerts.raisedBetween(t, from, to),
  ]);
  // First response: the first inbound message of the day in each conversation, to the first reply after it.
  const responses = new Map<string, number[]>();
  for (const line of timelines) {
    if (!line.channelId) continue;
    const first = line.messages.find((m) => m.role === 'user' && m.at < to);
    const reply = first && line.messages.find((m) => m.role === 'assistant' && m.at >= first.at);
    if (first && reply) responses.set(line.channelId, [...(responses.get(line.channelId) ?? []), reply.at - first.at]);
  }
  const channels = [];
  for (const channel of await allChannels(s)) {
    const c = traffic.get(channel.id) ?? {};
    const times = responses.get(channel.id) ?? [];
    channels.push({
      channelId: channel.id, name: channel.name, kind: channel.kind,
      received: c.received ?? 0, stored: c.stored ?? 0, duplicates: c.duplicates ?? 0, rejected: c.rejected ?? 0, errors: (c.errors ?? 0) + (c.invalid ?? 0),
      sends: { sent: c.sent ?? 0, failed: c.sendFailed ?? 0, retried: c.sendRetried ?? 0 },
      conversations: { new: c.conversationsCreated ?? 0, reopened: c.conversationsReopened ?? 0 },
      firstResponses: times.length, medianFirstResponseSeconds: median(times),
    });
  }
  const names = new Map<string, string>();
  for (const g of byAgent) if (g.key && !names.has(g.key)) names.set(g.key, (await backend.agents.get(t, g.key))?.name ?? g.key);
  const round = (cost: number) => Math.round(cost * 1e9) / 1e9;
  const total = { calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cost: 0 };
  for (const g of byAgent) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += g[k];
  return {
    date, timezone, from: new Date(from).toISOString(), to: new Date(to).toISOString(),
    channels,
    usage: {
      byAgent: byAgent.map((g) => ({ agentId: g.key, name: g.key ? names.get(g.key) ?? null : null, calls: g.calls, inputTokens: g.inputTokens, outputTokens: g.outputTokens, totalTokens: g.totalTokens, cost: round(g.cost) })),
      total: { ...total, cost: round(total.cost) },
    },
    alerts: {
      raised: alerts.length,
      list: alerts.slice(0, 100).map(alertView).map((a) => ({ id: a.id, rule: a.rule, subject: a.subject, severity: a.severity, message: a.message, raisedAt: a.raisedAt, resolvedAt: a.resolvedAt })),
    },
    generatedAt: new Date(now).toISOString(),
    final: now >= to,
  };
}

async function allChannels(s: Scope) {
  const out = [];
  for (let after: string | undefined; ;) {
    const page = await s.backend.channels.list(s.tenant, { after, limit: 200 });
    out.push(...page);
    if (page.length < 200) return out;
    after = page.at(-1)!.id;
  }
}

/** Yesterday's date in `timezone`. */
export const yesterdayIn = (now: number, timezone: string): string => budgetDay(budgetDay(now, timezone).start - 1, timezone).day;

export function reportsOf(s: Scope): ReportsApi {
  return {
    async daily(options = {}, timezone = 'UTC') {
      const v = validate(DailyReportQuerySchema, options, 'daily report query');
      assertTimezone(timezone);
      const date = v.date ?? yesterdayIn(s.clock(), timezone);
      // A day of the calendar (no 2026-02-31), of this era: what a report can be of.
      const [y, m, d] = date.split('-').map(Number) as [number, number, number];
      const real = y >= 2000 && y <= 9999 && new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10) === date;
      if (!real) throw new ColloquyError('invalid_argument', `Invalid date "${date}": a day of the calendar from 2000 on, YYYY-MM-DD.`, { errors: [{ path: '/date', message: 'is not a day' }] });
      const stored = await s.backend.reports.get(s.tenant, date);
      if (stored) return stored.report as unknown as DailyReport;
      return computeDailyReport(s, date, timezone);
    },
  };
}

/** Generates and stores the day's report once across a fleet; the stored report for the one caller that stored it. */
export async function storeDailyReport(s: Scope, date: string, timezone: string): Promise<DailyReport | undefined> {
  if (await s.backend.reports.get(s.tenant, date)) return undefined;
  const report = await computeDailyReport(s, date, timezone);
  return (await s.backend.reports.put(s.tenant, date, report as unknown as JsonObject, s.clock())) ? s.changed(report) : undefined;
}
