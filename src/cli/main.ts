#!/usr/bin/env node
import { Command, Option } from 'commander';
import { doctor, redact } from './doctor.js';
import { exportTo, importFrom } from './portable.js';
import { migrate, openStore } from '../store/open-store.js';
import { scopeOfStore, type Store } from '../store/store.js';
import { VERSION } from '../version.js';

const DEFAULT_DB = 'sqlite:./data/colloquy.db';
/** From the environment only: a flag would show the key to anyone who lists processes. */
const secretKey = (): string | undefined => process.env.COLLOQUY_SECRET_KEY || undefined;
const redis = () => new Option('--redis <url>', 'Redis shared by a fleet (hot tier, live events, rate limits): redis://host:6379, or Cluster node URLs separated by commas').env('COLLOQUY_REDIS_URL');
const redisPrefix = () => new Option('--redis-prefix <prefix>', 'prefix of every Redis key').env('COLLOQUY_REDIS_PREFIX').default('colloquy:');
const db = () => new Option('--db <url>', 'database: sqlite:<path>, sqlite::memory: or postgres://…').env('COLLOQUY_DB_URL').default(DEFAULT_DB);

const program = new Command()
  .name('colloquy')
  .description('Conversation store and chat gateway for chatbots and AI agents.')
  .version(VERSION, '-v, --version', 'print the version')
  .showHelpAfterError();

program
  .command('serve')
  .description('Run the HTTP API (REST under /v1, health endpoints) on the given database.')
  .addOption(db())
  .addOption(new Option('--port <port>', 'TCP port').env('PORT').default('8080'))
  .addOption(new Option('--host <host>', 'address to bind; without API keys only loopback is allowed').env('HOST').default('127.0.0.1'))
  .addOption(new Option('--log-level <level>', 'pino log level (every request is logged at info)').env('LOG_LEVEL').default('info')
    .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addOption(new Option('--rate-limit <per-minute>', 'requests per minute per API key; 0 turns it off').env('COLLOQUY_RATE_LIMIT').default('60000'))
  .addOption(redis())
  .addOption(redisPrefix())
  .addOption(new Option('--cache <kind>', 'without Redis: "memory" for an in-process cache (only for a single server that is the database\'s only writer)')
    .env('COLLOQUY_CACHE').choices(['memory', 'none']).default('none'))
  .addOption(new Option('--cache-ttl <seconds>', 'cached records expire this long after their last change or fill').env('COLLOQUY_CACHE_TTL').default('86400'))
  .addOption(new Option('--cors-origin <origins>', 'origins browsers may call the API from, comma-separated (https://app.example.com), or *; default: none').env('COLLOQUY_CORS_ORIGIN'))
  .addOption(new Option('--open', 'on loopback, serve tenant "default" without a key although the database has had keys (while none is active)'))
  .addOption(new Option('--allowed-host <names>', 'host names an open (keyless) server answers besides localhost, 127.0.0.1 and [::1], comma-separated').env('COLLOQUY_ALLOWED_HOSTS'))
  .addOption(new Option('--trust-proxy <addresses>', 'proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client; default: none, the socket\'s address').env('COLLOQUY_TRUST_PROXY'))
  .addOption(new Option('--auth-failures <per-minute>', 'failed authentications per client address per minute before it gets 429 for the rest of the minute; 0 turns it off').env('COLLOQUY_AUTH_FAILURES').default('20'))
  .addOption(new Option('--metrics-public', 'keep /health/detailed and /metrics open on a server with keys (default: they need the admin key); COLLOQUY_METRICS_PUBLIC=1 does the same'))
  .addOption(new Option('--headers-timeout <ms>', 'close a socket that has not sent a complete request head within this').env('COLLOQUY_HEADERS_TIMEOUT').default('10000'))
  .addOption(new Option('--request-timeout <ms>', 'a whole request (head and body) must arrive within this').env('COLLOQUY_REQUEST_TIMEOUT').default('30000'))
  .addOption(new Option('--keep-alive-timeout <ms>', 'close an idle keep-alive connection after this (keep it above your load balancer\'s idle timeout)').env('COLLOQUY_KEEP_ALIVE_TIMEOUT').default('72000'))
  .addOption(new Option('--idle-timeout <ms>', 'close a connection without traffic for this long (event streams excepted)').env('COLLOQUY_IDLE_TIMEOUT').default('120000'))
  .addOption(new Option('--max-connections <n>', 'open connections at most; new ones beyond are refused').env('COLLOQUY_MAX_CONNECTIONS').default('10000'))
  .addOption(new Option('--max-streams-per-key <n>', 'open event streams per API key').env('COLLOQUY_MAX_STREAMS_PER_KEY').default('100'))
  .addOption(new Option('--max-streams <n>', 'open event streams per server').env('COLLOQUY_MAX_STREAMS').default('10000'))
  .addOption(new Option('--outbox-lease <ms>', 'how long a send claimed by this instance is its own (at least twice --send-timeout plus a second); a send still claimed after that (its instance died) is marked failed as ambiguous, never resent blindly').env('COLLOQUY_OUTBOX_LEASE').default('60000'))
  .addOption(new Option('--send-timeout <ms>', 'one request to a provider (WhatsApp, Telegram), connection included; a timeout after the request left is ambiguous').env('COLLOQUY_SEND_TIMEOUT').default('15000'))
  .addOption(new Option('--no-send', 'do not send the outbox from this instance (other instances, or none, send it); provider webhooks still work'))
  .addOption(new Option('--agent-timeout <ms>', 'how long a chat turn may take, waiting for an earlier turn of its conversation included (then 504 upstream_timeout)').env('COLLOQUY_AGENT_TIMEOUT_MS').default('120000'))
  .addOption(new Option('--agent-lease <ms>', 'a turn held by an instance that stops renewing it (it died) is taken over after this long').env('COLLOQUY_AGENT_LEASE').default('30000'))
  .addOption(new Option('--no-auto-reply', 'do not answer channels with their agents from this instance (other instances, or none, do)'))
  .addOption(new Option('--prices <file>', 'a JSON price table { "<provider>:<model>": { inputPerMTok, outputPerMTok, cachedInputPerMTok? } } in US dollars per million tokens, for costs and dailyCost budgets').env('COLLOQUY_PRICES'))
  .addOption(new Option('--webhook-lease <ms>', 'an outgoing webhook endpoint delivered by an instance that stops renewing its lease (it died) is taken over after this long').env('COLLOQUY_WEBHOOK_LEASE').default('30000'))
  .addOption(new Option('--webhook-timeout <ms>', 'one outgoing webhook attempt: no complete 2xx answer within this is a failure, retried').env('COLLOQUY_WEBHOOK_TIMEOUT').default('10000'))
  .addOption(new Option('--no-webhooks', 'do not deliver outgoing webhooks from this instance (other instances, or none, do)'))
  .addOption(new Option('--backup-dir <dir>', 'write scheduled backups (gzip JSON Lines of everything, secrets sealed as stored, API key hashes; mode 0600) into this directory').env('COLLOQUY_BACKUP_DIR'))
  .addOption(new Option('--backup-every <interval>', 'how often a backup is written (one instance of a fleet each time): 24h, 6h, 30m, 7d').env('COLLOQUY_BACKUP_EVERY').default('24h'))
  .addOption(new Option('--backup-keep <n>', 'the newest backups kept in the directory').env('COLLOQUY_BACKUP_KEEP').default('7'))
  .addOption(new Option('--trash-days <days>', 'a conversation deleted through the API stays this many days in the trash, restorable, before it is erased; 0: deleting erases at once').env('COLLOQUY_TRASH_DAYS').default('7'))
  .addOption(new Option('--report-hour <hour>', 'the local hour (0–23) from which yesterday\'s daily report is made, stored and e-mailed').env('COLLOQUY_REPORT_HOUR').default('7'))
  .addOption(new Option('--report-tz <timezone>', 'whose days the daily reports count (an IANA zone: America/Sao_Paulo)').env('COLLOQUY_REPORT_TZ').default('UTC'))
  .addOption(new Option('--alert-interval <ms>', 'how often alert conditions (channels, outbox, webhooks, budgets, ingest errors, database, Redis) are evaluated').env('COLLOQUY_ALERT_INTERVAL').default('30000'))
  .addOption(new Option('--dashboard-dir <dir>', 'serve this build of the dashboard at /dashboard/ instead of the one `npm install` built (dist/web)').env('COLLOQUY_DASHBOARD_DIR'))
  .addOption(new Option('--no-dashboard', 'do not serve the dashboard (an API-only instance)'))
  .addOption(new Option('--health-interval <ms>', 'how often every channel\'s health is judged (a channel going quiet becomes stale even when nobody looks)').env('COLLOQUY_HEALTH_INTERVAL').default('30000'))
  .action(async (options: ServeFlags) => {
    const list = (value: string | undefined) => value?.split(',').map((o) => o.trim()).filter(Boolean);
    const count = (value: string, name: string, min: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) throw new Error(`Invalid ${name} "${value}": a whole number, at least ${min}.`);
      return n;
    };
    // Loaded here: the server (and the AI SDK it brings) weighs on every other command's start otherwise.
    const { serve } = await import('./serve.js');
    const { parseEvery } = await import('./backup.js');
    await serve({
      db: options.db, port: Number(options.port), host: options.host, rateLimitPerMinute: Number(options.rateLimit), logLevel: options.logLevel,
      redis: options.redis, redisPrefix: options.redisPrefix, cache: options.cache, cacheTtlSeconds: Number(options.cacheTtl),
      secretKey: secretKey(), corsOrigins: list(options.corsOrigin),
      open: options.open ?? false, allowedHosts: list(options.allowedHost), trustProxy: list(options.trustProxy),
      authFailuresPerMinute: count(options.authFailures, '--auth-failures', 0), metricsPublic: options.metricsPublic === true || flagFromEnv('COLLOQUY_METRICS_PUBLIC'),
      limits: {
        headersTimeoutMs: count(options.headersTimeout, '--headers-timeout', 1), requestTimeoutMs: count(options.requestTimeout, '--request-timeout', 1),
        keepAliveTimeoutMs: count(options.keepAliveTimeout, '--keep-alive-timeout', 1), idleTimeoutMs: count(options.idleTimeout, '--idle-timeout', 0),
        maxConnections: count(options.maxConnections, '--max-connections', 1),
        streamsPerKey: count(options.maxStreamsPerKey, '--max-streams-per-key', 1), streamsPerServer: count(options.maxStreams, '--max-streams', 1),
      },
      agents: {
        timeoutMs: count(options.agentTimeout, '--agent-timeout', 100), leaseMs: count(options.agentLease, '--agent-lease', 1_000),
        autoReply: options.autoReply !== false, pricesFile: options.prices,
      },
      trashDays: count(options.trashDays, '--trash-days', 0),
      dashboard: options.dashboard === false ? false : options.dashboardDir,
      ...(options.backupDir ? { backups: { dir: options.backupDir, everyMs: parseEvery(options.backupEvery), keep: count(options.backupKeep, '--backup-keep', 1) } } : {}),
      reports: { hour: count(options.reportHour, '--report-hour', 0), timezone: options.reportTz },
      alerts: {
        intervalMs: count(options.alertInterval, '--alert-interval', 100),
        smtpUrl: process.env.COLLOQUY_SMTP_URL || undefined, smtpFrom: process.env.COLLOQUY_SMTP_FROM || undefined,
        adminEmails: list(process.env.COLLOQUY_ALERT_EMAILS) ?? [],
      },
      webhooks: {
        deliver: options.webhooks !== false, leaseMs: count(options.webhookLease, '--webhook-lease', 1_000), timeoutMs: count(options.webhookTimeout, '--webhook-timeout', 100),
        allowPrivate: flagFromEnv('COLLOQUY_WEBHOOKS_ALLOW_PRIVATE'),
      },
      channels: {
        send: options.send !== false, leaseMs: count(options.outboxLease, '--outbox-lease', 1_000),
        sendTimeoutMs: count(options.sendTimeout, '--send-timeout', 100), healthIntervalMs: count(options.healthInterval, '--health-interval', 100),
      },
    });
  });

interface ServeFlags {
  db: string; port: string; host: string; rateLimit: string; logLevel: string; redis?: string; redisPrefix: string; cache: 'memory' | 'none'; cacheTtl: string;
  corsOrigin?: string; open?: boolean; allowedHost?: string; trustProxy?: string; authFailures: string; metricsPublic?: boolean;
  headersTimeout: string; requestTimeout: string; keepAliveTimeout: string; idleTimeout: string; maxConnections: string; maxStreamsPerKey: string; maxStreams: string;
  outboxLease: string; sendTimeout: string; send?: boolean; healthInterval: string;
  agentTimeout: string; agentLease: string; autoReply?: boolean; prices?: string;
  webhookLease: string; webhookTimeout: string; webhooks?: boolean; alertInterval: string; trashDays: string; reportHour: string; reportTz: string; backupDir?: string; backupEvery: string; backupKeep: string;
  dashboard?: boolean; dashboardDir?: string;
}

program
  .command('migrate')
  .description('Apply pending schema migrations to the database and exit; respells stored contact handles written since the last run (merging contacts that turn out to be one person).')
  .addOption(db())
  .addOption(redis())
  .addOption(redisPrefix())
  .action(async (options: { db: string; redis?: string; redisPrefix: string }) => {
    const { applied, current, handles } = await migrate({ url: options.db });
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}; schema is at ${current}\n` : `already at ${current}; nothing to do\n`);
    if (handles) process.stdout.write(`respelled ${handles.changed} contact handle(s) to their normal form; merged ${handles.merged} contact(s) that turned out to be one person\n`);
    // Merges went around a live fleet's hot tier: with its Redis, empty it (as an import does).
    if (handles?.merged && options.redis) {
      const store = await openStore({ url: options.db, migrate: false, redis: options.redis, redisPrefix: options.redisPrefix });
      try {
        await scopeOfStore(store).hot?.clear();
        process.stdout.write('emptied the hot tier in Redis\n');
      } finally {
        await store.close();
      }
    } else if (handles?.merged) {
      process.stdout.write("if a fleet with Redis serves this database, empty its hot tier: redis-cli --scan --pattern 'colloquy:cache:*' | xargs redis-cli unlink\n");
    }
  });

program
  .command('doctor')
  .description('Check a deployment: database, schema version, contents, integrity (seq gaps, duplicate external ids, double open conversations), event delivery, Redis. Exit code 0 only when all is well. Never creates or migrates anything.')
  .addOption(db())
  .addOption(redis())
  .option('--json', 'print the checks as JSON')
  .action(async (options: { db: string; json?: boolean; redis?: string }) => {
    const result = await doctor(options.db, { secretKey: secretKey(), redis: options.redis });
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else for (const c of result.checks) process.stdout.write(`${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });

program
  .command('export')
  .description('Write every record of every tenant as JSON Lines, from one consistent snapshot (events and API keys are not exported).')
  .option('--out <file>', 'file to write (default: standard output)')
  .option('--include-secrets', 'also write channel secrets, in the clear (needs COLLOQUY_SECRET_KEY if they are encrypted)')
  .addOption(db())
  .action(async (options: { out?: string; db: string; includeSecrets?: boolean }) => {
    await exportTo(options.db, options.out, { includeSecrets: options.includeSecrets ?? false, secretKey: secretKey() });
  });

program
  .command('import')
  .description('Import a `colloquy export` file: inserts what is absent (importing twice changes nothing), merges a contact with the one already there that has one of its handles, reports every record. Every line is checked first; commits every 500 records.')
  .argument('<file>', 'a file written by `colloquy export`')
  .option('--dry-run', 'print what an import would do and change nothing (SQLite: on a throwaway copy; PostgreSQL: one transaction rolled back, which holds live events back while it runs)')
  .addOption(db())
  .addOption(redis())
  .addOption(redisPrefix())
  .action(async (file: string, options: { db: string; redis?: string; redisPrefix: string; dryRun?: boolean }) => {
    // With the fleet's Redis, the import also empties its hot tier, which the imported records went around.
    await importFrom(options.db, file, { redis: options.redis, redisPrefix: options.redisPrefix, secretKey: secretKey(), dryRun: options.dryRun ?? false });
  });

const keys = program.command('keys').description('Manage API keys: each binds its holder to one tenant.');

keys
  .command('create')
  .description('Create a key for a tenant and print it once (only its hash is stored).')
  .requiredOption('--tenant <name>', 'tenant the key acts on')
  .option('--name <label>', 'a label to recognise the key by', 'default')
  .option('--expires <when>', 'when the key stops working: an ISO-8601 date-time, or a duration from now such as 90d, 12h')
  .addOption(db())
  .action(async (options: { tenant: string; name: string; db: string; expires?: string }) => {
    await withStore(options.db, async (store) => {
      const { key, secret } = await store.keys.create({ tenant: options.tenant, name: options.name, ...(options.expires ? { expiresAt: expiryOf(options.expires) } : {}) });
      process.stdout.write(`${secret}\n`);
      process.stderr.write(`created key ${key.id} (${key.prefix}…) for tenant ${key.tenantId}; it is not shown again\n`);
    });
  });

keys
  .command('list')
  .description('List keys (id, tenant, name, prefix, created, revoked); never the keys themselves.')
  .addOption(db())
  .action(async (options: { db: string }) => {
    await withStore(options.db, async (store) => {
      let cursor: string | undefined;
      do {
        const page = await store.keys.list({ limit: 200, ...(cursor ? { cursor } : {}) });
        for (const k of page.data) {
          const state = k.revokedAt ? `revoked ${k.revokedAt}` : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? `expired ${k.expiresAt}` : k.expiresAt ? `active until ${k.expiresAt}` : 'active';
          process.stdout.write(`${k.id}\t${k.tenantId}\t${k.name}\t${k.prefix}…\t${k.createdAt}\t${state}\n`);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    });
  });

keys
  .command('revoke')
  .description('Revoke a key by id; running servers stop accepting it within 5 seconds.')
  .argument('<id>', 'key id, from `colloquy keys list`')
  .addOption(db())
  .action(async (id: string, options: { db: string }) => {
    await withStore(options.db, async (store) => {
      if (!(await store.keys.revoke(id))) throw new Error(`no active key ${id}`);
      process.stdout.write(`revoked ${id}\n`);
    });
  });

/** A yes/no setting from the environment: `1`/`true`/`yes` or `0`/`false`/`no`/empty; anything else is a mistake worth saying. */
function flagFromEnv(name: string): boolean {
  const value = (process.env[name] ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  throw new Error(`Invalid ${name} "${process.env[name]}": 1 or 0 (true or false).`);
}

/** `90d`, `12h`, `30m` from now, or a date-time as given. */
function expiryOf(text: string): string | number {
  const span = /^(\d+)([dhm])$/.exec(text);
  if (!span) return text;
  return Date.now() + Number(span[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[span[2] as 'd' | 'h' | 'm'];
}

/** Opens the database for a command that changes it, saying which one (on stderr: stdout may be piped). */
async function withStore(url: string, fn: (store: Store) => Promise<void>): Promise<void> {
  process.stderr.write(`database: ${redact(url)}\n`);
  const store = await openStore({ url, secretKey: secretKey() });
  try {
    await fn(store.as('cli'));
  } finally {
    await store.close();
  }
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`colloquy: ${(error as Error).message}\n`);
  process.exit(1);
});
