import { APICallError, InvalidMessageRoleError, InvalidPromptError, MessageConversionError, MissingToolResultsError, RetryError } from 'ai';
import { ColloquyError, isColloquyError } from '../domain/errors.js';

/** Provider statuses that mean "this request, as made, is refused" (too long, a policy, an unknown model). */
const REJECTED = new Set([400, 404, 409, 413, 422]);

const providerMessage = (error: APICallError): string => {
  try {
    const body = JSON.parse(error.responseBody ?? '') as { error?: { message?: string } | string; message?: string };
    const message = typeof body.error === 'string' ? body.error : body.error?.message ?? body.message;
    if (message) return message;
  } catch {
    // not JSON: the SDK's own message
  }
  return error.message;
};

/**
 * A failed model call → the error the caller gets: `provider_rejected` (422) for a 4xx the request caused,
 * `upstream_timeout` (504) when the turn ran out of time, `upstream_error` (502) for anything else the provider did
 * (a 5xx, a refused key, a rate limit, no answer at all). Colloquy's own errors pass through.
 */
export function modelError(error: unknown, timedOut: boolean): ColloquyError {
  if (isColloquyError(error)) return error;
  if (timedOut) {
    return new ColloquyError('upstream_timeout', 'The model did not finish within the turn timeout (COLLOQUY_AGENT_TIMEOUT_MS); nothing was stored. Retry with the same message id.', {});
  }
  const last = RetryError.isInstance(error) ? error.lastError : error;
  // The stored history cannot be sent as it is (a tool call without its result, say): the request's fault, not the provider's.
  if (InvalidPromptError.isInstance(last) || MissingToolResultsError.isInstance(last) || InvalidMessageRoleError.isInstance(last) || MessageConversionError.isInstance(last)) {
    return new ColloquyError('provider_rejected', `The conversation cannot be sent to the model as stored: ${(last as Error).message}`, {});
  }
  if (APICallError.isInstance(last)) {
    const status = last.statusCode;
    const said = providerMessage(last);
    if (status !== undefined && REJECTED.has(status)) {
      return new ColloquyError('provider_rejected', `The model's provider refused the request (${status}): ${said}`, { providerStatus: status });
    }
    const why = status === 401 || status === 403 ? 'refused the API key' : status === 429 ? 'is rate limiting' : status === undefined ? 'could not be reached' : `failed (${status})`;
    return new ColloquyError('upstream_error', `The model's provider ${why}: ${said}. Nothing was stored; retry with the same message id.`, { ...(status !== undefined ? { providerStatus: status } : {}) });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ColloquyError('upstream_error', `The model call failed: ${message}. Nothing was stored; retry with the same message id.`, {});
}
