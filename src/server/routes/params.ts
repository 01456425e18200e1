import Type from 'typebox';
import { IdSchema } from '../../domain/entities.js';
import { notFound } from '../../domain/errors.js';

/** `:id` in a path: a UUID, else 400 before any lookup. */
export const IdParams = Type.Object({ id: IdSchema }, { additionalProperties: false });

/** An optional `Idempotency-Key` header: a repeat with the same key answers the first result (200, not 201). */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) });

/** The record a lookup found, or 404 `not_found`. */
export function found<T>(value: T | null, what: string, id: string): T {
  if (value === null) throw notFound(what, id);
  return value;
}
