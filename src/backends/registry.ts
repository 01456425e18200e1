import { ColloquyError } from '../domain/errors.js';
import type { Backend } from './backend.js';

/** What opening a backend may take besides its URL (the store's config, minus what only the store reads). */
export interface BackendOptions {
  readonly durability?: 'normal' | 'full' | undefined;
  readonly schema?: string | undefined;
  readonly poolSize?: number | undefined;
  /** Refuse to create the database (a SQLite file): opening one as it is must not leave an empty new one behind. */
  readonly mustExist?: boolean | undefined;
}

type Opener = (url: string, options: BackendOptions) => Promise<Backend>;

/**
 * Backends by URL scheme. Each module is imported only when its scheme is used, so that a PostgreSQL deployment
 * never loads better-sqlite3 and the reverse. A new backend adds its scheme here.
 */
const BACKENDS: Record<string, Opener> = {
  sqlite: async (url, options) => {
    const { createSqliteBackend, sqlitePath } = await import('./sqlite/sqlite-backend.js');
    return createSqliteBackend({ path: sqlitePath(url), ...(options.durability ? { durability: options.durability } : {}), mustExist: options.mustExist ?? false });
  },
  postgres: async (url, options) => {
    const { createPostgresBackend, postgresConfigOf } = await import('./postgres/postgres-backend.js');
    return createPostgresBackend(postgresConfigOf(url, options));
  },
};
const ALIASES: Record<string, string> = { postgresql: 'postgres' };

/** Opens the backend named by the URL's scheme. */
export function openBackend(url: string, options: BackendOptions = {}): Promise<Backend> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
  const open = BACKENDS[ALIASES[scheme] ?? scheme];
  if (!open) {
    return Promise.reject(new ColloquyError('invalid_argument',
      `Unsupported database URL "${scheme || url.slice(0, 20)}:…": use sqlite:<path>, sqlite::memory: or postgres://…`, { scheme }));
  }
  return open(url, options);
}
