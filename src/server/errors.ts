import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ColloquyError, type ErrorCode } from '../domain/errors.js';

/** HTTP status of each error code: the one place where codes become statuses. */
const STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  version_mismatch: 409,
  conversation_closed: 409,
  window_closed: 409,
  idempotency_key_reused: 422,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  not_implemented: 501,
  provider_not_configured: 503,
  provider_rejected: 422,
  budget_exceeded: 429,
  upstream_error: 502,
  upstream_timeout: 504,
  schema_too_new: 503,
  schema_outdated: 503,
  unavailable: 503,
  internal: 500,
};

export const statusOf = (code: ErrorCode): number => STATUS[code];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export const errorBody = (code: ErrorCode, message: string, details?: Record<string, unknown>): ErrorBody => ({
  error: { code, message, ...(details ? { details } : {}) },
});

/** Fastify's own request errors (parsing, limits) → the same error shape as the store's, and their status. */
function fromFastify(error: FastifyError): [number, ErrorBody] | undefined {
  const body = bodyOf(error);
  // A request error Fastify gave a status of its own (a bad header, say) keeps it.
  return body && [body.error.code === 'invalid_argument' && error.statusCode && error.statusCode < 500 ? error.statusCode : STATUS[body.error.code], body];
}

function bodyOf(error: FastifyError): ErrorBody | undefined {
  if (error.validation) {
    const errors = error.validation.slice(0, 5).map((v) => ({
      path: `${error.validationContext === 'body' ? '' : `/${error.validationContext}`}${v.instancePath || ''}` || '/',
      message: v.message ?? 'is invalid',
    }));
    const first = errors[0]!;
    return errorBody('invalid_argument', `Invalid ${error.validationContext ?? 'request'}: ${first.path} ${first.message}.`, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errorBody('payload_too_large', 'The request body is larger than the server accepts; send less per request.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errorBody('unsupported_media_type', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errorBody('invalid_argument', 'The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errorBody('invalid_argument', 'The body is not valid JSON.');
  }
  if (error.statusCode === 429) return errorBody('rate_limited', error.message);
  // Any other request error Fastify raises (a bad header, a malformed URL): the caller's to fix.
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return errorBody('invalid_argument', error.message);
  return undefined;
}

/** Every error leaves as `{ error: { code, message, details? } }`. Only a bug answers 500, and it is logged. */
export function handleError(error: FastifyError | ColloquyError, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = error instanceof ColloquyError ? [STATUS[error.code], errorBody(error.code, error.message, error.details)] as const : fromFastify(error);
  if (!mapped) {
    request.log.error({ err: error }, 'unexpected error');
    void reply.code(500).send(errorBody('internal', 'Unexpected server error; it was logged. Nothing was acknowledged.'));
    return;
  }
  const [status, body] = mapped;
  // An outage is expected and says all in one line; anything else at 5xx is a bug, logged whole.
  if (body.error.code === 'internal') request.log.error({ err: error }, 'unexpected error');
  else if (status >= 500) logExpected(request, body.error.code, body.error.message);
  void reply.code(status).send(body);
}

const SAMPLE_MS = 10_000;
const sampled = new Map<string, { until: number; suppressed: number }>();

/**
 * An expected failure (the database is down, the schema is missing): one line without a stack, and while it
 * repeats, one line per 10 s per code saying how many were not logged. An outage must not flood the logs.
 */
function logExpected(request: FastifyRequest, code: string, message: string): void {
  const now = Date.now();
  const seen = sampled.get(code);
  if (seen && seen.until > now) {
    seen.suppressed++;
    return;
  }
  sampled.set(code, { until: now + SAMPLE_MS, suppressed: 0 });
  request.log.warn({ code, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) },
    seen?.suppressed ? `${message} (and ${seen.suppressed} more like it in the last ${SAMPLE_MS / 1000} s)` : message);
}
