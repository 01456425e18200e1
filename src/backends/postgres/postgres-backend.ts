import type { Pool, PoolClient } from 'pg';
import { ColloquyError } from '../../domain/errors.js';
import { createPostgresBus } from '../../events/postgres-bus.js';
import type { Backend } from '../backend.js';
import { loadMigrations, type Bookkeeping, type Migration } from '../sql/migrations.js';
import { createSqlBackend } from '../sql/sql-backend.js';
import { toPostgres, type Row, type SqlEngine, type SqlRunner } from '../sql/sql.js';
import { createTables } from '../sql/tables.js';
import { transactionalAppend } from '../sql/messages.js';
import { compareEventIds, postgresHotPath } from './postgres-hot-path.js';

export interface PostgresConfig {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** Schema for Colloquy's tables (created if missing). Default: the connection's search_path (usually public). */
  readonly schema?: string;
  /** Pool size. Default 10. */
  readonly poolSize?: number;
  /** Per-statement timeout; a hung database answers `unavailable` instead of hanging requests. Default 30000 ms. */
  readonly statementTimeoutMs?: number;
  /** How long to wait for a connection. Default 10000 ms. */
  readonly connectTimeoutMs?: number;
  /** The migrations to run: this code's own unless given (tests of rolling upgrades give more). */
  readonly migrations?: Migration[];
}

const MIGRATIONS = loadMigrations(new URL('./migrations/', import.meta.url));
const INT8 = 20;
const MIGRATION_LOCK = 7_236_930_151; // arbitrary constant: serialises concurrent migrators

/** `postgres://…?schema=name`: the schema parameter is Colloquy's, not the driver's. */
export function postgresConfigOf(url: string, options: { schema?: string | undefined; poolSize?: number | undefined }): PostgresConfig {
  const parsed = new URL(url);
  const schema = options.schema ?? parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), ...(schema ? { schema } : {}), ...(options.poolSize ? { poolSize: options.poolSize } : {}) };
}

/** PostgreSQL backend on a `pg` pool. Hot paths (append, ingest) are one round trip each. */
export async function createPostgresBackend(config: PostgresConfig): Promise<Backend> {
  const { default: pg } = await import('pg');
  const settings = Object.freeze({ poolSize: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 10_000, migrations: MIGRATIONS, ...config });
  if (settings.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(settings.schema)) {
    throw new ColloquyError('invalid_argument', `Invalid schema name "${settings.schema}": use lowercase letters, digits and _.`);
  }
  let queries = 0;
  /** Counts every statement sent, for the round-trip metric. */
  class CountingClient extends pg.Client {
    override query(...args: unknown[]): never {
      queries++;
      return (super.query as (...a: unknown[]) => never)(...args);
    }
  }
  const pool: Pool = new pg.Pool({
    Client: CountingClient,
    connectionString: settings.url,
    max: settings.poolSize,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    // The locking in the SQL functions relies on READ COMMITTED, whatever the server's default.
    options: `-c default_transaction_isolation=read\\ committed${settings.schema ? ` -c search_path=${settings.schema}` : ''}`,
    // int8 columns here are epoch ms and sequence numbers: far below 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as never },
  });
  // An idle client that loses its server must not crash the process; the next query reports `unavailable`.
  pool.on('error', () => {});

  /** Shared SQL on a client or the pool; each text is numbered once. */
  const texts = new Map<string, string>();
  const text = (sql: string): string => {
    let numbered = texts.get(sql);
    if (numbered === undefined) texts.set(sql, (numbered = toPostgres(sql)));
    return numbered;
  };
  const runner = (on: Pool | PoolClient): SqlRunner => ({
    all: async (sql, params = []) => (await on.query(text(sql), params as unknown[])).rows as Row[],
    one: async (sql, params = []) => (await on.query(text(sql), params as unknown[])).rows[0] as Row | undefined,
    run: async (sql, params = []) => (await on.query(text(sql), params as unknown[])).rowCount ?? 0,
    exec: async (script) => void (await on.query(script)),
  });
  const names = new Map<string, string>();

  const engine: SqlEngine = {
    dialect: 'postgres',
    json: (value) => value,
    ...runner(pool),
    async arrays(sql, params) {
      // A named statement: prepared once per connection.
      let name = names.get(sql);
      if (!name) names.set(sql, (name = `colloquy_read_${names.size + 1}`));
      return (await pool.query({ name, text: text(sql), values: params as unknown[], rowMode: 'array' })).rows as unknown[][];
    },
    async tx(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => { broken = rollbackError; });
        throw error;
      } finally {
        client.release(broken); // a client whose ROLLBACK failed may still be in a transaction: destroy it
      }
    },
    isUniqueViolation: (error) => (error as { code?: string })?.code === '23505',
  };

  const tables = createTables(engine.json);
  const hot = postgresHotPath(pool, tables);
  const usageAppend = transactionalAppend(engine, tables);
  const where = `${redact(settings.url)}${settings.schema ? ` (schema ${settings.schema})` : ''}`;
  // The bus's own connection uses the same database; NOTIFY is per database, not per schema.
  const busUrl = settings.url;

  return createSqlBackend({
    sql: engine,
    tables,
    capabilities: Object.freeze({ multiProcess: true, eventBus: () => createPostgresBus(busUrl) }),
    migrations: settings.migrations,
    books: bookkeeping(settings.schema, where),
    // A usage record is written beside its message: plain statements in one transaction rather than the append function.
    append: (tenant, conversationId, m) => (m.usage ? usageAppend(tenant, conversationId, m) : hot.append(tenant, conversationId, m)),
    ingest: hot.ingest,
    listEvents: hot.listEvents,
    eventsHead: hot.eventsHead,
    compareEventIds,
    eraseEvents: hot.eraseEvents,
    async *snapshot(read) {
      // One REPEATABLE READ snapshot for the whole export.
      const client = await pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        yield* read(runner(client));
        await client.query('COMMIT');
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
    async warnings() {
      const warnings: string[] = [];
      // Event delivery waits for every older transaction: report the ones that hold it back.
      const old = await engine.all(`SELECT pid, state, now() - xact_start AS age FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND xact_start < now() - interval '60 seconds' ORDER BY xact_start LIMIT 5`);
      for (const r of old) warnings.push(`transaction of pid ${r.pid} (${r.state}) has been open for ${JSON.stringify(r.age)}: live events wait until it ends`);
      const prepared = await engine.one('SELECT count(*)::int AS n FROM pg_prepared_xacts');
      if (prepared?.n) warnings.push(`${prepared.n} prepared transaction(s) are pending: live events wait until they are committed or rolled back`);
      const ahead = await engine.one('SELECT max(tx)::text AS tx FROM events WHERE tx >= pg_snapshot_xmax(pg_current_snapshot())');
      if (ahead?.tx) warnings.push('events carry transaction ids ahead of this cluster (a restored dump?): new events sort before them; restart event consumers from the beginning');
      return warnings;
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, queries }),
    close: () => pool.end(),
    translate,
  });
}

/** `colloquy_migrations`, created by the first migration run; an advisory lock serialises concurrent migrators. */
function bookkeeping(schema: string | undefined, where: string): Bookkeeping {
  return {
    where,
    async prepare(sql) {
      await sql.one('SELECT pg_advisory_xact_lock(?) AS locked', [MIGRATION_LOCK]);
      if (schema) await sql.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await sql.exec(`CREATE TABLE IF NOT EXISTS colloquy_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
        ALTER TABLE colloquy_migrations ADD COLUMN IF NOT EXISTS backward_compatible boolean NOT NULL DEFAULT false`);
    },
    async applied(sql) {
      const table = await sql.one(`SELECT to_regclass('colloquy_migrations') AS t`);
      if (!table?.t) return [];
      const columns = await sql.all(`SELECT column_name FROM information_schema.columns
        WHERE table_name = 'colloquy_migrations' AND table_schema = current_schema() AND column_name = 'backward_compatible'`);
      const rows = await sql.all(`SELECT version, ${columns.length ? 'backward_compatible' : 'false AS backward_compatible'} FROM colloquy_migrations ORDER BY version`);
      return rows.map((r) => ({ version: r.version, backwardCompatible: r.backward_compatible === true }));
    },
    async record(sql, m) {
      await sql.run('INSERT INTO colloquy_migrations (version, name, backward_compatible) VALUES (?, ?, ?)', [m.version, m.name, m.backwardCompatible]);
    },
  };
}

const redact = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Driver errors → ColloquyError, at the backend boundary. */
function translate(error: unknown): unknown {
  if (error instanceof ColloquyError) return error;
  const code = String((error as { code?: string })?.code ?? '');
  const message = (error as Error)?.message ?? String(error);
  if (code === '23505' || code === '23P01') return new ColloquyError('conflict', `The change conflicts with existing data (${message}).`, { driverCode: code }, { cause: error });
  if (code === '23503') return new ColloquyError('not_found', `A referenced record does not exist (${message}).`, { driverCode: code }, { cause: error });
  if (code === '3D000') {
    return new ColloquyError('unavailable', `There is no such database on this PostgreSQL server (${message}): create it (\`createdb <name>\`) or fix the URL.`,
      { reason: 'database_missing', driverCode: code }, { cause: error });
  }
  if (code === '42P01' || code === '42883' || code === '3F000' || code === '42703') {
    return new ColloquyError('unavailable', `Colloquy's tables are missing (${message}): run \`colloquy migrate\` or open the store with migrate: true.`, { reason: 'schema_missing', driverCode: code }, { cause: error });
  }
  if (code.startsWith('22')) return new ColloquyError('invalid_argument', `PostgreSQL rejected a value (${message}).`, { driverCode: code }, { cause: error });
  if (/^(08|53|57|58|40)/.test(code) || /^E(CONN|HOST|NET|PIPE|TIMEDOUT|AI_)/.test(code) ||
      /timeout|terminat|Connection|connect|pool/i.test(message)) {
    return new ColloquyError('unavailable', `PostgreSQL is unavailable (${message}); nothing was acknowledged.`, { driverCode: code || undefined }, { cause: error });
  }
  return new ColloquyError('internal', `Unexpected PostgreSQL error (${message}); nothing was acknowledged.`, { driverCode: code || undefined }, { cause: error });
}
