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
  /** Whether a server without any key is open (tenant `default`). False on a public address: revoking the last key must lock it, not open it. Default true. */
  readonly openWithoutKeys?: boolean;
}

export interface Caller {
  store: Store;
  /** An API key's id, `admin:<a digest of the admin key>`, or `open`. */
  keyId: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();
const MAX_CACHED = 10_000;

/**
 * Resolves the caller's tenant store from `Authorization: Bearer <key>`.
 * With no admin key and no API key in the database the server is open (tenant `default`): `colloquy serve`
 * allows that only on loopback.
 */
export function createAuthenticator(config: AuthConfig) {
  const cacheMs = config.cacheMs ?? 5_000;
  const admin = config.adminKey ? digest(config.adminKey) : undefined;
  // Names the admin key in what it signs (stream tokens), so that a token outlives no rotation of the key.
  const adminId = admin && `admin:${createHash('sha256').update(admin).digest('hex').slice(0, 16)}`;
  const tenants = new Map<string, Store>();
  const lookups = new Map<string, { key: { id: string; tenantId: string } | null; until: number }>();
  const grants = new Map<string, { tenant: string | null; until: number }>();
  const tokens = streamTokens(config.store);
  let keysExist: { value: boolean; until: number } | undefined;

  const storeOf = (tenant: string): Store => {
    let store = tenants.get(tenant);
    if (!store) {
      store = config.store.tenant(tenant);
      tenants.set(tenant, store);
    }
    return store;
  };

  const open = async (): Promise<boolean> => {
    if (admin || config.openWithoutKeys === false) return false;
    const now = Date.now();
    if (!keysExist || keysExist.until <= now) {
      keysExist = { value: (await config.store.keys.count()).active > 0, until: now + cacheMs };
    }
    return !keysExist.value;
  };

  const keyOf = async (secret: string): Promise<{ id: string; tenantId: string } | null> => {
    const now = Date.now();
    const cached = lookups.get(secret);
    if (cached && cached.until > now) return cached.key;
    const key = await config.store.keys.authenticate(secret);
    if (lookups.size >= MAX_CACHED) lookups.clear();
    lookups.set(secret, { key, until: now + cacheMs });
    return key;
  };

  /** Whether the key a stream token names still holds for its tenant (revocation ends its tokens too). */
  const holds = async (grant: StreamGrant): Promise<boolean> => {
    if (grant.keyId === 'open') return open();
    if (grant.keyId.startsWith('admin')) return adminId !== undefined && grant.keyId === adminId;
    const now = Date.now();
    const cached = grants.get(grant.keyId);
    if (cached && cached.until > now) return cached.tenant === grant.tenant;
    const key = await config.store.keys.get(grant.keyId).catch((error) => {
      if (isColloquyError(error, 'invalid_argument')) return null;
      throw error;
    });
    const tenant = key && key.revokedAt === null ? key.tenantId : null;
    if (grants.size >= MAX_CACHED) grants.clear();
    grants.set(grant.keyId, { tenant, until: now + cacheMs });
    return tenant === grant.tenant;
  };

  return {
    tokens,

    /** Whether requests currently need a key. */
    async required(): Promise<boolean> {
      return !(await open());
    },

    /** The caller's tenant store and which key it used (`admin:…`, or `open` on a server without keys). */
    async authenticate(authorization: string | undefined, tenantHeader: string | undefined): Promise<Caller> {
      if (await open()) return { store: storeOf('default'), keyId: 'open' };
      const secret = /^Bearer (\S{1,200})$/i.exec(authorization ?? '')?.[1];
      if (!secret) {
        throw new ColloquyError('unauthenticated', 'Send Authorization: Bearer <key>. Create a key with `colloquy keys create --tenant NAME`.');
      }
      if (admin && timingSafeEqual(digest(secret), admin)) return { store: storeOf(tenantHeader ?? 'default'), keyId: adminId! };
      const key = await keyOf(secret);
      if (!key) throw new ColloquyError('unauthenticated', 'This API key is unknown or revoked.');
      return { store: storeOf(key.tenantId), keyId: key.id };
    },

    /** The caller of a stream token (`?token=` on GET /v1/events), with what it is limited to. */
    async authenticateStream(token: string): Promise<Caller & { grant: StreamGrant }> {
      const grant = await tokens.verify(token, Date.now());
      if (!(await holds(grant))) throw new ColloquyError('unauthenticated', 'The key this stream token was issued for is revoked: ask for a new token with another key.');
      return { store: storeOf(grant.tenant), keyId: grant.keyId, grant };
    },
  };
}
