import type { Backend } from '../backends/backend.js';
import { ColloquyError } from '../domain/errors.js';
import { assertTenant, createStore, type Store } from './store.js';

export interface StoreConfig {
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://user:pass@host:port/db`. */
  readonly url: string;
  /** Tenant of the returned store; `store.tenant(id)` gives others. Default `default`. */
  readonly tenant?: string;
  /** Apply pending migrations on open. Default true; with false, a database not exactly at this code's schema is an error. */
  readonly migrate?: boolean;
  /** SQLite: 'normal' (default, survives a process crash) or 'full' (also survives power loss). */
  readonly durability?: 'normal' | 'full';
  /** PostgreSQL: schema for Colloquy's tables (created if missing); also accepted as `?schema=` in the URL. */
  readonly schema?: string;
  /** PostgreSQL: connection pool size. Default 10. */
  readonly poolSize?: number;
  /** Time source in epoch ms, for tests. Default Date.now. */
  readonly clock?: () => number;
}

/** Opens the backend named by `config.url`. Drivers load lazily: PostgreSQL users never load better-sqlite3. */
export async function openBackend(config: StoreConfig): Promise<Backend> {
  const url = config.url;
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw new ColloquyError('invalid_argument', 'The SQLite URL has no path: use sqlite:./data/colloquy.db or sqlite::memory:.');
    const { createSqliteBackend } = await import('../backends/sqlite/sqlite-backend.js');
    return createSqliteBackend({ path, ...(config.durability ? { durability: config.durability } : {}) });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // `?schema=name` in the URL is the same as the `schema` option (handy for the CLI and COLLOQUY_DB_URL).
    const parsed = new URL(url);
    const schema = config.schema ?? parsed.searchParams.get('schema') ?? undefined;
    parsed.searchParams.delete('schema');
    const { createPostgresBackend } = await import('../backends/postgres/postgres-backend.js');
    return createPostgresBackend({
      url: parsed.toString(), ...(schema ? { schema } : {}), ...(config.poolSize ? { poolSize: config.poolSize } : {}),
    });
  }
  throw new ColloquyError('invalid_argument', `Unsupported database URL "${url.split(':')[0]}:…": use sqlite:<path>, sqlite::memory: or postgres://…`);
}

/** Opens a store: connects, migrates (unless `migrate: false`) and returns the API for `config.tenant`. */
export async function openStore(config: StoreConfig): Promise<Store> {
  assertTenant(config.tenant ?? 'default');
  const backend = await openBackend(config);
  try {
    if (config.migrate !== false) await backend.migrate();
    else await backend.checkSchema();
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  return createStore(backend, config.tenant ?? 'default', config.clock ?? Date.now);
}

/** Applies pending migrations and closes; returns the names applied. The CLI's `colloquy migrate`. */
export async function migrate(config: StoreConfig): Promise<{ applied: string[]; current: string | null }> {
  const backend = await openBackend(config);
  try {
    return await backend.migrate();
  } finally {
    await backend.close();
  }
}
