import { readFileSync } from 'node:fs';
import Type from 'typebox';
import { ColloquyError } from './errors.js';
import type { PriceTable } from './usage.js';
import { validate } from './validate.js';

const Price = Type.Number({ minimum: 0, maximum: 1e6 });
const PriceTableSchema = Type.Record(Type.String({ pattern: '^[A-Za-z0-9]+:\\S+$' }), Type.Object({
  inputPerMTok: Price, outputPerMTok: Price, cachedInputPerMTok: Type.Optional(Price),
}, { additionalProperties: false }), { additionalProperties: false });

/** The price table of a JSON file (`COLLOQUY_PRICES`): `{ "<provider>:<model>": { inputPerMTok, outputPerMTok, cachedInputPerMTok? } }`. */
export function readPrices(path: string): PriceTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ColloquyError('invalid_argument', `Cannot read the price table ${path} (COLLOQUY_PRICES): ${(error as Error).message}. Give a JSON file such as { "openai:gpt-4o-mini": { "inputPerMTok": 0.15, "outputPerMTok": 0.6 } }.`);
  }
  return validate(PriceTableSchema, parsed, `price table ${path}`) as PriceTable;
}
