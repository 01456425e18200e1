import Type from 'typebox';
import { IdSchema } from '../../domain/schemas.js';

/** `:id` in a path: a UUID, else 400 before any lookup. */
export const IdParams = Type.Object({ id: IdSchema }, { additionalProperties: false });
