import Type, { type Static } from 'typebox';
import { assertTimezone, budgetDay } from '../domain/budget.js';
import { IdSchema, StringEnum } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { TimestampSchema } from '../domain/inputs.js';
import { toEpochMs, validate } from '../domain/validate.js';
import type { Scope } from './scope.js';

const Common = {
  from: Type.Optional({ ...TimestampSchema, description: 'Start (inclusive). Default: an hour (1m), a week (1h) or 30 days (1d) before `to`.' }),
  to: Type.Optional({ ...TimestampSchema, description: 'End (exclusive). Default: now.' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Whose days `bucket=1d` counts. Default UTC.' })),
};
export const MessageStatsQuerySchema = Type.Object({
  ...Common,
  bucket: Type.Optional({ ...StringEnum(['1m', '1h', '1d']), description: 'Default 1h.' }),
  channelId: Type.Optional(IdSchema),
}, { additionalProperties: false });
export const UsageStatsQuerySchema = Type.Object({
  ...Common,
  bucket: Type.Optional({ ...StringEnum(['1h', '1d']), description: 'Default 1d.' }),
  agentId: Type.Optional(IdSchema),
}, { additionalProperties: false });

const Count = Type.Integer({ minimum: 0 });
export const MessageStatsSchema = Type.Object({
  bucket: Type.String(), from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }), timezone: Type.String(),
  series: Type.Array(Type.Object({
    at: Type.String({ format: 'date-time', description: "The bucket's start." }),
    received: Count, stored: Count, duplicates: Count, rejected: Count, errors: Count, sent: Count, sendFailed: Count, conversationsCreated: Count, conversationsReopened: Count,
  })),
}, { title: 'MessageStats' });
export const UsageStatsSchema = Type.Object({
  bucket: Type.String(), from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }), timezone: Type.String(),
  series: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), calls: Count, inputTokens: Count, outputTokens: Count, totalTokens: Count, cost: Type.Number() })),
}, { title: 'UsageStats' });
export type MessageStats = Static<typeof MessageStatsSchema>;
export type UsageStats = Static<typeof UsageStatsSchema>;

export interface StatsApi {
  /**
   * Channel traffic per bucket (every bucket present, zeros included), from the per-minute counters kept 35 days:
   * received, stored, duplicates, rejected, errors, sends and failed sends, new and reopened conversations.
   */
  messages(query?: Static<typeof MessageStatsQuerySchema>): Promise<MessageStats>;
  /** Tokens and cost per bucket from the usage ledger (of one agent, if given). */
  usage(query?: Static<typeof UsageStatsQuerySchema>): Promise<UsageStats>;
}

const SIZE = { '1m': 60_000, '1h': 3_600_000, '1d': 86_400_000 } as const;
const SPAN = { '1m': 3_600_000, '1h': 7 * 86_400_000, '1d': 30 * 86_400_000 } as const;
/** Points a chart can use: more is a request for another bucket. */
const MAX_BUCKETS = 1_500;
const COUNTERS = ['received', 'stored', 'duplicates', 'rejected', 'errors', 'sent', 'sendFailed', 'conversationsCreated', 'conversationsReopened'] as const;

/** The buckets' starts over [from, to): UTC-aligned minutes and hours, days at local midnights. */
function bucketsOf(bucket: keyof typeof SIZE, range: { from: number; to: number }, timezone: string): number[] {
  if ((range.to - range.from) / SIZE[bucket] > MAX_BUCKETS) {
    throw new ColloquyError('invalid_argument', `At most ${MAX_BUCKETS} buckets per series: choose a larger bucket or a shorter range.`, { errors: [{ path: '/from', message: 'too far before to for this bucket' }] });
  }
  const starts: number[] = [];
  if (bucket === '1d') {
    for (let at = budgetDay(range.from, timezone).start; at < range.to; at = budgetDay(at, timezone).end) starts.push(at);
  } else {
    for (let at = range.from - (range.from % SIZE[bucket]); at < range.to; at += SIZE[bucket]) starts.push(at);
  }
  return starts;
}

/** Which bucket of `starts` (sorted) holds `at`. */
const indexOf = (starts: number[], at: number) => {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
};

function rangeOf(s: Scope, q: { from?: string | number | undefined; to?: string | number | undefined; timezone?: string | undefined }, bucket: keyof typeof SIZE) {
  const now = s.clock();
  // A range, not a message's time: any instant may bound it.
  const to = toEpochMs(q.to, 'to', now + 1, Infinity);
  const from = toEpochMs(q.from, 'from', to - SPAN[bucket], Infinity);
  if (from >= to) throw new ColloquyError('invalid_argument', '"from" must be before "to".', { errors: [{ path: '/from', message: 'is not before to' }] });
  const timezone = q.timezone ?? 'UTC';
  assertTimezone(timezone);
  return { from, to, timezone };
}

export function statsOf(s: Scope): StatsApi {
  return {
    async messages(query = {}) {
      const q = validate(MessageStatsQuerySchema, query, 'message stats query');
      const bucket = q.bucket ?? '1h';
      const { from, to, timezone } = rangeOf(s, q, bucket);
      const starts = bucketsOf(bucket, { from, to }, timezone);
      const rows = await s.backend.reports.trafficSeries(s.tenant, { from: starts[0]!, to, bucketMs: 60_000, ...(q.channelId ? { channelId: q.channelId.toLowerCase() } : {}) });
      const series = starts.map((at) => ({ at: new Date(at).toISOString(), ...Object.fromEntries(COUNTERS.map((c) => [c, 0])) })) as MessageStats['series'];
      for (const { bucket: minute, counts } of rows) {
        const point = series[indexOf(starts, minute)]!;
        for (const c of COUNTERS) point[c] += c === 'errors' ? (counts.errors ?? 0) + (counts.invalid ?? 0) : counts[c] ?? 0;
      }
      return { bucket, from: new Date(from).toISOString(), to: new Date(to).toISOString(), timezone, series };
    },
    async usage(query = {}) {
      const q = validate(UsageStatsQuerySchema, query, 'usage stats query');
      const bucket = q.bucket ?? '1d';
      const { from, to, timezone } = rangeOf(s, q, bucket);
      const starts = bucketsOf(bucket, { from, to }, timezone);
      const quarters = await s.backend.usage.grouped(s.tenant, 'quarter', { from: starts[0]!, to }, q.agentId ? { agentId: q.agentId.toLowerCase() } : undefined);
      const series = starts.map((at) => ({ at: new Date(at).toISOString(), calls: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cost: 0 }));
      for (const g of quarters) {
        const point = series[indexOf(starts, Number(g.key))]!;
        point.calls += g.calls;
        point.inputTokens += g.inputTokens;
        point.outputTokens += g.outputTokens;
        point.totalTokens += g.totalTokens;
        point.cost = Math.round((point.cost + g.cost) * 1e9) / 1e9;
      }
      return { bucket, from: new Date(from).toISOString(), to: new Date(to).toISOString(), timezone, series };
    },
  };
}
