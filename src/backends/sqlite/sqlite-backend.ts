import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import { ColloquyError } from '../../domain/errors.js';
import type { Backend } from '../backend.js';
import { loadMigrations, type Applied, type Bookkeeping, type Migration } from '../sql/migrations.js';
import { createSqlBackend } from '../sql/sql-backend.js';
import { sqliteParams, toSqlite, type Row, type SqlEngine, type SqlRunner } from '../sql/sql.js';
import { createTables } from '../sql/tables.js';
import { startCheckpointer } from './checkpointer.js';
import { ConnectionGate } from './connection-gate.js';
import { compareEventIds, sqliteHotPath } from './sqlite-hot-path.js';

export interface SqliteConfig {
  /** File path, or ':memory:'. The parent directory is created when missing. */
  readonly path: string;
  /**
   * 'normal' (default): WAL with synchronous=NORMAL — every acknowledged write survives a process crash;
   * the last moments may be lost on power loss or an OS crash.
   * 'full': synchronous=FULL — also survives power loss, at the cost of an fsync per commit.
   */
  readonly durability?: 'normal' | 'full';
  /** How long a write waits for another process holding the file's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** The migrations to run: this code's own unless given (tests of rolling upgrades give more). */
  readonly migrations?: Migration[];
  /** Fail with `unavailable` (reason `database_missing`) rather than create a file that does not exist. */
  readonly mustExist?: boolean;
}

const MIGRATIONS = loadMigrations(new URL('./migrations/', import.meta.url));

/** `sqlite:<path>`, `sqlite://<path>` or `sqlite::memory:` → the path. */
export function sqlitePath(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (!path) throw new ColloquyError('invalid_argument', 'The SQLite URL has no path: use sqlite:./data/colloquy.db or sqlite::memory:.');
  return path;
}

async function loadDriver(): Promise<typeof import('better-sqlite3')> {
  try {
    return (await import('better-sqlite3')).default;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes("'better-sqlite3'");
    throw new ColloquyError('unavailable', missing
      ? 'SQLite needs the optional package better-sqlite3, which is not installed here: run `npm install better-sqlite3` (or use a postgres:// URL).'
      : `The SQLite driver better-sqlite3 is installed but does not load (${(error as Error).message}): rebuild it for this Node.js with \`npm rebuild better-sqlite3\`.`,
    { reason: missing ? 'driver_missing' : 'driver_broken', package: 'better-sqlite3' }, { cause: error });
  }
}

/** SQLite backend on better-sqlite3: one connection, writes in IMMEDIATE transactions that never interleave. */
export async function createSqliteBackend(config: SqliteConfig): Promise<Backend> {
  if (config.mustExist && config.path !== ':memory:' && !existsSync(config.path)) {
    throw new ColloquyError('unavailable', `There is no database at ${config.path}: check the path (or the working directory), or create one with \`colloquy migrate\`.`,
      { reason: 'database_missing', path: config.path });
  }
  const Driver = await loadDriver();
  const settings = Object.freeze({ durability: 'normal', busyTimeoutMs: 5000, migrations: MIGRATIONS, ...config });
  const db = openDatabase(Driver, settings.path, settings.durability, settings.busyTimeoutMs);
  const memory = settings.path === ':memory:';
  const checkpointer = memory ? undefined : startCheckpointer(settings.path, 20);
  const gate = new ConnectionGate();

  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(toSqlite(sql));
      statements.set(sql, statement);
    }
    return statement;
  };
  const arrays = new Map<string, Statement>();
  const prepareArrays = (sql: string): Statement => {
    let statement = arrays.get(sql);
    if (!statement) {
      statement = db.prepare(toSqlite(sql)).raw(true);
      arrays.set(sql, statement);
    }
    return statement;
  };

  /** Runs on the connection as it is: inside a transaction that holds the gate, or for another connection. */
  const direct = (on: (sql: string) => Statement, database: Database): SqlRunner => ({
    all: async (sql, params = []) => on(sql).all(...sqliteParams(params)) as Row[],
    one: async (sql, params = []) => on(sql).get(...sqliteParams(params)) as Row | undefined,
    run: async (sql, params = []) => on(sql).run(...sqliteParams(params)).changes,
    exec: async (script) => void database.exec(script),
  });
  const inside = direct(prepare, db);
  /** Outside a transaction, every statement waits while one holds the connection. */
  const outside = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => {
    const run = (...args: A): Promise<R> => (gate.held ? gate.free().then(() => run(...args)) : fn(...args));
    return run;
  };

  const engine: SqlEngine = {
    dialect: 'sqlite',
    json: (value) => (value === null ? null : JSON.parse(value as string)),
    all: outside(inside.all),
    one: outside(inside.one),
    run: outside(inside.run),
    exec: outside(inside.exec),
    // The hot read: no async frame of its own (a page read is a few µs, and every layer counts).
    arrays: outside((sql, params) => {
      try {
        return Promise.resolve(prepareArrays(sql).all(...params) as unknown[][]);
      } catch (error) {
        return Promise.reject(error);
      }
    }),
    tx: (fn) => gate.exclusive(async () => {
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(inside);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    }),
    isUniqueViolation: (error) => /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test((error as { code?: string })?.code ?? ''),
  };

  const tables = createTables(engine.json);
  const hot = sqliteHotPath(db, prepare, gate, tables);

  return createSqlBackend({
    sql: engine,
    tables,
    capabilities: Object.freeze({ multiProcess: false, eventBus: undefined }),
    migrations: settings.migrations,
    books: bookkeeping(db, settings.migrations, settings.path),
    append: hot.append,
    ingest: hot.ingest,
    listEvents: hot.listEvents,
    eventsHead: hot.eventsHead,
    compareEventIds,
    eraseEvents: hot.eraseEvents,
    async *snapshot(read) {
      if (memory) {
        // One connection, no second reader: read it all while holding it (an in-memory database is small).
        const records = await gate.exclusive(async () => {
          const all = [];
          for await (const record of read(inside)) all.push(record);
          return all;
        });
        yield* records;
        return;
      }
      // Its own read-only connection in one read transaction: a consistent snapshot that never blocks writers.
      const reader = new Driver(settings.path, { readonly: true, timeout: settings.busyTimeoutMs });
      const own = new Map<string, Statement>();
      reader.exec('BEGIN');
      try {
        yield* read(direct((sql) => {
          let statement = own.get(sql);
          if (!statement) own.set(sql, (statement = reader.prepare(toSqlite(sql))));
          return statement;
        }, reader));
      } finally {
        reader.exec('COMMIT');
        reader.close();
      }
    },
    async scratchCopy() {
      const dir = mkdtempSync(join(tmpdir(), 'colloquy-copy-'));
      const path = join(dir, 'copy.db');
      const into = `VACUUM INTO '${path.replaceAll("'", "''")}'`;
      // A read of its own connection (an in-memory database has only the one): the live database stays writable.
      if (memory) await gate.exclusive(async () => db.exec(into));
      else {
        const reader = new Driver(settings.path, { readonly: true, timeout: settings.busyTimeoutMs });
        try {
          reader.exec(into);
        } finally {
          reader.close();
        }
      }
      const copy = await createSqliteBackend({ path, migrations: settings.migrations });
      return {
        ...copy,
        async discard() {
          await copy.admin.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    warnings: async () => [],
    poolStats: () => null,
    async close() {
      while (gate.held) await gate.free();
      await checkpointer?.stop();
      if (db.open) db.close();
    },
    translate,
  });
}

/**
 * Applied migrations in `colloquy_migrations`, and the newest version also in `user_version` (what Colloquy
 * read before that table existed, so an older Colloquy still refuses a newer database).
 */
function bookkeeping(db: Database, migrations: Migration[], where: string): Bookkeeping {
  const userVersion = () => db.pragma('user_version', { simple: true }) as number;
  return {
    where,
    async prepare(sql) {
      await sql.exec(`CREATE TABLE IF NOT EXISTS colloquy_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, backward_compatible INTEGER NOT NULL DEFAULT 0,
        applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`);
      // A database migrated before the table existed: its versions, from user_version.
      for (let v = ((await sql.one('SELECT max(version) AS v FROM colloquy_migrations'))?.v ?? 0) + 1; v <= userVersion(); v++) {
        await sql.run('INSERT INTO colloquy_migrations (version, name) VALUES (?, ?)', [v, migrations[v - 1]?.name ?? `${String(v).padStart(4, '0')}-unknown`]);
      }
    },
    async applied(sql) {
      const table = await sql.one("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'colloquy_migrations'");
      const rows: Applied[] = table
        ? (await sql.all('SELECT version, backward_compatible FROM colloquy_migrations ORDER BY version'))
          .map((r) => ({ version: r.version, backwardCompatible: r.backward_compatible === 1 }))
        : [];
      for (let v = (rows.at(-1)?.version ?? 0) + 1; v <= userVersion(); v++) rows.push({ version: v, backwardCompatible: false });
      return rows;
    },
    async record(sql, m) {
      await sql.run('INSERT INTO colloquy_migrations (version, name, backward_compatible) VALUES (?, ?, ?)', [m.version, m.name, m.backwardCompatible]);
      await sql.exec(`PRAGMA user_version = ${m.version}`);
    },
  };
}

function openDatabase(Driver: typeof import('better-sqlite3'), path: string, durability: string, busyTimeoutMs: number): Database {
  let db: Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Driver(path, { timeout: busyTimeoutMs });
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    // Checkpoints normally run on the checkpointer's thread. Under writes without pause the WAL cannot restart
    // from there, so this inline checkpoint bounds it (~16 MB); measured trade-off in bench/RESULTS.md.
    db.pragma('wal_autocheckpoint = 4000');
    return db;
  } catch (error) {
    db?.close();
    throw translate(error, `cannot open SQLite file ${path}`);
  }
}

/** Driver errors → ColloquyError, at the backend boundary. */
function translate(error: unknown, context?: string): unknown {
  if (error instanceof ColloquyError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const why = `${context ? `${context}: ` : ''}${(error as Error)?.message ?? String(error)}`;
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new ColloquyError('not_found', `A referenced record does not exist (${why}).`, { driverCode: code }, { cause: error });
  if (code === 'SQLITE_ERROR' && /no such (table|column)/.test(why)) {
    return new ColloquyError('unavailable', `Colloquy's tables are missing (${why}): run \`colloquy migrate\` or open the store with migrate: true.`, { reason: 'schema_missing', driverCode: code }, { cause: error });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return new ColloquyError('conflict', `The change breaks a database constraint (${why}).`, { driverCode: code }, { cause: error });
  if (/^(SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PERM|AUTH)|E(NOENT|ACCES|PERM|ROFS|NOSPC|NOTDIR))/.test(code) ||
      (error as Error)?.message === 'The database connection is not open') {
    return new ColloquyError('unavailable', `SQLite is unavailable (${why}); nothing was written.`, { driverCode: code }, { cause: error });
  }
  return new ColloquyError('internal', `Unexpected SQLite error (${why}); nothing was written.`, { driverCode: code || undefined }, { cause: error });
}
