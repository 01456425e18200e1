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
  if (!validator.Check(value)) throw invalid(what, describeErrors(schema, [...validator.Errors(value)]));
  const bad = findBadText(value, '');
  if (bad) throw invalid(what, [bad]);
  return value as Static<S>;
}

/** One thing wrong with an input: where (a JSON pointer, `/` for the whole), and what, in words. */
export interface FieldError {
  path: string;
  message: string;
}

const invalid = (what: string, errors: FieldError[]) => {
  const first = errors[0];
  return new ColloquyError('invalid_argument', first ? `Invalid ${what}: ${first.path} ${first.message}.` : `Invalid ${what}.`, { errors });
};

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/**
 * A validator's errors in words a caller can act on, the first five: an unknown field is named (`/colour is not
 * a known field`) with the known ones, an enum lists its allowed values. Used by the library and the HTTP API alike.
 */
export function describeErrors(schema: TSchema, errors: readonly SchemaError[]): FieldError[] {
  const described: FieldError[] = [];
  for (const e of errors) {
    // `anyOf` repeats its branches' errors; `boolean` (additionalProperties: false) repeats the unknown field's.
    if (e.keyword === 'anyOf' || e.keyword === 'boolean') continue;
    const at = e.instancePath || '';
    if (e.keyword === 'additionalProperties') {
      const known = Object.keys((resolve(schema, e.schemaPath) as { properties?: object } | undefined)?.properties ?? {});
      for (const name of (e.params.additionalProperties as string[] | undefined) ?? []) {
        described.push({ path: `${at}/${name}`, message: `is not a known field${known.length ? ` (known: ${known.join(', ')})` : ''}` });
      }
    } else if (e.keyword === 'enum') {
      described.push({ path: at || '/', message: `must be one of: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` });
    } else {
      described.push({ path: at || '/', message: e.message });
    }
  }
  return described.slice(0, 5);
}

/** The sub-schema at a schema path such as `#/properties/from`. */
function resolve(schema: TSchema, pointer: string): unknown {
  let at: unknown = schema;
  for (const part of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) at = (at as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return at;
}

/** The first string (or key) that cannot be stored (NUL, ill-formed Unicode), or a non-JSON value, anywhere in `value`. */
export function findBadText(value: unknown, path: string, depth = 0): FieldError | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path: path || '/', message: 'contains a NUL character' };
    if (!value.isWellFormed()) return { path: path || '/', message: 'is not well-formed Unicode' };
    return undefined;
  }
  // undefined is an absent optional field in JS; JSON.stringify drops it.
  if (value === null || value === undefined || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: path || '/', message: 'must be finite' };
  if (typeof value !== 'object') return { path: path || '/', message: 'is not a JSON value' };
  if (depth > 32) return { path: path || '/', message: 'is nested more than 32 levels deep' };
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

/** 2001-01-01 in epoch milliseconds: a number below it is seconds (WhatsApp's, Telegram's) mistaken for milliseconds. */
const MS_FROM = 978_307_200_000;
/** How far ahead of the server's clock a given time may be (clock skew between a channel's servers and ours). */
const MAX_AHEAD_MS = 86_400_000;

/**
 * Parses a Timestamp — an ISO-8601 date-time or epoch milliseconds — into epoch ms. A number that can only be
 * seconds (before 2001 read as milliseconds) is refused: stored, it would date the message in January 1970. So is
 * any time before 2001 or more than `maxAheadMs` (default a day) after `fallback`, which is now.
 */
export function toEpochMs(value: string | number | undefined, field: string, fallback: number, maxAheadMs = MAX_AHEAD_MS): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MS_FROM) {
    throw new ColloquyError('invalid_argument',
      `Invalid ${field}: ${value} looks like seconds since 1970; send milliseconds (${value * 1000}) or an ISO-8601 date-time.`,
      { errors: [{ path: `/${field}`, message: 'is in seconds, not milliseconds' }] });
  }
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isInteger(ms) || ms < 0 || ms > 8.64e15) {
    throw new ColloquyError('invalid_argument', `Invalid ${field}: expected an ISO-8601 date-time or epoch milliseconds, from 1970 on.`, {
      errors: [{ path: `/${field}`, message: 'is not a date-time' }],
    });
  }
  // A time far off would pin a conversation to the top (or bottom) of every list: it must be near now.
  if (ms < MS_FROM || ms > fallback + maxAheadMs) {
    throw new ColloquyError('invalid_argument',
      `Invalid ${field}: ${new Date(ms).toISOString()} is ${ms < MS_FROM ? 'before 2001' : 'more than a day ahead of this server\'s clock'}; send the time the message was sent.`,
      { errors: [{ path: `/${field}`, message: ms < MS_FROM ? 'is before 2001' : 'is in the future' }] });
  }
  return ms;
}
