import { createHash, randomBytes } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import type { ApiKey, Page } from '../domain/entities.js';
import { ColloquyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { KeyCreateSchema, type KeyCreate, type PageOptions } from '../domain/inputs.js';
import { toEpochMs, validate } from '../domain/validate.js';
import { auditEntry } from './audit.js';
import { byId, paged } from './cursor.js';
import { assertTenant, type Scope } from './scope.js';

/** Why a key was refused, or the key. */
export type KeyCheck =
  | { ok: true; id: string; tenantId: string }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

/** API keys, across tenants: what the server uses to assign each caller its tenant. Creation and revocation are audited. */
export interface KeysApi {
  /** A new key bound to `tenant`, valid until `expiresAt` if given. The secret is returned once; only its SHA-256 is stored. */
  create(input: KeyCreate): Promise<{ key: ApiKey; secret: string }>;
  /** Oldest first; `limit` 1–200, default 50. */
  list(options?: PageOptions): Promise<Page<ApiKey>>;
  /** A key by id, revoked or not (never its secret). */
  get(id: string): Promise<ApiKey | null>;
  /** How many keys exist, and how many are neither revoked nor expired. */
  count(): Promise<{ total: number; active: number }>;
  /** False if the key does not exist or was already revoked. */
  revoke(id: string): Promise<boolean>;
  /** The id and tenant of the valid key with this secret, or null. */
  authenticate(secret: string): Promise<{ id: string; tenantId: string } | null>;
  /** The key with this secret, or why it is refused. */
  check(secret: string): Promise<KeyCheck>;
}

const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function keysOf(s: Scope): KeysApi {
  const keys: Backend['keys'] = s.backend.keys;
  const check = async (secret: string): Promise<KeyCheck> => {
    if (typeof secret !== 'string' || secret.length > 200) return { ok: false, reason: 'unknown' };
    const key = await keys.find(hashKey(secret));
    if (!key) return { ok: false, reason: 'unknown' };
    if (key.revokedAt !== null) return { ok: false, reason: 'revoked' };
    if (key.expiresAt !== null && key.expiresAt <= s.clock()) return { ok: false, reason: 'expired' };
    return { ok: true, id: key.id, tenantId: key.tenantId };
  };
  return {
    async create(input) {
      const v = validate(KeyCreateSchema, input, 'API key');
      assertTenant(v.tenant);
      const now = s.clock();
      const expiresAt = v.expiresAt === undefined ? null : toEpochMs(v.expiresAt, 'expiresAt', now, Number.POSITIVE_INFINITY);
      if (expiresAt !== null && expiresAt <= now) {
        throw new ColloquyError('invalid_argument', 'Invalid expiresAt: it is in the past; give a future instant (ISO 8601 or epoch ms), or none for a key that never expires.', { errors: [{ path: '/expiresAt', message: 'is not in the future' }] });
      }
      const secret = `cq_${randomBytes(24).toString('base64url')}`;
      const name = v.name ?? 'default';
      const key = await keys.create(
        { id: newId(), tenant: v.tenant, name, prefix: secret.slice(0, 10), hash: hashKey(secret), expiresAt, now },
        auditEntry(s, 'key.created', v.tenant, { name, ...(expiresAt !== null ? { expiresAt: new Date(expiresAt).toISOString() } : {}) }),
      );
      return { key, secret };
    },
    list: (options = {}) => paged('keys', options, byId, (page) => keys.list(page)),
    async get(id) {
      return (await keys.get(s.id(id, 'API key'))) ?? null;
    },
    count: () => keys.count(s.clock()),
    async revoke(id) {
      return keys.revoke(s.id(id, 'API key'), s.clock(), auditEntry(s, 'key.revoked', null));
    },
    async authenticate(secret) {
      const key = await check(secret);
      return key.ok ? { id: key.id, tenantId: key.tenantId } : null;
    },
    check,
  };
}
