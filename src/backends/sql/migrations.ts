import { readdirSync, readFileSync } from 'node:fs';
import { ColloquyError } from '../../domain/errors.js';
import type { MigrationReport } from '../backend.js';
import type { SqlEngine, SqlRunner } from './sql.js';

/**
 * Schema migrations, numbered alike on both engines: migration N is the same schema step on SQLite and on
 * PostgreSQL (a step one engine does not need is an empty file there).
 *
 * Rolling upgrades: a fleet is upgraded one instance at a time, so version N and N+1 share one database for a
 * while. Migrations are written expand-then-contract (add, backfill, switch, and drop only in a later release)
 * and each declares in its header whether the previous version can run on it:
 *
 *     -- backward-compatible: yes
 *
 * The answer is recorded in the database with the migration, so that code which does not know a migration can
 * still tell: it runs on a database one compatible migration ahead of it, and refuses anything further.
 * Migrations 0001–0003 predate the header (and count as not compatible).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  backwardCompatible: boolean;
}

/** What a database says it has applied. */
export interface Applied {
  version: number;
  backwardCompatible: boolean;
}

/** The engine's bookkeeping of applied migrations (a `colloquy_migrations` table on both). */
export interface Bookkeeping {
  /** Inside the migration transaction, before reading: takes the engine's migration lock and creates the table. */
  prepare(sql: SqlRunner): Promise<void>;
  /** What is applied, in version order; empty for a database never migrated (without creating anything). */
  applied(sql: SqlRunner): Promise<Applied[]>;
  /** Records `m` as applied, in the migration transaction. */
  record(sql: SqlRunner, m: Migration): Promise<void>;
  /** The database, for messages (no password). */
  readonly where: string;
}

const HEADER = /^-- backward-compatible: (yes|no)\b/m;

/** Reads `NNNN-name.sql` files from a folder, in version order. Versions are gapless from 1. */
export function loadMigrations(folder: URL): Migration[] {
  const migrations = readdirSync(folder)
    .filter((file) => /^\d{4}-[a-z0-9-]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(new URL(file, folder), 'utf8');
      const version = Number(file.slice(0, 4));
      const header = HEADER.exec(sql);
      if (!header && version > 3) throw new Error(`migration ${file} lacks its "-- backward-compatible: yes|no" header`);
      return { version, name: file.slice(0, -4), sql, backwardCompatible: header?.[1] === 'yes' };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} is out of sequence in ${folder.pathname}`);
  });
  return migrations;
}

/**
 * Whether code knowing `migrations` may run on a database that applied `applied`: refuses one that is behind
 * (when `requireCurrent`) and one that is ahead, except by a single migration marked backward-compatible.
 */
export function assertRunnable(applied: Applied[], migrations: Migration[], where: string, requireCurrent: boolean): void {
  const latest = migrations.length;
  const current = applied.at(-1)?.version ?? 0;
  if (requireCurrent && current < latest) {
    throw new ColloquyError(
      'schema_outdated',
      `The database at ${where} has schema version ${current}, but this Colloquy needs ${latest}: ` +
        'run `colloquy migrate` (or open the store with migrate: true).',
      { databaseVersion: current, codeVersion: latest },
    );
  }
  const ahead = applied.filter((m) => m.version > latest);
  if (current > latest && !(current === latest + 1 && ahead.length === 1 && ahead[0]!.backwardCompatible)) {
    throw new ColloquyError(
      'schema_too_new',
      `The database at ${where} has schema version ${current}, but this Colloquy knows only up to ${latest}` +
        `${current === latest + 1 ? ' and that migration is not one the previous version can run on' : ''}. ` +
        'Upgrade Colloquy (or point it at another database); it will not touch a schema it does not know.',
      { databaseVersion: current, codeVersion: latest },
    );
  }
}

/** Applies the pending migrations in one transaction, under the engine's migration lock. */
export function migrateSchema(engine: SqlEngine, migrations: Migration[], books: Bookkeeping): Promise<MigrationReport> {
  return engine.tx(async (sql) => {
    await books.prepare(sql);
    const applied = await books.applied(sql);
    assertRunnable(applied, migrations, books.where, false);
    const current = applied.at(-1)?.version ?? 0;
    const pending = migrations.filter((m) => m.version > current);
    for (const m of pending) {
      await sql.exec(m.sql);
      await books.record(sql, m);
    }
    const ahead = current > migrations.length ? `${String(current).padStart(4, '0')} (a newer, compatible version's)` : null;
    return { applied: pending.map((m) => m.name), current: ahead ?? migrations.at(-1)?.name ?? null };
  });
}

/** Throws `schema_outdated` or `schema_too_new` unless this code can run on the database as it is. */
export async function checkSchema(engine: SqlEngine, migrations: Migration[], books: Bookkeeping): Promise<void> {
  assertRunnable(await books.applied(engine), migrations, books.where, true);
}
