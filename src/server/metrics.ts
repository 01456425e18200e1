import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';
import type { Usage } from '../domain/entities.js';
import type { HealthMonitor } from '../channels/channel-health.js';

export type IngestOutcome = 'stored' | 'duplicate' | 'error';

/** Per channel, in this process: what arrived and what became of it. */
export interface ChannelCounters {
  received: number;
  stored: number;
  duplicates: number;
  errors: number;
  lastEventAt: string | null;
}

/** Prometheus metrics of one server, in its own registry (several apps in one process do not collide). */
export function createMetrics(store: Store) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'colloquy_' }); // colloquy_process_cpu_seconds_total, colloquy_nodejs_heap_size_used_bytes, …
  const requests = new Histogram({
    name: 'colloquy_http_request_duration_seconds',
    help: 'HTTP request latency by route template, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const ingested = new Counter({
    name: 'colloquy_ingest_messages_total',
    help: 'Inbound messages by channel and outcome (stored, duplicate, error).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'colloquy_webhook_deliveries_total',
    help: "Provider webhook calls by channel and outcome (accepted, challenge, rejected: bad or missing signature, invalid: not a notification, not_found, error: not stored, the provider retries).",
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const streams = new Gauge({ name: 'colloquy_event_stream_clients', help: 'Open server-sent event streams.', registers: [registry] });
  const authFailures = new Counter({
    name: 'colloquy_auth_failures_total',
    help: 'Refused authentications by reason (missing, malformed, unknown, revoked, expired; throttled: refused because the address failed too often).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'colloquy_db_pool_connections',
    help: 'Database pool connections by state (PostgreSQL).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = store.poolStats();
      if (!pool) return;
      this.set({ state: 'total' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
    },
  });

  new Counter({
    name: 'colloquy_db_queries_total',
    help: 'Statements sent to the database (PostgreSQL): round trips, transaction control included.',
    registers: [registry],
    collect() {
      const pool = store.poolStats();
      if (!pool) return;
      this.reset();
      this.inc(pool.queries);
    },
  });
  new Counter({
    name: 'colloquy_cache_operations_total',
    help: 'Hot tier reads by result (hit, miss) and cache operations that fell back to the database (fallback).',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      const stats = store.cacheStats();
      if (!stats) return;
      this.reset();
      this.inc({ result: 'hit' }, stats.hits);
      this.inc({ result: 'miss' }, stats.misses);
      this.inc({ result: 'fallback' }, stats.fallbacks);
    },
  });
  new Gauge({
    name: 'colloquy_cache_degraded',
    help: '1 while the hot tier is degraded (every request served by the database), else 0.',
    registers: [registry],
    collect() {
      const stats = store.cacheStats();
      if (stats) this.set(stats.status === 'degraded' ? 1 : 0);
    },
  });

  const channels = new Map<string, ChannelCounters>();
  let monitor: HealthMonitor | undefined;
  new Gauge({
    name: 'colloquy_channel_status',
    help: "1 for each channel's current health status (ok, stale, failing, not_configured), as last judged.",
    labelNames: ['channel', 'kind', 'status'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, { channel, health }] of monitor?.latest ?? []) this.set({ channel: id, kind: channel.kind, status: health.status }, 1);
    },
  });
  new Gauge({
    name: 'colloquy_outbox_depth',
    help: 'Outbound messages of each channel not yet sent or failed.',
    labelNames: ['channel'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, { health }] of monitor?.latest ?? []) this.set({ channel: id }, health.outbox.depth);
    },
  });
  new Gauge({
    name: 'colloquy_outbox_oldest_pending_seconds',
    help: 'Age of the oldest unsent outbound message of each channel that has one.',
    labelNames: ['channel'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, { health }] of monitor?.latest ?? []) if (health.outbox.oldestPendingAgeSeconds !== null) this.set({ channel: id }, health.outbox.oldestPendingAgeSeconds);
    },
  });
  new Gauge({
    name: 'colloquy_channel_traffic',
    help: 'Fleet-wide totals of each channel (received, stored, duplicates, rejected, invalid, errors, statuses, sent, sendFailed, …), as last judged.',
    labelNames: ['channel', 'counter'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, { health }] of monitor?.latest ?? []) for (const [counter, n] of Object.entries(health.counters)) this.set({ channel: id, counter }, n);
    },
  });
  const agentTokens = new Counter({
    name: 'colloquy_agent_tokens_total',
    help: "Tokens of this process's agent turns by agent, model and kind (input, output, cached_input, reasoning).",
    labelNames: ['agent', 'model', 'kind'] as const,
    registers: [registry],
  });
  const agentCost = new Counter({
    name: 'colloquy_agent_cost_dollars_total',
    help: "Cost in US dollars of this process's agent turns by agent and model (models with a price).",
    labelNames: ['agent', 'model'] as const,
    registers: [registry],
  });
  return {
    /** Counts one agent turn's usage. */
    usage(u: Usage): void {
      const labels = { agent: u.agentId ?? 'none', model: u.model };
      agentTokens.inc({ ...labels, kind: 'input' }, u.inputTokens);
      agentTokens.inc({ ...labels, kind: 'output' }, u.outputTokens);
      if (u.cachedInputTokens) agentTokens.inc({ ...labels, kind: 'cached_input' }, u.cachedInputTokens);
      if (u.reasoningTokens) agentTokens.inc({ ...labels, kind: 'reasoning' }, u.reasoningTokens);
      if (u.cost !== null) agentCost.inc(labels, u.cost);
    },
    /** Channel figures come from the health monitor's latest judgement. */
    watchChannels(health: HealthMonitor) {
      monitor = health;
    },
    registry,
    requests,
    streams,
    authFailures,
    channels,
    /** Counts one provider webhook call. */
    webhook(channel: string, outcome: string): void {
      webhooks.inc({ channel, outcome });
    },
    /** Counts one inbound message of `channel` (a received message always ends in exactly one outcome). */
    ingest(channel: string, outcome: IngestOutcome): void {
      let counters = channels.get(channel);
      if (!counters) {
        counters = { received: 0, stored: 0, duplicates: 0, errors: 0, lastEventAt: null };
        channels.set(channel, counters);
      }
      counters.received++;
      if (outcome === 'stored') counters.stored++;
      else if (outcome === 'duplicate') counters.duplicates++;
      else counters.errors++;
      counters.lastEventAt = new Date().toISOString();
      ingested.inc({ channel, outcome });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
