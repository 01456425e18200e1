import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { ColloquyError } from '../domain/errors.js';
import type { AdminRepository } from '../backends/backend.js';

/**
 * Sealing of write-only secrets (channel tokens, app secrets). With a key (COLLOQUY_SECRET_KEY), each value is
 * encrypted with AES-256-GCM under a key derived from it (scrypt, with a salt kept in the database), bound to
 * where it belongs (tenant, channel, name) so that a sealed value cannot be moved to another channel; a copy
 * of the database without the key reveals nothing. Without a key, values are stored as they are. The database
 * keeps a check value sealed with the key, so that a wrong key is refused at start instead of yielding garbage.
 */
export interface SecretBox {
  /** Whether new values are encrypted (a key was given). */
  readonly encrypting: boolean;
  /**
   * Call before sealing: with a key, writes the database's salt and check value on the key's first use; without
   * one, learns whether another instance has set a key up since (then nothing may be written in the clear).
   */
  ready(): Promise<void>;
  seal(value: string, context: string): string;
  /** The value of a sealed secret; `unavailable` when it was encrypted and this box has no (or another) key. */
  open(sealed: string, context: string): string;
}

const PLAIN = 'plain:';
const SEALED = 'v1:';
const CHECK = 'colloquy secret key check';
export const MIN_SECRET_KEY_LENGTH = 32;

function seal(key: Buffer, value: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return `${SEALED}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
}

function unseal(key: Buffer, sealed: string, context: string): string | undefined {
  const [iv, tag, body] = sealed.slice(SEALED.length).split('.');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body!, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

const mismatch = () => new ColloquyError('invalid_argument',
  "COLLOQUY_SECRET_KEY is not the key this database's secrets were sealed with: start with that key (secrets cannot be read without it).",
  { reason: 'secret_key_mismatch' });
const missing = () => new ColloquyError('unavailable',
  'This secret is encrypted: start Colloquy with the COLLOQUY_SECRET_KEY it was sealed with.', { reason: 'secret_key_missing' });

/**
 * The box for a database. A key is checked against the database's check value at once (a wrong one is refused);
 * a database that has none gets it now when `setUp`, else at the first secret sealed (read-only tools such as
 * `colloquy doctor` and `export` write nothing on open).
 */
export async function openSecretBox(
  secretKey: string | undefined, admin: AdminRepository, options: { setUp: boolean; log: (message: string) => void },
): Promise<SecretBox> {
  if (secretKey === undefined) {
    let encrypted = (await admin.setting('secret_key_check')) !== undefined;
    if (encrypted) options.log("this database's channel secrets are encrypted and no COLLOQUY_SECRET_KEY was given: channels cannot use them, and none can be set");
    return {
      encrypting: false,
      async ready() {
        encrypted ||= (await admin.setting('secret_key_check')) !== undefined;
      },
      seal(value) {
        if (encrypted) {
          throw new ColloquyError('invalid_argument', "This database's secrets are encrypted: start Colloquy with its COLLOQUY_SECRET_KEY to set secrets.", { reason: 'secret_key_missing' });
        }
        return PLAIN + value;
      },
      open(sealed) {
        if (sealed.startsWith(PLAIN)) return sealed.slice(PLAIN.length);
        throw missing();
      },
    };
  }
  if (secretKey.length < MIN_SECRET_KEY_LENGTH) {
    throw new ColloquyError('invalid_argument',
      `COLLOQUY_SECRET_KEY must be at least ${MIN_SECRET_KEY_LENGTH} characters; make one with \`openssl rand -base64 32\` and keep it safe.`,
      { reason: 'secret_key_too_short' });
  }
  let key: Buffer | undefined;
  const verified = (salt: string, check: string): Buffer => {
    const derived = scryptSync(secretKey, salt, 32);
    if (unseal(derived, check, 'check') !== CHECK) throw mismatch();
    return derived;
  };
  const setUp = async () => {
    const salt = await admin.initSetting('secret_key_salt', randomBytes(16).toString('base64url'));
    const derived = scryptSync(secretKey, salt, 32);
    key = verified(salt, await admin.initSetting('secret_key_check', seal(derived, CHECK, 'check')));
  };
  const check = await admin.setting('secret_key_check');
  if (check !== undefined) key = verified((await admin.setting('secret_key_salt'))!, check);
  else if (options.setUp) await setUp();
  return {
    encrypting: true,
    async ready() {
      if (!key) await setUp();
    },
    seal(value, context) {
      if (!key) throw new Error('SecretBox.seal before ready()');
      return seal(key, value, context);
    },
    open(sealed, context) {
      if (sealed.startsWith(PLAIN)) return sealed.slice(PLAIN.length);
      if (!key) throw missing();
      const value = unseal(key, sealed, context);
      if (value === undefined) throw new ColloquyError('unavailable', 'A secret could not be decrypted with this key: it was sealed for another channel or with another key.', { reason: 'secret_unreadable' });
      return value;
    },
  };
}

/** Whether `secretKey` is the key of a sealing setup (its salt and check value, as a backup carries them). */
export function keyFits(secretKey: string, salt: string, check: string): boolean {
  return unseal(scryptSync(secretKey, salt, 32), check, 'check') === CHECK;
}

/** Whether a stored value is still in the clear (sealed before a key was set). */
export const isPlain = (sealed: string): boolean => sealed.startsWith(PLAIN);

/** Where a channel secret belongs: what its encryption is bound to. */
export const secretContext = (tenant: string, channelId: string, name: string): string => `${tenant}/${channelId}/${name}`;
