import type { FastifyReply, FastifyRequest } from 'fastify';
import { ColloquyError, isColloquyError } from '../domain/errors.js';
import type { Authenticator, Caller } from './auth.js';
import type { AuthThrottle } from './auth-throttle.js';
import type { Metrics } from './metrics.js';
import type { StreamGrant } from './stream-tokens.js';

const tooManyFailures = (request: FastifyRequest, reply: FastifyReply, waitMs: number) => {
  void reply.header('retry-after', Math.ceil(waitMs / 1000));
  return new ColloquyError('rate_limited', `Too many failed authentications from ${request.ip}; retry in ${Math.ceil(waitMs / 1000)} s with a valid key.`);
};

/** The host name of a Host header, lower-cased, without its port (`[::1]:8080` → `[::1]`). */
const hostName = (host: string | undefined): string => (host ?? '').toLowerCase().replace(/:\d+$/, '');

export interface IdentifyConfig {
  readonly auth: Authenticator;
  readonly throttle: AuthThrottle;
  readonly metrics: Metrics;
  /** 0 turns the throttle off. */
  readonly failuresPerMinute: number;
  /** Host names an open server answers (DNS rebinding). */
  readonly hosts: ReadonlySet<string>;
}

/**
 * The caller of a request, judged by its credential (a stream token where one is allowed); attempts are counted
 * per client address, and an address over the limit is refused (429).
 */
export function createIdentify({ auth, throttle, metrics, failuresPerMinute, hosts }: IdentifyConfig) {
  return async (request: FastifyRequest, reply: FastifyReply, token?: string): Promise<Caller & { grant?: StreamGrant }> => {
    const credential = token !== undefined || request.headers.authorization !== undefined;
    const refusedFor = failuresPerMinute > 0 && credential ? throttle.refusedFor(request.ip) : 0;
    if (refusedFor > 0) {
      metrics.authFailures.inc({ reason: 'throttled' });
      throw tooManyFailures(request, reply, refusedFor);
    }
    // Counted before it is judged, so that a burst of guesses at once is bounded too; given back when it holds.
    let counted: (() => Promise<void>) | undefined;
    const count = async () => {
      if (failuresPerMinute === 0) return;
      const { waitMs: wait, giveBack } = await throttle.attempt(request.ip);
      counted = giveBack;
      if (wait > 0) {
        metrics.authFailures.inc({ reason: 'throttled' });
        throw tooManyFailures(request, reply, wait);
      }
    };
    let caller: Caller & { grant?: StreamGrant };
    try {
      const tenant = request.headers['x-colloquy-tenant'];
      caller = token !== undefined
        ? await auth.authenticateStream(token)
        : await auth.authenticate(request.headers.authorization, typeof tenant === 'string' ? tenant : undefined, count);
    } catch (error) {
      if (!isColloquyError(error, 'unauthenticated')) throw error;
      const reason = typeof error.details?.reason === 'string' ? error.details.reason : 'unknown';
      metrics.authFailures.inc({ reason });
      // A stream token is checked by its signature alone, so it is counted once it failed.
      if (token !== undefined) await count();
      throw error;
    }
    if (counted) void counted();
    // DNS rebinding: a page of another site that resolves its own name to 127.0.0.1 must not reach an open server.
    if (caller.keyId === 'open' && !hosts.has(hostName(request.headers.host))) {
      throw new ColloquyError('forbidden', 'This server is open without keys, so it answers only requests addressed to localhost, 127.0.0.1 or [::1]; add this Host with --allowed-host, or use an API key.', { host: request.headers.host ?? null });
    }
    return caller;
  };
}
