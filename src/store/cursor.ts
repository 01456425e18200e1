import type { Page } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { PageOptionsSchema } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';

/**
 * List cursors, opaque to clients: the list's name and the key of the last row of a page, as base64url JSON.
 * A cursor of one list is refused by another, and a tampered one is a clear 400, never a wrong page.
 */
export function encodeCursor(list: string, key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString('base64url');
}

/** The key of a cursor made by `encodeCursor(list, …)`, if `check` accepts its parts. */
export function decodeCursor<K>(list: string, cursor: string, check: (parts: unknown[]) => K | undefined): K {
  try {
    const [name, ...parts] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const key = name === list ? check(parts) : undefined;
    if (key !== undefined) return key;
  } catch {
    // fall through to the error below
  }
  throw new ColloquyError('invalid_argument', 'Invalid cursor: pass back the nextCursor of a previous page of the same list, unchanged.', { cursor });
}

/** Rows fetched with `limit + 1`: the page, and a cursor only when there is more. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  const data = rows.length > limit ? rows.slice(0, limit) : rows;
  return { data, nextCursor: rows.length > limit ? cursorOf(data.at(-1)!) : null };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** For lists keyed by id alone. */
export const idKey = (parts: unknown[]): string | undefined =>
  parts.length === 1 && typeof parts[0] === 'string' && UUID.test(parts[0]) ? parts[0] : undefined;

/**
 * One page of a list without filters: validates the options (`limit` 1–200, default 50), decodes the cursor,
 * fetches `limit + 1` rows after its key and pages them. `key` reads a cursor's parts and makes them from a row.
 */
export async function paged<T, K>(
  list: string,
  options: unknown,
  key: { check(parts: unknown[]): K | undefined; of(row: NoInfer<T>): (string | number)[] },
  fetch: (page: { after: K | undefined; limit: number }) => Promise<T[]>,
): Promise<Page<T>> {
  const v = validate(PageOptionsSchema, options, `${list} list options`);
  const limit = v.limit ?? 50;
  const after = v.cursor === undefined ? undefined : decodeCursor(list, v.cursor, key.check);
  return pageOf(await fetch({ after, limit: limit + 1 }), limit, (last) => encodeCursor(list, key.of(last)));
}

/** Lists keyed by id alone (ids are time-ordered: oldest first). */
export const byId = { check: idKey, of: (row: { id: string }) => [row.id] };
