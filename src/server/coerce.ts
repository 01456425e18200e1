import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

type Coerce = (data: unknown) => unknown;

const NUMERIC = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Query strings and path parameters arrive as text: turns the text of numeric and boolean fields into numbers
 * and booleans before the schema check. A flat object schema (every route's) gets a precomputed converter,
 * about 0.1 µs instead of TypeBox's generic `Value.Convert` (19 µs for the message query); that remains the
 * fallback for anything else.
 */
export function coercer(schema: TSchema): Coerce {
  const s = schema as { type?: unknown; properties?: Record<string, { type?: unknown; enum?: unknown[] }> };
  if (s.type !== 'object' || !s.properties) return (data) => Value.Convert(schema, data);
  const numeric: string[] = [];
  const boolean: string[] = [];
  for (const [name, property] of Object.entries(s.properties)) {
    if (property.type === 'integer' || property.type === 'number') numeric.push(name);
    else if (property.type === 'boolean') boolean.push(name);
    else if (property.type !== 'string' && !property.enum?.every((each) => typeof each === 'string')) return (data) => Value.Convert(schema, data);
  }
  if (!numeric.length && !boolean.length) return (data) => data;
  return (data) => {
    if (typeof data !== 'object' || data === null) return data;
    const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const name of numeric) {
      const value = out[name];
      if (typeof value === 'string' && NUMERIC.test(value)) out[name] = Number(value);
    }
    for (const name of boolean) {
      const value = out[name];
      if (value === 'true' || value === 'false') out[name] = value === 'true';
    }
    return out;
  };
}
