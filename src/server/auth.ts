import { createHash, timingSafeEqual } from 'node:crypto';
import { ColloquyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';

export interface AuthConfig {
  readonly store: Store;
  /** A key that may act on any tenant (named by the `X-Colloquy-Tenant` header, default `default`). */
  readonly adminKey?: string | undefined;
  /** How long a key lookup (and whether any key exists) is remembered. Revocation takes effect within it. Default 5 s. */
  readonly cacheMs?: number;
  /** Whether a server without any key is open (tenant `default`). False on a public address: revoking the last key must lock it, not open it. Default true. */
  readonly openWithoutKeys?: boolean;
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
  const tenants = new Map<string, Store>();
  const lookups = new Map<string, { tenant: string | null; until: number }>();
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

  const tenantOf = async (secret: string): Promise<string | null> => {
    const now = Date.now();
    const cached = lookups.get(secret);
    if (cached && cached.until > now) return cached.tenant;
    const tenant = await config.store.keys.authenticate(secret);
    if (lookups.size >= MAX_CACHED) lookups.clear();
    lookups.set(secret, { tenant, until: now + cacheMs });
    return tenant;
  };

  return {
    /** Whether requests currently need a key. */
    async required(): Promise<boolean> {
      return !(await open());
    },

    async authenticate(authorization: string | undefined, tenantHeader: string | undefined): Promise<Store> {
      if (await open()) return storeOf('default');
      const secret = /^Bearer (\S{1,200})$/i.exec(authorization ?? '')?.[1];
      if (!secret) {
        throw new ColloquyError('unauthenticated', 'Send Authorization: Bearer <key>. Create a key with `colloquy keys create --tenant NAME`.');
      }
      if (admin && timingSafeEqual(digest(secret), admin)) return storeOf(tenantHeader ?? 'default');
      const tenant = await tenantOf(secret);
      if (!tenant) throw new ColloquyError('unauthenticated', 'This API key is unknown or revoked.');
      return storeOf(tenant);
    },
  };
}
