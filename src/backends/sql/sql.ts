/**
 * How shared SQL runs on each engine. Statements that both engines can run are written once, in PostgreSQL's
 * syntax with `?` placeholders; each engine adapts the text once per statement:
 *
 * - PostgreSQL numbers the placeholders (`$1`, `$2`, …);
 * - SQLite drops one-word `::type` casts, reads `greatest`/`least` as its scalar `max`/`min`, drops a final row
 *   lock clause (`FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE`: a SQLite write transaction
 *   already excludes every other writer) and `FOR UPDATE SKIP LOCKED` anywhere (no row is ever locked by another), reads `COLLATE "C"` as `COLLATE BINARY`, and `= ANY(?)` as
 *   `IN (SELECT value FROM json_each(?))`. Parameters that are arrays are bound as JSON text, booleans as 1/0.
 *   Anything else PostgreSQL-only (a multi-word cast, `ALL(…)`, `SKIP LOCKED` other than `FOR UPDATE SKIP LOCKED`, …) throws when prepared.
 *
 * Shared SQL avoids `?` anywhere but placeholders (no JSON `?` operators, no `?` inside literals).
 */

export type Row = Record<string, any>;

/** A connection, or an open transaction on one, that runs shared SQL. */
export interface SqlRunner {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  one(sql: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations), in the engine's own syntax. */
  exec(script: string): Promise<void>;
}

export interface SqlEngine extends SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /** Decodes a JSON column: text on SQLite, already parsed jsonb on PostgreSQL. */
  readonly json: (value: unknown) => any;
  /**
   * Runs `fn` in one write transaction and commits, or rolls back when it throws. Transactions never
   * interleave with other writes (SQLite: nothing else runs on the connection meanwhile; PostgreSQL: row locks).
   */
  tx<T>(fn: (sql: SqlRunner) => Promise<T>): Promise<T>;
  /** A hot read outside any transaction: rows as arrays of the selected columns, the statement prepared once; parameters are strings and numbers only (bound as they are). */
  arrays(sql: string, params: readonly unknown[]): Promise<unknown[][]>;
  /** Whether a driver error is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
}

/** Shared SQL → PostgreSQL. */
export function toPostgres(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Shared SQL → SQLite. A construct it does not know how to adapt is an error at once, never a quiet mistranslation. */
export function toSqlite(sql: string): string {
  const adapted = sql
    .replace(/=\s*ANY\(\?(?:::[a-z0-9_]+\[\])?\)/gi, 'IN (SELECT value FROM json_each(?))')
    .replace(/::[a-z_][a-z0-9_]*(\[\])?(?![\w( ])/gi, '')
    .replace(/\bgreatest\(/gi, 'max(')
    .replace(/\bleast\(/gi, 'min(')
    .replace(/\s+FOR\s+UPDATE\s+SKIP\s+LOCKED\b/gi, '')
    .replace(/\s+FOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\s*$/i, '')
    .replace(/COLLATE\s+"C"/g, 'COLLATE BINARY');
  const unknown = /::|\bANY\s*\(|\bALL\s*\(|\bFOR\s+(UPDATE|NO\s+KEY|SHARE|KEY)\b|\bSKIP\s+LOCKED\b|\bNOWAIT\b/i.exec(adapted);
  if (unknown) throw new Error(`shared SQL uses "${unknown[0]}", which toSqlite cannot adapt: ${sql}`);
  return adapted;
}

/** Parameters as better-sqlite3 binds them: arrays as JSON text, booleans as integers. */
export function sqliteParams(params: readonly unknown[]): unknown[] {
  return params.map((value) => (Array.isArray(value) ? JSON.stringify(value) : typeof value === 'boolean' ? Number(value) : value));
}

/** JSON for a parameter: text on both engines (PostgreSQL casts it to jsonb). */
export const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
