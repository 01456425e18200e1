import { createHash, randomBytes } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import type { ApiKey, Page } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { KeyCreateSchema, type KeyCreate, type PageOptions } from '../domain/inputs.js';
import { validate } from '../domain/validate.js';
import { byId, paged } from './cursor.js';
import { assertTenant, type Scope } from './scope.js';

/** API keys, across tenants: what the server uses to assign each caller its tenant. */
export interface KeysApi {
  /** A new key bound to `tenant`. The secret is returned once; only its SHA-256 is stored. */
  create(input: KeyCreate): Promise<{ key: ApiKey; secret: string }>;
  /** Oldest first; `limit` 1–200, default 50. */
  list(options?: PageOptions): Promise<Page<ApiKey>>;
  /** A key by id, revoked or not (never its secret). */
  get(id: string): Promise<ApiKey | null>;
  /** How many keys exist, and how many are not revoked. */
  count(): Promise<{ total: number; active: number }>;
  /** False if the key does not exist or was already revoked. */
  revoke(id: string): Promise<boolean>;
  /** The id and tenant of the unrevoked key with this secret, or null. */
  authenticate(secret: string): Promise<{ id: string; tenantId: string } | null>;
}

const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function keysOf(s: Scope): KeysApi {
  const keys: Backend['keys'] = s.backend.keys;
  return {
    async create(input) {
      const v = validate(KeyCreateSchema, input, 'API key');
      assertTenant(v.tenant);
      const secret = `cq_${randomBytes(24).toString('base64url')}`;
      const key = await keys.create({
        id: newId(), tenant: v.tenant, name: v.name ?? 'default', prefix: secret.slice(0, 10), hash: hashKey(secret), now: s.clock(),
      });
      return { key, secret };
    },
    list: (options = {}) => paged('keys', options, byId, (page) => keys.list(page)),
    async get(id) {
      return (await keys.get(s.id(id, 'API key'))) ?? null;
    },
    count: () => keys.count(),
    async revoke(id) {
      return keys.revoke(s.id(id, 'API key'), s.clock());
    },
    async authenticate(secret) {
      if (typeof secret !== 'string' || secret.length > 200) return null;
      return (await keys.find(hashKey(secret))) ?? null;
    },
  };
}
