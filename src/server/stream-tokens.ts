import { createHmac, timingSafeEqual } from 'node:crypto';
import { ColloquyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';

/** What a stream token allows: one tenant's events (or one conversation's), until it expires. */
export interface StreamGrant {
  /** The key that asked for it: an API key's id, `admin:<digest>` (that admin key), or `open` (a server without keys). */
  keyId: string;
  tenant: string;
  conversationId: string | null;
  /** Epoch ms. */
  expiresAt: number;
}

const PREFIX = 'cqe_';

/**
 * Tokens for live events from a browser, where an `EventSource` cannot send a header and an API key must never
 * be put in a URL (it would end up in logs, history and referrers). A token carries its grant in the clear and
 * an HMAC-SHA256 of it, keyed by a secret every instance over the database shares, so that any instance of a
 * fleet accepts it. It is good for `GET /v1/events` only, until it expires or its key is revoked.
 */
export function streamTokens(store: Store) {
  let secret: Promise<Buffer> | undefined;
  const key = () => (secret ??= store.sharedSecret('stream-tokens').catch((error) => {
    secret = undefined; // a database that did not answer is asked again next time
    throw error;
  }));
  const sign = async (payload: string) => createHmac('sha256', await key()).update(payload).digest();
  const refused = (why: string) => new ColloquyError('unauthenticated', `This stream token ${why}: ask for a new one with POST /v1/events/tokens.`);

  return {
    async issue(grant: StreamGrant): Promise<string> {
      const payload = Buffer.from(JSON.stringify({ k: grant.keyId, t: grant.tenant, c: grant.conversationId, e: grant.expiresAt })).toString('base64url');
      return `${PREFIX}${payload}.${(await sign(payload)).toString('base64url')}`;
    },

    /** The grant of a well-signed, unexpired token; `unauthenticated` otherwise. Whether its key still holds is the caller's check. */
    async verify(token: string, now: number): Promise<StreamGrant> {
      const [payload, signature] = token.startsWith(PREFIX) ? token.slice(PREFIX.length).split('.') : [];
      if (!payload || !signature || token.length > 2048) throw refused('is malformed');
      const expected = await sign(payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused('is not one this server issued');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { k: string; t: string; c: string | null; e: number };
      if (claims.e <= now) throw refused('has expired');
      return { keyId: claims.k, tenant: claims.t, conversationId: claims.c, expiresAt: claims.e };
    },
  };
}

export type StreamTokens = ReturnType<typeof streamTokens>;
