import { createCipheriv, createDecipheriv, createHmac, type Cipheriv, type Decipheriv } from 'node:crypto';
import { badEventCursor } from '../backends/sql/events.js';

/**
 * Event ids as clients see them: opaque, and different per tenant. The backend's ids are positions in one log
 * shared by all tenants (SQLite: one sequence; PostgreSQL: transaction id and sequence), so a tenant reading
 * its own ids would see the gaps other tenants' activity leaves. Each position is encrypted as one AES-256 block
 * under a key of the tenant's own (derived from a secret every instance reads from the database), which keeps
 * ids of one tenant unrelated to another's while any instance of a fleet can read them back.
 *
 * The backend's own forms (`123`, `7890-123`) are still accepted as cursors, so that a client holding one from an
 * earlier version resumes where it was; they reveal nothing it did not already have.
 */
export interface EventIdCodec {
  /** The tenant's codec, once its key is known (the first call reads the shared secret). */
  forTenant(tenant: string): Promise<TenantEventIds>;
}

export interface TenantEventIds {
  /** A backend id → the id clients see. */
  encode(raw: string): string;
  /** A client's id → the backend's, or `invalid_argument`. */
  decode(id: string): string;
}

const LEGACY = /^(\d{1,15}|\d{1,19}-\d{1,18})$/;
const MAX_ID = 2n ** 53n;
/** A block holds the transaction id in 6 bytes (PostgreSQL's xid8 stays far below 2^48), the id in 8, and 2 zero bytes. */
const MAX_TX = 2n ** 48n;

export function eventIdCodec(secret: () => Promise<Buffer>, dialect: 'sqlite' | 'postgres'): EventIdCodec {
  let master: Promise<Buffer> | undefined;
  const tenants = new Map<string, TenantEventIds>();
  const load = () => (master ??= secret().catch((error) => {
    master = undefined; // asked again next time
    throw error;
  }));

  const codecOf = (key: Buffer): TenantEventIds => {
    // ECB over exactly one block: a permutation of positions, with no padding and no IV to carry.
    const cipher: Cipheriv = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const decipher: Decipheriv = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    return {
      encode(raw) {
        const [tx, id] = dialect === 'postgres' ? raw.split('-') : ['0', raw];
        const block = Buffer.alloc(16);
        block.writeUIntBE(Number(tx!), 0, 6);
        block.writeBigUInt64BE(BigInt(id!), 6);
        return cipher.update(block).toString('base64url');
      },
      decode(id) {
        if (LEGACY.test(id) && (dialect === 'postgres') === id.includes('-')) {
          // Only positions an id can stand for: anything larger is no event of ours, and could not be encoded back.
          const [tx, seq] = dialect === 'postgres' ? id.split('-') : ['0', id];
          if (BigInt(tx!) >= MAX_TX || BigInt(seq!) >= MAX_ID) throw badEventCursor(id);
          return id;
        }
        const block = /^[A-Za-z0-9_-]{22}$/.test(id) ? Buffer.from(id, 'base64url') : undefined;
        if (!block || block.length !== 16) throw badEventCursor(id);
        const plain = decipher.update(block);
        const tx = BigInt(plain.readUIntBE(0, 6));
        const seq = plain.readBigUInt64BE(6);
        // A block that is not one of ours (another tenant's, another deployment's) decrypts to noise, which fits
        // these bounds and the two zero bytes about once in 10^8 tries.
        if (plain.readUInt16BE(14) !== 0 || seq >= MAX_ID || tx >= MAX_TX || (dialect === 'sqlite' && tx !== 0n)) throw badEventCursor(id);
        return dialect === 'postgres' ? `${tx}-${seq}` : String(seq);
      },
    };
  };

  return {
    async forTenant(tenant) {
      let codec = tenants.get(tenant);
      if (!codec) {
        const key = createHmac('sha256', await load()).update(`event-ids:${tenant}`).digest();
        if (tenants.size >= 10_000) tenants.clear();
        codec = codecOf(key);
        tenants.set(tenant, codec);
      }
      return codec;
    },
  };
}
