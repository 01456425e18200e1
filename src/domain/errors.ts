/**
 * Stable error codes. Clients branch on `code`, never on `message`. The HTTP layer maps each code to one
 * status in one place (`server/errors.ts`); the README lists them all in one table.
 */
export const ERROR_CODES = [
  'invalid_argument',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'version_mismatch',
  'conversation_closed',
  'window_closed',
  'idempotency_key_reused',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'not_implemented',
  'provider_not_configured',
  'provider_rejected',
  'budget_exceeded',
  'upstream_error',
  'upstream_timeout',
  'schema_too_new',
  'schema_outdated',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The one error class of Colloquy. `details` is JSON-safe and says which field or record is at fault. */
export class ColloquyError extends Error {
  override readonly name = 'ColloquyError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

export const isColloquyError = (error: unknown, code?: ErrorCode): error is ColloquyError =>
  error instanceof ColloquyError && (code === undefined || error.code === code);

export const notFound = (what: string, id: string): ColloquyError =>
  new ColloquyError('not_found', `${what} ${id} does not exist (in this tenant).`, { resource: what, id });
