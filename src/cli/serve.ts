import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { createAutoReplies } from '../agents/auto-reply.js';
import { createChatTurns } from '../agents/chat-turn.js';
import { providersFrom } from '../agents/providers.js';
import { readPrices } from '../domain/prices.js';
import { ColloquyError } from '../domain/errors.js';
import { connectRedis } from '../cache/redis/redis-client.js';
import { buildApp, type ServerLimits } from '../server/app.js';
import { tokenizer } from '../context/tokens.js';
import { loggerOptions } from '../server/logging.js';
import { assertAdminKey } from '../server/auth.js';
import { openStore } from '../store/open-store.js';
import { createChannelRuntime } from '../channels/channel-runtime.js';
import { createHealthMonitor } from '../channels/channel-health.js';
import { createOutboxSender } from '../channels/outbox-sender.js';
import { createTelegramUpdates } from '../channels/telegram/telegram-updates.js';
import { createWebhookDeliverer } from '../webhooks/webhook-deliverer.js';
import { createAlertMonitor } from '../alerts/alert-monitor.js';
import { createMailer } from '../alerts/mailer.js';
import { purgeExpiredTrash } from '../store/trash.js';
import { createReportScheduler } from '../reports/report-scheduler.js';
import { createBackupJob } from './backup.js';
import { assertTimezone } from '../domain/budget.js';

export interface ServeOptions {
  db: string;
  port: number;
  host: string;
  rateLimitPerMinute: number;
  logLevel?: string;
  /** Redis URL (or Cluster node URLs) shared by a fleet: hot tier, live events, rate limits. */
  redis?: string | undefined;
  redisPrefix?: string | undefined;
  cache?: 'memory' | 'none' | undefined;
  cacheTtlSeconds?: number | undefined;
  /** Encrypts channel secrets at rest (from COLLOQUY_SECRET_KEY). */
  secretKey?: string | undefined;
  /** Origins browsers may call the API from (CORS), or `*`. */
  corsOrigins?: string[] | undefined;
  /** Serve tenant `default` without a key on loopback although the database has had keys (none active). */
  open?: boolean | undefined;
  /** Host names an open server answers besides localhost, 127.0.0.1, [::1]. */
  allowedHosts?: string[] | undefined;
  /** Proxies (IPs, CIDRs) whose X-Forwarded-For names the client. */
  trustProxy?: string[] | undefined;
  /** Failed authentications per address per minute before 429. */
  authFailuresPerMinute?: number | undefined;
  metricsPublic?: boolean | undefined;
  limits?: Partial<ServerLimits> | undefined;
  /** Chat turns and automatic replies: the turn timeout, the turn lease, whether this instance answers channels, the price table file. */
  agents?: { timeoutMs?: number; leaseMs?: number; autoReply?: boolean; pricesFile?: string | undefined } | undefined;
  /** Daily reports: the local hour they are made from (default 7) and their timezone (default UTC). */
  reports?: { hour?: number; timezone?: string } | undefined;
  /** Scheduled backups: into `dir` every `everyMs`, the newest `keep` kept. */
  backups?: { dir: string; everyMs: number; keep: number } | undefined;
  /** Days a deleted conversation stays in the trash (0: deleting erases). Default 7. */
  trashDays?: number | undefined;
  /** The dashboard's built files (default: dist/web), or false for none. */
  dashboard?: string | false | undefined;
  /** Alerts: how often they are evaluated, the SMTP server they are e-mailed through, the admin's addresses. */
  alerts?: { intervalMs?: number; smtpUrl?: string | undefined; smtpFrom?: string | undefined; adminEmails?: string[] } | undefined;
  /** Outgoing webhooks: whether this instance delivers them, its lease, one attempt's timeout, private targets allowed. */
  webhooks?: { deliver?: boolean; leaseMs?: number; timeoutMs?: number; allowPrivate?: boolean } | undefined;
  /** The outbox sender, channel health and Telegram updates this instance runs. */
  channels?: { send?: boolean; leaseMs?: number; sendTimeoutMs?: number; healthIntervalMs?: number } | undefined;
}

/** An origin as a browser sends it (`https://app.example.com`, no path), or `*`; anything else is a mistake worth saying. */
function checkOrigin(origin: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (origin !== '*' && (!parsed || parsed.origin !== origin)) {
    throw new ColloquyError('invalid_argument', `Invalid CORS origin "${origin}": write it as a browser sends it, scheme and host (and port), no path or trailing slash: https://app.example.com, or * for any.`);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const isLoopback = (host: string) => LOOPBACK.has(host) || (isIP(host) === 4 && host.startsWith('127.'));

/** Starts the server; stops gracefully on SIGTERM/SIGINT: no new requests, in-flight ones finish, the store closes. */
export async function serve(options: ServeOptions): Promise<void> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new ColloquyError('invalid_argument', `Invalid port "${options.port}": use 0–65535.`);
  }
  if (options.cacheTtlSeconds !== undefined && !(options.cacheTtlSeconds >= 1)) {
    throw new ColloquyError('invalid_argument', `Invalid cache TTL "${options.cacheTtlSeconds}": a number of seconds, at least 1.`);
  }
  for (const origin of options.corsOrigins ?? []) checkOrigin(origin);
  const reportHour = options.reports?.hour ?? 7;
  const reportTimezone = options.reports?.timezone ?? 'UTC';
  if (!(Number.isInteger(reportHour) && reportHour >= 0 && reportHour <= 23)) throw new ColloquyError('invalid_argument', `Invalid report hour "${reportHour}": 0–23.`);
  assertTimezone(reportTimezone);
  let degraded: ((message: string, error?: unknown) => void) | undefined;
  const prices = options.agents?.pricesFile ? readPrices(options.agents.pricesFile) : undefined;
  const store = await openStore({
    prices,
    url: options.db, redis: options.redis, redisPrefix: options.redisPrefix, cache: options.cache, cacheTtlSeconds: options.cacheTtlSeconds,
    secretKey: options.secretKey, allowPrivateWebhooks: options.webhooks?.allowPrivate ?? false, trashDays: options.trashDays,
    // Until the app's logger exists (warnings while opening), to stderr.
    log: (message, error) => (degraded ? degraded(message, error) : process.stderr.write(`colloquy: ${message}\n`)),
  });
  const adminKey = process.env.COLLOQUY_ADMIN_KEY || undefined;
  if (options.open && !isLoopback(options.host)) {
    await store.close();
    throw new ColloquyError('invalid_argument', `--open serves without keys: only on a loopback address (127.0.0.1, ::1, localhost), not ${options.host}.`);
  }
  if (adminKey !== undefined) {
    try {
      assertAdminKey(adminKey, 'COLLOQUY_ADMIN_KEY');
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  if (!isLoopback(options.host) && !adminKey && (await store.keys.count()).active === 0) {
    await store.close();
    throw new ColloquyError(
      'invalid_argument',
      `Refusing to serve on ${options.host} without API keys: anyone who can reach it could read every conversation. ` +
        'Create a key with `colloquy keys create --tenant NAME` (or set COLLOQUY_ADMIN_KEY), or bind to 127.0.0.1.',
    );
  }
  if (!Number.isInteger(options.rateLimitPerMinute) || options.rateLimitPerMinute < 0) {
    await store.close();
    throw new ColloquyError('invalid_argument', `Invalid rate limit "${options.rateLimitPerMinute}": a whole number of requests per minute, 0 for none.`);
  }
  // Rate limits on a connection of their own: its commands must not queue behind the hot tier's.
  const limiter = options.redis ? connectRedis(options.redis) : undefined;
  limiter?.on('error', () => {});
  // Counted from the first request when Redis answers; a Redis down at start delays nothing beyond 2 s.
  if (limiter) await new Promise<void>((resolve) => {
    limiter.once('ready', () => resolve());
    setTimeout(resolve, 2_000).unref();
  });
  const log = (message: string, error?: unknown) => (degraded ? degraded(message, error) : process.stderr.write(`colloquy: ${message}\n`));
  const channels = createChannelRuntime({ store, log });
  const health = createHealthMonitor(channels, { intervalMs: options.channels?.healthIntervalMs, log });
  const providers = providersFrom(process.env);
  // One name for this instance's turn leases, shared by chat requests and automatic replies.
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = options.agents?.leaseMs;
  const turns = createChatTurns({ providers, timeoutMs: options.agents?.timeoutMs ?? 120_000, owner, leaseMs });
  const autoReplies = options.agents?.autoReply === false ? undefined : createAutoReplies({ store, turns, owner, leaseMs, log });
  const app = await buildApp({
    channels, health, providers, chatTurns: turns, reportTimezone, dashboard: options.dashboard,
    doctor: async () => (await import('./doctor.js')).doctor(options.db, { secretKey: options.secretKey, redis: options.redis }),
    store, adminKey, rateLimitPerMinute: options.rateLimitPerMinute, openWithoutKeys: isLoopback(options.host),
    rateLimitRedis: limiter, redisPrefix: options.redisPrefix, corsOrigins: options.corsOrigins,
    forceOpen: options.open ?? false, allowedHosts: options.allowedHosts, trustProxy: options.trustProxy, metricsPublic: options.metricsPublic ?? false,
    ...(options.authFailuresPerMinute !== undefined ? { authFailuresPerMinute: options.authFailuresPerMinute } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    logger: loggerOptions(options.logLevel ?? 'info'),
  });
  degraded = (message, error) => (error ? app.log.warn({ err: error }, message) : app.log.info(message));
  const sender = options.channels?.send === false ? undefined
    : createOutboxSender({ channels, leaseMs: options.channels?.leaseMs, timeoutMs: options.channels?.sendTimeoutMs, log });
  const telegram = createTelegramUpdates({ channels, log });
  const mailer = options.alerts?.smtpUrl ? createMailer(options.alerts.smtpUrl, options.alerts.smtpFrom) : undefined;
  const backups = options.backups ? createBackupJob({ store, owner, ...options.backups, log, notify: (tenant, alert, what) => alerts.notify(tenant, alert, what) }) : undefined;
  const reports = createReportScheduler({ store, owner, hour: reportHour, timezone: reportTimezone, mailer, log });
  const alerts = createAlertMonitor({ store, health, mailer, adminEmails: options.alerts?.adminEmails, intervalMs: options.alerts?.intervalMs, log });
  const webhooks = options.webhooks?.deliver === false ? undefined
    : createWebhookDeliverer({ store, owner, leaseMs: options.webhooks?.leaseMs, timeoutMs: options.webhooks?.timeoutMs, log });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // In-flight requests get 10 s; after that the process exits anyway (everything acknowledged is committed).
    setTimeout(() => process.exit(1), 10_000).unref();
    await app.close();
    await Promise.allSettled([sender?.stop(), telegram.stop(), health.stop(), autoReplies?.stop(), webhooks?.stop(), alerts.stop(), reports.stop(), backups?.stop()]);
    mailer?.close();
    await channels.close();
    await store.close();
    limiter?.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  const address = await app.listen({ port: options.port, host: options.host });
  void tokenizer(); // the token counter's tables, loaded now rather than by the first append
  sender?.start();
  autoReplies?.start();
  webhooks?.start();
  alerts.start();
  reports.start();
  backups?.start();
  // The trash whose retention ended, erased: at start and every hour (every instance; the delete is idempotent).
  const sweep = () => void purgeExpiredTrash(store).catch((error) => log('the trash could not be swept', error));
  sweep();
  const sweeper = setInterval(sweep, 3_600_000);
  sweeper.unref();
  telegram.start();
  health.start();
  const secretless = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@');
  const tier = options.redis ? ` with Redis ${secretless(options.redis)}` : options.cache === 'memory' ? ' with an in-process cache' : '';
  process.stdout.write(`colloquy: serving ${secretless(options.db)}${tier} at ${address}/v1 (${options.dashboard === false ? '' : `dashboard: ${address}/dashboard/, `}docs: ${address}/docs, health: ${address}/health)\n`);
}
