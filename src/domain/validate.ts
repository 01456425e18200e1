import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { ColloquyError } from './errors.js';

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/**
 * Validates `value` against `schema` and returns it typed; otherwise throws `invalid_argument` naming the fields.
 * Strings anywhere in the value must be well-formed Unicode without NUL: PostgreSQL cannot store NUL, and
 * SQLite and PostgreSQL would otherwise disagree about what was stored.
 */
export function validate<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  let validator = compiled.get(schema);
  if (!validator) {
    validator = Compile(schema);
    compiled.set(schema, validator);
  }
  if (!validator.Check(value)) {
    const errors = [...validator.Errors(value)]
      .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean')
      .slice(0, 5)
      .map((e) => ({ path: e.instancePath || '/', message: e.message }));
    const first = errors[0];
    throw new ColloquyError(
      'invalid_argument',
      first ? `Invalid ${what}: ${first.path} ${first.message}.` : `Invalid ${what}.`,
      { errors },
    );
  }
  const bad = findBadText(value, '');
  if (bad) throw new ColloquyError('invalid_argument', `Invalid ${what}: ${bad.path} ${bad.reason}.`, { errors: [bad] });
  return value as Static<S>;
}

function findBadText(value: unknown, path: string, depth = 0): { path: string; reason: string } | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path: path || '/', reason: 'contains a NUL character' };
    if (!value.isWellFormed()) return { path: path || '/', reason: 'is not well-formed Unicode' };
    return undefined;
  }
  // undefined is an absent optional field in JS; JSON.stringify drops it.
  if (value === null || value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: path || '/', reason: 'must be finite' };
  if (typeof value !== 'object') return { path: path || '/', reason: 'is not a JSON value' };
  if (depth > 32) return { path: path || '/', reason: 'is nested more than 32 levels deep' };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findBadText(value[i], `${path}/${i}`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const bad = findBadText(key, `${path}/${key}`) ?? findBadText((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1);
    if (bad) return bad;
  }
  return undefined;
}

/** Parses a Timestamp (ISO-8601 string or epoch ms) into epoch ms. */
export function toEpochMs(value: string | number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 8.64e15) {
    throw new ColloquyError('invalid_argument', `Invalid ${field}: expected an ISO-8601 date-time or epoch milliseconds, from 1970 on.`, {
      errors: [{ path: `/${field}`, message: 'is not a date-time' }],
    });
  }
  return ms;
}
