import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/index.js';

export const POSTGRES_URL = process.env.COLLOQUY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.COLLOQUY_REQUIRE_SERVICES === '1';

let postgresUp: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL answers. Tests that need it skip when it does not — unless COLLOQUY_REQUIRE_SERVICES=1
 * (set by CI), where an unreachable service is a failure, never a silent skip.
 */
export function postgresAvailable(): Promise<boolean> {
  postgresUp ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (required) throw new Error(`PostgreSQL at ${POSTGRES_URL} is required (COLLOQUY_REQUIRE_SERVICES=1) but unreachable: ${(error as Error).message}`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return postgresUp;
}

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(6).toString('hex')}`;

/** A throwaway schema in the test database; drop() removes it with everything in it. */
export async function throwawaySchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = uniqueName('colloquy_test');
  return {
    schema,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * The databases a server test runs on: SQLite in memory and a throwaway PostgreSQL schema.
 * `open()` answers undefined when PostgreSQL is unreachable (and not required).
 */
export const storeTargets: Array<{ name: 'sqlite' | 'postgres'; open(): Promise<{ store: Store; cleanup(): Promise<void> } | undefined> }> = [
  { name: 'sqlite', open: async () => ({ store: await openStore({ url: 'sqlite::memory:' }), cleanup: async () => {} }) },
  {
    name: 'postgres',
    open: async () => {
      if (!(await postgresAvailable())) return undefined;
      const { schema, drop } = await throwawaySchema();
      return { store: await openStore({ url: POSTGRES_URL, schema }), cleanup: drop };
    },
  },
];
