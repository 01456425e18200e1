#!/usr/bin/env node
import { Command, Option } from 'commander';
import { doctor, redact } from './doctor.js';
import { exportTo, importFrom } from './portable.js';
import { serve } from './serve.js';
import { migrate, openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
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
  .action(async (options: { db: string; port: string; host: string; rateLimit: string; logLevel: string; redis?: string; redisPrefix: string; cache: 'memory' | 'none'; cacheTtl: string; corsOrigin?: string }) => {
    await serve({
      db: options.db, port: Number(options.port), host: options.host, rateLimitPerMinute: Number(options.rateLimit), logLevel: options.logLevel,
      redis: options.redis, redisPrefix: options.redisPrefix, cache: options.cache, cacheTtlSeconds: Number(options.cacheTtl),
      secretKey: secretKey(), corsOrigins: options.corsOrigin?.split(',').map((o) => o.trim()).filter(Boolean),
    });
  });

program
  .command('migrate')
  .description('Apply pending schema migrations to the database and exit.')
  .addOption(db())
  .action(async (options: { db: string }) => {
    const { applied, current } = await migrate({ url: options.db });
    process.stdout.write(applied.length ? `applied ${applied.join(', ')}; schema is at ${current}\n` : `already at ${current}; nothing to do\n`);
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
  .addOption(db())
  .action(async (options: { tenant: string; name: string; db: string }) => {
    await withStore(options.db, async (store) => {
      const { key, secret } = await store.keys.create({ tenant: options.tenant, name: options.name });
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
        for (const k of page.data) process.stdout.write(`${k.id}\t${k.tenantId}\t${k.name}\t${k.prefix}…\t${k.createdAt}\t${k.revokedAt ?? 'active'}\n`);
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

/** Opens the database for a command that changes it, saying which one (on stderr: stdout may be piped). */
async function withStore(url: string, fn: (store: Store) => Promise<void>): Promise<void> {
  process.stderr.write(`database: ${redact(url)}\n`);
  const store = await openStore({ url, secretKey: secretKey() });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`colloquy: ${(error as Error).message}\n`);
  process.exit(1);
});
