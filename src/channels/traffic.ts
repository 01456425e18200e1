import type { TrafficDelta, TrafficError } from '../backends/backend.js';
import type { ChannelOps } from '../store/channel-ops.js';

/** Counter names kept per channel (`health.counters`). */
export const COUNTERS = ['received', 'stored', 'duplicates', 'rejected', 'invalid', 'errors', 'statuses', 'unknownStatuses', 'edits', 'sent', 'sendFailed', 'sendRetried', 'conversationsCreated', 'conversationsReopened'] as const;
export type Counter = (typeof COUNTERS)[number];

const empty = (): TrafficDelta => ({ counts: {}, sendErrors: {}, recentErrors: [], lastInboundAt: null, lastOutboundAt: null });

/**
 * A channel's traffic as this process sees it, added to the database's totals every `flushMs` (and at close), so
 * that health shows the whole fleet and survives restarts without a write per message on the channel's row. A
 * process killed with SIGKILL loses at most the last `flushMs` of counts; messages themselves are never at stake.
 */
export function createTrafficRecorder(ops: ChannelOps, options: { flushMs?: number; log?: (message: string, error: unknown) => void } = {}) {
  let pending = new Map<string, TrafficDelta>();
  const of = (channelId: string) => {
    let delta = pending.get(channelId);
    if (!delta) pending.set(channelId, (delta = empty()));
    return delta;
  };
  const flush = async () => {
    const batch = pending;
    pending = new Map();
    for (const [channelId, delta] of batch) {
      try {
        await ops.addTraffic(channelId, delta);
      } catch (error) {
        // Kept for the next flush rather than lost (the database may be briefly away).
        const again = of(channelId);
        for (const [k, v] of Object.entries(delta.counts)) again.counts[k] = (again.counts[k] ?? 0) + v;
        for (const [k, v] of Object.entries(delta.sendErrors)) again.sendErrors[k] = (again.sendErrors[k] ?? 0) + v;
        again.recentErrors.push(...delta.recentErrors);
        again.lastInboundAt = Math.max(again.lastInboundAt ?? 0, delta.lastInboundAt ?? 0) || null;
        again.lastOutboundAt = Math.max(again.lastOutboundAt ?? 0, delta.lastOutboundAt ?? 0) || null;
        again.tokenError ??= delta.tokenError;
        options.log?.('channel traffic could not be recorded; retrying', error);
      }
    }
  };
  const timer = setInterval(() => void flush(), options.flushMs ?? 2_000);
  timer.unref();
  return {
    count(channelId: string, counter: Counter, n = 1) {
      const delta = of(channelId);
      delta.counts[counter] = (delta.counts[counter] ?? 0) + n;
    },
    /** A stored inbound message's effect on its conversation: started or reopened one (the daily report's figures). */
    conversation(channelId: string, result: { created: boolean; reopened: boolean; duplicate: boolean }) {
      if (result.duplicate) return;
      if (result.created) this.count(channelId, 'conversationsCreated');
      if (result.reopened) this.count(channelId, 'conversationsReopened');
    },
    inbound(channelId: string, at: number) {
      const delta = of(channelId);
      delta.lastInboundAt = Math.max(delta.lastInboundAt ?? 0, at);
    },
    outbound(channelId: string, at: number) {
      const delta = of(channelId);
      delta.lastOutboundAt = Math.max(delta.lastOutboundAt ?? 0, at);
      delta.tokenError = 'clear';
    },
    error(channelId: string, error: Omit<TrafficError, 'at'>, at: number, options: { send?: boolean; tokenError?: boolean } = {}) {
      const delta = of(channelId);
      delta.recentErrors.push({ ...error, at });
      if (delta.recentErrors.length > 20) delta.recentErrors.shift();
      if (options.send) delta.sendErrors[error.code] = (delta.sendErrors[error.code] ?? 0) + 1;
      if (options.tokenError) delta.tokenError = 'set';
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

export type TrafficRecorder = ReturnType<typeof createTrafficRecorder>;
