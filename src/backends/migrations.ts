import { readdirSync, readFileSync } from 'node:fs';
import { ColloquyError } from '../domain/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNNN-name.sql` files from a folder, in version order. Versions are gapless from 1. */
export function loadMigrations(folder: URL): Migration[] {
  const migrations = readdirSync(folder)
    .filter((file) => /^\d{4}-[a-z0-9-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(0, -4),
      sql: readFileSync(new URL(file, folder), 'utf8'),
    }));
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} is out of sequence in ${folder.pathname}`);
  });
  return migrations;
}

/** Refuses a database that a newer Colloquy has migrated (this code would misread it), or, when asked, one that is behind. */
export function assertNotTooNew(current: number, migrations: Migration[], where: string, requireCurrent = false): void {
  const latest = migrations.length;
  if (requireCurrent && current < latest) {
    throw new ColloquyError(
      'schema_outdated',
      `The database at ${where} has schema version ${current}, but this Colloquy needs ${latest}: ` +
        'run `colloquy migrate` (or open the store with migrate: true).',
      { databaseVersion: current, codeVersion: latest },
    );
  }
  if (current > latest) {
    throw new ColloquyError(
      'schema_too_new',
      `The database at ${where} has schema version ${current}, but this Colloquy knows only up to ${latest}. ` +
        'Upgrade Colloquy (or point it at another database); it will not touch a schema it does not know.',
      { databaseVersion: current, codeVersion: latest },
    );
  }
}
