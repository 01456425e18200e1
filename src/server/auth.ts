import { createHash, timingSafeEqual } from 'node:crypto';
import { ColloquyError, isColloquyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import { streamTokens, type StreamGrant } from './stream-tokens.js';

export interface AuthConfig {
  readonly store: Store;
  /** A key that may act on any tenant (named by the `X-Colloquy-Tenant` header, default `default`). */
  readonly adminKey?: string | undefined;
  /** How long a key lookup (and whether any key exists) is remembered. Revocation takes effect within it. Default 5 s. */
  readonly cacheMs?: number;
  /**
   * Serve tenant `default` without a key while the database has never had a key (and there is no admin key).
   * False on a public address. Default true.
   */
  readonly openWithoutKeys?: boolean;
  /** Also while every key is revoked or expired (`colloquy serve --open`, loopback only): an operator's explicit choice. */
  readonly forceOpen?: boolean;
}

export interface Caller {
  store: Store;
  /** An API key's id, `admin:<a digest of the admin key>`, or `open`. */
  keyId: string;
}

/** Why a request was refused: no credential, or one that does not hold. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export const authFailure = (reason: AuthFailure, message: string) => new ColloquyError('unauthenticated', message, { reason });

/** Shortest admin key accepted: a guessable one gives every tenant away. */
export const ADMIN_KEY_MIN_LENGTH = 32;

/** An admin key that can be guessed, or never sent as `Bearer <key>`, is refused at start. */
export function assertAdminKey(key: string, name: string): void {
  if (key.length < ADMIN_KEY_MIN_LENGTH) {
    throw new ColloquyError('invalid_argument',
      `${name} is ${key.length} characters long; use at least ${ADMIN_KEY_MIN_LENGTH} random ones, such as the output of \`openssl rand -base64 32\`.`);
  }
  if (key.length > 200 || /\s/.test(key)) {
    throw new ColloquyError('invalid_argument', `${name} must be 32 to 200 characters without spaces (it is sent as \`Authorization: Bearer <key>\`): use \`openssl rand -base64 32\`.`);
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();
const MAX_CACHED = 10_000;
const HOW = 'Create a key with `colloquy keys create --tenant NAME` (or POST /v1/keys with the admin key).';

/**
 * Resolves the caller's tenant store from `Authorization: Bearer <key>`. A request that carries a credential is
 * judged by it, always: an unknown, revoked or expired one is a 401 even where requests without one are served.
 * Requests without one are served on tenant `default` only by an open server: never with an admin key or on a
 * public address, and, once the database has had a key, only when the operator asked for it (`--open`) and no
 * key is active.
 */
export function createAuthenticator(config: AuthConfig) {
  const cacheMs = config.cacheMs ?? 5_000;
  if (config.adminKey !== undefined) assertAdminKey(config.adminKey, 'The admin key');
  const admin = config.adminKey ? digest(config.adminKey) : undefined;
  // Names the admin key in what it signs (stream tokens), so that a token outlives no rotation of the key.
  const adminId = admin && `admin:${createHash('sha256').update(admin).digest('hex').slice(0, 16)}`;
  const stores = new Map<string, Store>();
  const lookups = new Map<string, { key: { id: string; tenantId: string } | AuthFailure; until: number }>();
  const grants = new Map<string, { tenant: string | null; at: number }>();
  const judging = new Map<string, Promise<{ id: string; tenantId: string } | AuthFailure>>();
  const tokens = streamTokens(config.store);
  let counts: { total: number; active: number; until: number } | undefined;

  /** The tenant's store, naming the caller in the audit log. */
  const storeOf = (tenant: string, keyId: string): Store => {
    const name = `${tenant}\n${keyId}`;
    let store = stores.get(name);
    if (!store) {
      if (stores.size >= MAX_CACHED) stores.clear();
      store = config.store.tenant(tenant).as(keyId);
      stores.set(name, store);
    }
    return store;
  };

  const open = async (): Promise<boolean> => {
    if (admin || config.openWithoutKeys === false) return false;
    const now = Date.now();
    if (!counts || counts.until <= now) counts = { ...(await config.store.keys.count()), until: now + cacheMs };
    return counts.total === 0 || (config.forceOpen === true && counts.active === 0);
  };

  const keyOf = async (secret: string): Promise<{ id: string; tenantId: string } | AuthFailure> => {
    const now = Date.now();
    const cached = lookups.get(secret);
    if (cached && cached.until > now) return cached.key;
    const check = await config.store.keys.check(secret);
    const key = check.ok ? { id: check.id, tenantId: check.tenantId } : check.reason;
    if (lookups.size >= MAX_CACHED) lookups.clear();
    lookups.set(secret, { key, until: now + cacheMs });
    return key;
  };

  /** The tenant the key `keyId` still acts on (null: revoked, expired or unknown), remembered for `maxAgeMs`. */
  const tenantOfKey = async (keyId: string, maxAgeMs: number): Promise<string | null> => {
    const now = Date.now();
    const cached = grants.get(keyId);
    if (cached && cached.at + maxAgeMs > now) return cached.tenant;
    const key = await config.store.keys.get(keyId).catch((error) => {
      if (isColloquyError(error, 'invalid_argument')) return null;
      throw error;
    });
    const valid = key && key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > now);
    const tenant = valid ? key.tenantId : null;
    if (grants.size >= MAX_CACHED) grants.clear();
    grants.set(keyId, { tenant, at: now });
    return tenant;
  };

  /** Whether the key a caller used still holds for `tenant` (a stream re-checks this while it runs). */
  const holds = async (keyId: string, tenant: string, maxAgeMs = cacheMs): Promise<boolean> => {
    if (keyId === 'open') return open();
    if (keyId.startsWith('admin:')) return adminId !== undefined && keyId === adminId;
    return (await tenantOfKey(keyId, maxAgeMs)) === tenant;
  };

  return {
    tokens,
    holds,

    /** Whether requests currently need a key. */
    async required(): Promise<boolean> {
      return !(await open());
    },

    /**
     * The caller's tenant store and which key it used (`admin:…`, or `open` on a server without keys).
     * `beforeJudging` runs before a credential not seen to hold in the last moments is judged (the throttle
     * counts it there); `judged` says whether it ran.
     */
    async authenticate(authorization: string | undefined, tenantHeader: string | undefined, beforeJudging?: () => Promise<void>): Promise<Caller & { judged: boolean }> {
      if (authorization === undefined) {
        if (await open()) return { store: storeOf('default', 'open'), keyId: 'open', judged: false };
        throw authFailure('missing', `Send Authorization: Bearer <key>. ${HOW}`);
      }
      const secret = /^Bearer (\S{1,200})$/i.exec(authorization)?.[1];
      if (!secret) {
        await beforeJudging?.();
        throw authFailure('malformed', 'The Authorization header is not `Bearer <key>`.');
      }
      // The admin key is judged here, in constant time; a match is no failure, so it is not counted.
      if (admin && timingSafeEqual(digest(secret), admin)) return { store: storeOf(tenantHeader ?? 'default', adminId!), keyId: adminId!, judged: false };
      const cached = lookups.get(secret);
      let judged = false;
      let key: { id: string; tenantId: string } | AuthFailure;
      if (cached !== undefined && cached.until > Date.now()) key = cached.key;
      else {
        // Concurrent requests with one key share one judging, counted once: a client's parallel calls with its
        // own key are not a burst of guesses.
        let pending = judging.get(secret);
        if (!pending) {
          judged = true;
          pending = (async () => {
            await beforeJudging?.();
            return keyOf(secret);
          })().finally(() => judging.delete(secret));
          judging.set(secret, pending);
        }
        key = await pending;
      }
      if (typeof key === 'string') throw authFailure(key, `This API key is ${key === 'unknown' ? 'unknown' : key}. ${HOW}`);
      return { store: storeOf(key.tenantId, key.id), keyId: key.id, judged };
    },

    /** The caller of a stream token (`?token=` on GET /v1/events), with what it is limited to. */
    async authenticateStream(token: string): Promise<Caller & { grant: StreamGrant }> {
      const grant = await tokens.verify(token, Date.now());
      if (!(await holds(grant.keyId, grant.tenant))) throw authFailure('revoked', 'The key this stream token was issued for is revoked: ask for a new token with another key.');
      return { store: storeOf(grant.tenant, grant.keyId), keyId: grant.keyId, grant };
    },

    /** Whether `keyId` is the admin key's. */
    isAdmin: (keyId: string) => adminId !== undefined && keyId === adminId,
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
