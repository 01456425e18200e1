import type { TrafficRecord } from '../backends/backend.js';
import { DEFAULT_STALE_AFTER_SECONDS } from '../domain/channel-config.js';
import type { Channel, ChannelHealth, ChannelHealthStatus } from '../domain/entities.js';
import type { ChannelRuntime } from './channel-runtime.js';
import { driverOf } from './registry.js';

/** Sends within this window decide whether a channel is failing. */
export const RECENT_MS = 15 * 60_000;
/** At least this many recent sends, and at least half of them failed: failing. */
const MIN_SENDS = 5;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ago = (ms: number) => (ms >= 7_200_000 ? `${Math.round(ms / 3_600_000)} h` : ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

/**
 * A channel's health from what really happened: not_configured (what it needs is missing) before failing (the
 * provider refused its token, or most recent sends failed) before stale (nothing arrived for staleAfterSeconds).
 */
export function judge(channel: Channel, missing: string[], traffic: TrafficRecord | undefined, outbox: { depth: number; oldestAt: number | null; recentSent: number; recentFailed: number }, now: number): ChannelHealth {
  const reasons: string[] = [];
  let status: ChannelHealthStatus = 'ok';
  if (missing.length) {
    status = 'not_configured';
    reasons.push(`missing ${missing.join(', ')}: set with PATCH /v1/channels/${channel.id}`);
  }
  const token = traffic?.tokenErrorAt ?? null;
  const sends = outbox.recentSent + outbox.recentFailed;
  if (token !== null) reasons.push(`the provider refused the channel's token ${ago(now - token)} ago: replace it (secrets)`);
  if (sends >= MIN_SENDS && outbox.recentFailed * 2 >= sends) reasons.push(`${outbox.recentFailed} of the last ${sends} sends in 15 min failed`);
  if (status === 'ok' && reasons.length) status = 'failing';
  const staleAfter = Number(channel.config.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS) * 1000;
  const lastIn = traffic?.lastInboundAt ?? null;
  const quiet = now - (lastIn ?? Date.parse(channel.createdAt));
  if (staleAfter > 0 && quiet > staleAfter) {
    reasons.push(lastIn === null ? `nothing has arrived since the channel was created ${ago(quiet)} ago` : `nothing has arrived for ${ago(quiet)}`);
    if (status === 'ok') status = 'stale';
  }
  return {
    status, reasons,
    since: traffic?.health === status ? iso(traffic.healthAt) : null,
    lastInboundAt: iso(lastIn),
    lastOutboundAt: iso(traffic?.lastOutboundAt ?? null),
    counters: traffic?.counts ?? {},
    sendErrors: traffic?.sendErrors ?? {},
    recentErrors: (traffic?.recentErrors ?? []).map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
    outbox: {
      depth: outbox.depth, oldestPendingAgeSeconds: outbox.oldestAt === null ? null : Math.max(0, Math.round((now - outbox.oldestAt) / 100) / 10),
      recentSent: outbox.recentSent, recentFailed: outbox.recentFailed,
    },
  };
}

/** One line of a health report: the status, why, and the counters an operator reads first. */
export function summaryOf(health: ChannelHealth) {
  const c = health.counters;
  return {
    status: health.status, reasons: health.reasons,
    received: c.received ?? 0, stored: c.stored ?? 0, duplicates: c.duplicates ?? 0, rejected: c.rejected ?? 0, errors: (c.errors ?? 0) + (c.invalid ?? 0),
    sent: c.sent ?? 0, sendFailed: c.sendFailed ?? 0,
    lastInboundAt: health.lastInboundAt, lastOutboundAt: health.lastOutboundAt,
    outboxDepth: health.outbox.depth, oldestPendingAgeSeconds: health.outbox.oldestPendingAgeSeconds,
  };
}

/**
 * The health of one channel now, recorded (a change of status is a `channel.health` event, once across a fleet)
 * unless `record` is false (`colloquy doctor` writes nothing).
 */
export async function channelHealth(channels: ChannelRuntime, channel: Channel, record = true): Promise<ChannelHealth> {
  const { ops } = channels;
  await channels.traffic.flush();
  const driver = driverOf(channel.kind);
  const resolved = driver ? await channels.resolve(channel.id) : undefined;
  const missing = driver && resolved ? driver.missing(resolved.settings) : [];
  const [traffic, outbox] = await Promise.all([ops.traffic(channel.id), ops.outboxStats(channel.id, RECENT_MS)]);
  const now = ops.clock();
  let health = judge(channel, missing, traffic, outbox, now);
  // Written only when the status read differs from the one judged (the write itself compares again, so that a
  // fleet records each transition once): an unchanged channel costs its three reads and nothing more.
  if (record && traffic?.health !== health.status && await ops.setHealth(channel.id, { status: health.status, reason: health.reasons[0] ?? null })) {
    health = { ...health, since: new Date(now).toISOString() };
  }
  return health;
}

/**
 * Judges every channel of every tenant every `intervalMs`, so that a channel going quiet becomes `stale` (and its
 * event is written) even when nobody looks; keeps the latest judgement of each for /metrics and /health/detailed.
 */
export function createHealthMonitor(channels: ChannelRuntime, options: { intervalMs?: number; log?: (message: string, error?: unknown) => void } = {}) {
  const latest = new Map<string, { tenant: string; channel: Channel; health: ChannelHealth }>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let started = false;
  let pruned = 0;
  async function check(): Promise<void> {
    // Once an hour: outbox entries done a week ago (their messages keep status and error), and statuses kept a week
    // for a message that never came (sent from elsewhere).
    if (Date.now() - pruned > 3_600_000) {
      pruned = Date.now();
      await channels.ops.prune(7 * 86_400_000);
    }
    let after: string | undefined;
    for (;;) {
      const page = await channels.ops.allChannels(after, 200);
      for (const { tenant, channel } of page) {
        latest.set(channel.id, { tenant, channel, health: await channelHealth(channels, channel) });
      }
      if (page.length < 200) return;
      after = page.at(-1)!.channel.id;
    }
  }
  const tick = () => {
    running ??= check().catch((error) => options.log?.('channel health could not be checked', error)).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    latest,
    check: tick,
    /** Whether it judges in the background (else a reader should `check` first). */
    started: () => started,
    start() {
      started = true;
      void tick();
      timer = setInterval(() => void tick(), options.intervalMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      started = false;
      clearInterval(timer);
      await running;
    },
  };
}

export type HealthMonitor = ReturnType<typeof createHealthMonitor>;
